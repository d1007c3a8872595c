"""The REST handlers: thin, authenticated and authorized by jupyter_server, JSON in and out.

Each handler checks its input (400 naming the field), asks the runtime (in a thread, off the
server's event loop: folds and view computations of large runs take tens of milliseconds), and
answers with the shapes of `records.py`. Runs execute in worker processes (`workers.py`).
Nothing is written when a request is refused.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import tornado
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado.web import HTTPError

from ..runtime import DecisionRefused, GateStateError, InputError, compare, load_run
from ..runtime.compute import resolve_inputs
from ..runtime.interruption import FINAL, is_interrupted
from ..runtime.run import note_required
from ..store import RUN_STATUSES, LeaseHeld, RunNotFound, RunStore
from ..store.actor import current_actor
from ..template import TemplateError, load_template
from . import records
from .record_cache import RecordCache, UnknownNodes
from .runs_pages import RunsPages
from .templates import TEMPLATE_SUFFIX, list_templates
from .workers import WorkerError, Workers, wants_a_worker

T = TypeVar("T")
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
DECISIONS = {"confirm": "confirmed", "reject": "rejected", "reopen": "reopened"}


class ApiError(HTTPError):
    """An answer other than 2xx, with a message naming what is wrong (sent as JSON)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status)  # no log_message: a '%' in the message must not be formatted
        self.message = message


