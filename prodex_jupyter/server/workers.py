"""The server's worker processes: one per run being executed, started and watched off the loop.

A worker (`server/worker.py`) is a separate Python process in its own session: a node that
crashes or hangs it, or a kill, takes only the worker down; the server keeps serving and the run
shows `interrupted`. The server never executes a run on its own event loop.

When a worker exits cleanly (it idled at a gate, or the run ended) while a decision landed as it
was leaving, the server resumes the run in a new worker, so no decision is left waiting for an
executor that has just gone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ..runtime.interruption import FINAL, runnable_nodes
from ..store import RunNotFound, RunState, RunStore

START_TIMEOUT_S = 120.0


def wants_a_worker(state: RunState) -> bool:
    """Should a process execute this run (nobody does)? When work can go on, or when no gate
    waits any more: then only the executor can close the run (`completed_partial` after a
    rejection). A run whose remaining work all waits on pending gates needs a person first."""
    return state.status not in FINAL and (bool(runnable_nodes(state)) or not state.pending_gates)


class WorkerError(RuntimeError):
    """The worker could not start the run; the message is the worker's own."""


class Workers:
    """Starts workers for runs and keeps track of them until they exit."""

    def __init__(self, store: RunStore, cwd: Path, log: logging.Logger | None = None) -> None:
        self.store = store
        self.cwd = cwd
        self.log = log or logging.getLogger(__name__)
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self._watchers: set[asyncio.Task] = set()
        self._starting: set[str] = set()  # runs whose resuming worker is being started

    async def start(self, template: Path, inputs: dict[str, Path], started_by: str) -> str:
        """A new run of `template` executing in a new worker; returns its run id once recorded."""
        args = ["run", str(template), "--by", started_by]
        for node_id, path in inputs.items():
            args += ["--input", f"{node_id}={path}"]
        return await self._spawn(args)

    async def resume(self, run_id: str) -> str:
        """Continue a run nobody executes, in a new worker: one at a time per run (`busy`)."""
        if self.busy(run_id):
            raise WorkerError(f"a worker of this server executes run {run_id} or is starting")
        self._starting.add(run_id)
        return await self._resume(run_id)

    async def _resume(self, run_id: str) -> str:
        """Start the resuming worker of a run marked as starting; the mark goes once the worker
        is in `processes` (or failed), so the run is never seen without either."""
        try:
            return await self._spawn(["resume", run_id])
        finally:
            self._starting.discard(run_id)

    def resume_soon(self, run_id: str) -> None:
        """Resume the run in a new worker without waiting for it to start: a decision is answered
        as soon as it is recorded, not after a Python process has started and imported (about
        0.6 s; bench/lab_panel.py measures decision -> checkmark)."""
        if self.busy(run_id):
            self.log.debug("prodex: run %s: a worker executes it or is starting", run_id)
            return
        self._starting.add(run_id)

        async def resume() -> None:
            try:
                await self._resume(run_id)
            except WorkerError as exc:
                self.log.warning("prodex: run %s not resumed after a decision: %s", run_id, exc)

        task = asyncio.ensure_future(resume())
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)

    def live(self, run_id: str) -> bool:
        process = self.processes.get(run_id)
        return process is not None and process.returncode is None

    def busy(self, run_id: str) -> bool:
        """A worker of this server executes the run, or is being started for it. A decision
        that lands as the run's worker leaves is seen twice, by the decision's request and by
        the leaving worker's watcher: without this, each started a worker, and the second one
        took the run over from the first (as from a dead process) when that one was stopped."""
        return self.live(run_id) or run_id in self._starting

    async def _spawn(self, args: Sequence[str]) -> str:
        # The store goes in the worker's environment, whole: `store.root` hides a URL's password,
        # and a command line is visible to every user of the machine.
        env = {**os.environ, "PRODEX_STORE": self.store.location}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "prodex_jupyter.server.worker",
            *args,
            cwd=str(self.cwd),
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # a signal to the server's process group spares workers
        )
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT_S)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
            raise WorkerError(f"the worker did not start within {START_TIMEOUT_S:.0f} s") from None
        try:
            reply = json.loads(line) if line else {}
        except ValueError:
            reply = {}
        if "run_id" not in reply:
            _, err = await process.communicate()
            message = reply.get("error") or _last_lines(err) or "the worker exited"
            raise WorkerError(message)
        run_id = str(reply["run_id"])
        self.processes[run_id] = process
        self.log.info("prodex: run %s: %s in worker process %d", run_id, args[0], process.pid)
        task = asyncio.ensure_future(self._watch(run_id, process))
        self._watchers.add(task)
        task.add_done_callback(self._watchers.discard)
        return run_id

    async def _watch(self, run_id: str, process: asyncio.subprocess.Process) -> None:
        """Reap the worker (a zombie would look alive to the lease check), log how it ended,
        and resume the run if a decision landed as the worker was leaving."""
        _, err = await process.communicate()
        if self.processes.get(run_id) is process:
            del self.processes[run_id]
        code = process.returncode
        if code != 0:
            self.log.warning(
                "prodex: the worker of run %s ended with %s%s",
                run_id,
                f"signal {-code}" if code is not None and code < 0 else f"exit code {code}",
                f": {_last_lines(err)}" if err else "",
            )
            return
        try:
            state = self.store.state(run_id)
        except RunNotFound:
            return  # deleted meanwhile
        if (
            not self.busy(run_id)
            and self.store.leases.holder(run_id) is None
            and wants_a_worker(state)
        ):
            self.log.info("prodex: run %s can go on after its worker left: resuming it", run_id)
            try:
                await self.resume(run_id)
            except WorkerError as exc:
                self.log.warning("prodex: could not resume run %s: %s", run_id, exc)

    async def wait_all(self) -> None:
        """Until every worker started here has exited and been reaped."""
        if self._watchers:
            await asyncio.gather(*self._watchers, return_exceptions=True)

    def kill_all(self) -> None:
        """Stop every worker (tests, and a server that is told to stop its runs)."""
        for process in list(self.processes.values()):
            if process.returncode is None:
                process.kill()


def _last_lines(err: bytes | None, n: int = 5) -> str:
    text = (err or b"").decode("utf-8", "replace").strip().splitlines()
    return " | ".join(text[-n:])