class ProdexHandler(ExtensionHandlerMixin, APIHandler):
    auth_resource = "prodex"

    @property
    def store(self) -> RunStore:
        return self.settings["prodex_store"]

    @property
    def root(self) -> Path:
        return self.settings["prodex_root"]

    @property
    def workers(self) -> Workers:
        return self.settings["prodex_workers"]

    @property
    def author(self) -> str:
        """Who acts: the user jupyter_server authenticated (the hub's user name behind
        JupyterHub), never a name the client sends. jupyter_server's own token or password login
        knows no names (it makes up an "Anonymous ..." user per browser); whoever holds that
        token is the person who started the server, so its OS user is named (store/actor.py)."""
        if type(self.identity_provider).__module__ == "jupyter_server.auth.identity":
            return current_actor()
        return self.current_user.username

    def reply(self, body: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(body, ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        if isinstance(exc, ApiError):
            self.set_header("Content-Type", "application/json; charset=UTF-8")
            self.finish(json.dumps({"message": exc.message, "reason": self._reason}))
            return
        super().write_error(status_code, **kwargs)

    async def off_loop(self, work: Callable[..., T], *args: Any) -> T:
        """Store reads and writes in a thread: the server's loop keeps serving meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(work, *args))

    def json_body(self) -> dict[str, Any]:
        raw = self.request.body.strip()
        if not raw:
            raise ApiError(400, "the request body must be a JSON object; it is empty")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, f"the request body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ApiError(400, f"the request body must be a JSON object, not {_type(body)}")
        return body

    def under_root(self, value: Any, field: str) -> Path:
        """A path the client names, resolved inside the server's root directory (or refused)."""
        if not isinstance(value, str) or not value.strip():
            raise ApiError(400, f"field '{field}' must be a non-empty path string")
        if "\x00" in value:
            raise ApiError(400, f"field '{field}': a path cannot contain a NUL character")
        path = (self.root / value).resolve()
        if not path.is_relative_to(self.root):
            raise ApiError(400, f"field '{field}': {value!r} is outside the server's root")
        return path


class TemplatesHandler(ProdexHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        templates = await self.off_loop(list_templates, self.root, self.store)
        self.reply({"templates": templates})


class RunsHandler(ProdexHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        pipelines = self._names("pipeline")
        statuses = self._names("status")
        if statuses is not None:
            unknown = sorted(set(statuses) - set(RUN_STATUSES))
            if unknown:
                raise ApiError(
                    400,
                    f"field 'status': unknown run status {', '.join(map(repr, unknown))}; "
                    f"statuses are {', '.join(RUN_STATUSES)}",
                )
        limit = self._int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = self._int("offset", 0, 0, None)
        pages: RunsPages = self.settings["prodex_pages"]
        body = await self.off_loop(pages.page, pipelines, statuses, limit, offset)
        self.reply(body)

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.json_body()
        template_path = self.under_root(body.get("template"), "template")
        if not template_path.name.endswith(TEMPLATE_SUFFIX):
            name = body["template"]
            raise ApiError(400, f"field 'template': {name!r} is not a *{TEMPLATE_SUFFIX} file")
        if not template_path.is_file():
            raise ApiError(400, f"field 'template': no file {body['template']!r} under the root")
        given = body.get("inputs", {})
        if given is None:
            given = {}
        if not isinstance(given, dict):
            kind = _type(given)
            raise ApiError(400, f"field 'inputs' must be an object (source -> path), not {kind}")
        inputs = {
            str(node): self.under_root(path, f"inputs.{node}") for node, path in given.items()
        }
        try:  # the worker would refuse the same, but only after a process start: say it now
            template = await self.off_loop(load_template, template_path)
            await self.off_loop(resolve_inputs, template, dict(inputs))
        except TemplateError as exc:
            raise ApiError(400, f"field 'template': {exc}") from None
        except InputError as exc:
            raise ApiError(400, f"field 'inputs': {exc}") from None
        try:
            run_id = await self.workers.start(template_path, inputs, self.author)
        except WorkerError as exc:
            raise ApiError(400, f"the run could not start: {exc}") from None
        self.set_header("Location", self.request.path.rstrip("/") + "/" + run_id)
        self.reply({"run_id": run_id}, status=201)

    def _names(self, name: str) -> list[str] | None:
        values = [v for raw in self.get_query_arguments(name) for v in raw.split(",") if v]
        return values or None

    def _int(self, name: str, default: int, low: int, high: int | None) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"field '{name}' must be an integer, not {raw!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            raise ApiError(400, f"field '{name}' must be {bounds}, not {value}")
        return value


class RunHandler(ProdexHandler):
    @property
    def records(self) -> RecordCache:
        return self.settings["prodex_records"]

    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        drawer = self.get_query_argument("drawer", "all") or "all"
        try:
            if self.request.headers.get("If-None-Match"):
                tag, _, _ = await self.off_loop(self.records.etag, run_id, drawer)
                if tag == self.request.headers["If-None-Match"]:
                    self.set_header("ETag", tag)
                    self.set_status(304)
                    self.finish()
                    return
            answer = await self.off_loop(self.records.answer, run_id, drawer)
        except RunNotFound as exc:
            raise ApiError(404, str(exc)) from None
        except UnknownNodes as exc:
            raise ApiError(400, str(exc)) from None
        self.set_header("ETag", answer.etag)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        body = answer.body
        if answer.gzipped and "gzip" in self.request.headers.get("Accept-Encoding", ""):
            body = answer.gzipped
            self.set_header("Content-Encoding", "gzip")
        self.add_header("Vary", "Accept-Encoding")
        self.finish(body)

    def compute_etag(self) -> None:
        return None  # the run's own tag (set above), not a hash of the body

    @tornado.web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        try:
            await self.off_loop(functools.partial(self.store.delete_run, run_id, by=self.author))
        except RunNotFound as exc:
            raise ApiError(404, str(exc)) from None
        except LeaseHeld as exc:
            raise ApiError(409, str(exc)) from None
        self.records.forget(run_id)
        self.set_status(204)
        self.finish()


class ResumeHandler(ProdexHandler):
    """Resume an interrupted run (the process that executed it died) in a new worker: what the
    Pipelines workspace's Resume button asks for. Refused (409) while a process executes the run
    or when it is not interrupted (finished, or waiting for a decision)."""

    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str) -> None:
        await self.off_loop(self._check, run_id)
        if self.workers.busy(run_id):
            raise ApiError(409, f"run {run_id} is being executed by this server's worker")
        try:
            await self.workers.resume(run_id)
        except WorkerError as exc:
            raise ApiError(409, str(exc)) from None
        self.reply({"run_id": run_id}, status=202)

    def _check(self, run_id: str) -> None:
        try:
            state = self.store.state(run_id)
        except RunNotFound as exc:
            raise ApiError(404, str(exc)) from None
        holder = self.store.leases.holder(run_id)
        if not is_interrupted(state, holder):
            if holder is not None:
                why = "a process executes it"
            elif state.status in FINAL:
                why = f"it is {state.status}"
            else:
                why = "it waits for a decision"
            raise ApiError(409, f"run {run_id} is not interrupted: {why}")


class GateHandler(ProdexHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self, run_id: str, gate_id: str) -> None:
        body = self.json_body()
        decision = body.get("decision")
        if not isinstance(decision, str) or decision not in DECISIONS:
            raise ApiError(
                400, f"field 'decision' must be one of confirm, reject, reopen; not {decision!r}"
            )
        note = body.get("note")
        if note is not None and not isinstance(note, str):
            raise ApiError(400, f"field 'note' must be a string, not {_type(note)}")
        gate, resume = await self.off_loop(
            self._decide, run_id, gate_id, decision, note, self.author
        )
        self.reply(gate)
        if resume:
            self.workers.resume_soon(run_id)

    def _decide(
        self, run_id: str, gate_id: str, decision: str, note: str | None, author: str
    ) -> tuple[records.GateJSON, bool]:
        try:
            run = load_run(run_id, self.store)
        except RunNotFound as exc:
            raise ApiError(404, str(exc)) from None
        if gate_id not in run.gates:
            raise ApiError(
                404, f"run {run_id} has no gate {gate_id!r} (gates: {', '.join(run.gates)})"
            )
        gate = run.gates[gate_id]
        try:
            getattr(run, decision)(gate_id, note=note, by=author)
        except GateStateError as exc:
            # a missing note is bad input (400); a decision the gate's state refuses is 409
            missing = not (note or "").strip() and str(exc) == note_required(
                gate, DECISIONS[decision]
            )
            raise ApiError(
                400 if missing else 409, f"field 'note': {exc}" if missing else str(exc)
            ) from None
        except DecisionRefused as exc:  # the gate's deciders or four-eyes rule
            raise ApiError(409, str(exc)) from None
        state = run.state
        return records.gate_json(state.gates[gate_id]), run.executor is None and wants_a_worker(
            state
        )


class CompareHandler(ProdexHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        ids = [v.strip() for raw in self.get_query_arguments("runs") for v in raw.split(",")]
        ids = [v for v in ids if v]
        if len(ids) < 2:
            raise ApiError(400, "field 'runs': name at least two run ids, comma-separated")
        self.reply(await self.off_loop(self._compare, ids))

    def _compare(self, ids: list[str]) -> dict[str, Any]:
        for run_id in ids:
            if not self.store.log.has_run(run_id):
                raise ApiError(404, f"field 'runs': no run {run_id!r} in the store")
        try:
            return records.comparison_json(compare(*ids, store=self.store))
        except ValueError as exc:  # same run twice, runs of different pipelines
            raise ApiError(400, f"field 'runs': {exc}") from None


def _type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )
