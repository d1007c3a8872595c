"""Planning the resume of a run that no process executes (the kernel restarted, the command line
exited, the process was killed): what it needs, rebuilt from its own record. The executor
(runtime/executor.py) then executes it.

- the template from the run's `run_created` event (`Template.from_dict(..., base_dir=...)`), its
  python nodes' functions imported or loaded from their captures (runtime/functions.py); if it
  no longer rebuilds to the recorded fingerprint (a `module:function` node whose code changed
  since), resuming is refused, naming the nodes;
- values of produced nodes are never recomputed: they load lazily from their stored artifacts
  (a missing artifact refuses the resume, naming node and artifact);
- nodes left `running` by a dead process run again; failed nodes stay failed, unless
  `retry_failed`: then each gets a new attempt (a `node_retried` event);
- sources not read yet are read from the files the run was started with. A source already read
  is never read again: its stored table is used, even if its file has changed since (the change
  is reported in `ResumePlan.notes`). A source whose recorded content hash no longer matches its
  file and that would have to be read again is refused, naming node and file.

Exactly one process executes a run: resuming takes the run's lease, and is refused (LeaseHeld)
while another live process holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..store import NodeRetried, RunState
from ..store.artifacts import file_sha256
from ..template import SourceNode, Template
from .compute import SourceInput
from .functions import FunctionRestoreError, restore_functions
from .run import Run


class ResumeError(RuntimeError):
    """A stored run cannot be continued as recorded; says which node, file or artifact."""


@dataclass
class ResumePlan:
    template: Template
    sources: dict[str, SourceInput]
    rerun: list[str]  # nodes a dead process left running
    notes: list[str] = field(default_factory=list)
    retries: list[NodeRetried] = field(default_factory=list)  # to append before executing


def plan_resume(run: Run, *, retry_failed: bool = False) -> ResumePlan:
    """Everything needed to continue `run` here, or a ResumeError saying what is missing."""
    store = run.store
    created = run.fold.created
    state = run.state
    if created is None:
        raise ResumeError(f"run {run.id} has no run_created event: nothing to resume")
    base_dir = state.base_dir or None
    try:
        functions = restore_functions(created.functions, store)
    except FunctionRestoreError as exc:
        raise ResumeError(f"run {run.id}: {exc}") from None
    try:
        template = Template.from_dict(
            dict(created.template), base_dir=base_dir, functions=functions
        )
    except Exception as exc:
        raise ResumeError(
            f"run {run.id}: its template '{state.template_id}' cannot be rebuilt from the "
            f"record: {exc}"
        ) from exc
    if template.fingerprint != state.fingerprint:
        now = template.node_digests()
        changed = sorted(
            node_id
            for node_id, digests in state.node_digests.items()
            if now.get(node_id) != digests
        )
        raise ResumeError(
            f"run {run.id}: template '{state.template_id}' no longer rebuilds as recorded "
            f"(fingerprint {state.fingerprint[:12]} is now {template.fingerprint[:12]}; nodes "
            f"changed: {', '.join(changed) or '?'}); start a new run of the edited template"
        )
    notes: list[str] = []
    retried = (
        sorted(n for n, rec in state.nodes.items() if rec.state == "failed") if retry_failed else []
    )
    needed = _needed_values(state, retried)
    for node_id in sorted(needed):
        result = state.results[node_id]
        if result.artifact and not store.artifacts.exists(result.artifact):
            raise ResumeError(
                f"run {run.id}: the stored value of node '{node_id}' (artifact "
                f"{result.artifact[:12]}) is missing from {store.artifacts.where}; downstream "
                "nodes need it and it is never recomputed on resume. Start a new run."
            )
    sources: dict[str, SourceInput] = {}
    for node_id, node in template.nodes.items():
        if not isinstance(node, SourceNode):
            continue
        consumed = state.inputs.get(node_id)
        if state.nodes[node_id].state == "produced":
            if consumed is not None and not consumed.snapshot and node_id in needed:
                now_sha = _sha_or_none(Path(consumed.path))
                if now_sha != consumed.sha256:
                    what = "is gone" if now_sha is None else f"now has sha256 {now_sha[:12]}"
                    notes.append(
                        f"source '{node_id}': {consumed.path} changed since the run read it "
                        f"(sha256 {consumed.sha256[:12]}, {what}); the run goes on with the "
                        "table it read then (stored artifact), not the file as it is now"
                    )
            continue
        if state.nodes[node_id].state == "failed" and node_id not in retried:
            continue
        given = created.inputs.get(node_id, "")
        if consumed is not None:  # read before but not produced: only re-read identical bytes
            if consumed.snapshot:
                raise ResumeError(
                    f"run {run.id}: source '{node_id}' was a DataFrame; its snapshot "
                    f"{consumed.sha256[:12]} was stored but the node never landed"
                )
            now_sha = _sha_or_none(Path(consumed.path))
            if now_sha != consumed.sha256:
                raise ResumeError(
                    f"run {run.id}: source '{node_id}' must be read again, but its file "
                    f"{consumed.path} changed since the run read it (sha256 "
                    f"{consumed.sha256[:12]}, now {(now_sha or 'missing')[:12]}); "
                    "refusing to mix inputs. Start a new run."
                )
        if not given or given.startswith("<DataFrame"):
            raise ResumeError(
                f"run {run.id}: source '{node_id}' was handed a DataFrame that was never read "
                "(it is not in the store), so the run cannot be resumed. Start a new run."
            )
        path = Path(given)
        if not path.is_file():
            raise ResumeError(
                f"run {run.id}: source '{node_id}' has not been read yet and its file "
                f"{path} is missing"
            )
        fmt = node.format or _suffix(path)
        sources[node_id] = SourceInput(node_id, path=path, format=fmt, encoding=node.encoding)
    rerun = [n for n, rec in state.nodes.items() if rec.state == "running"]
    retries = []
    if retried:
        failures = "; ".join(f"{n}: {state.nodes[n].error.splitlines()[0]}" for n in retried)
        retries.append(NodeRetried(retried, reason=f"retry after failure ({failures})"))
    return ResumePlan(template, sources, rerun, notes, retries)


def _needed_values(state: RunState, retried: list[str]) -> set[str]:
    """Produced nodes whose values a node still to run reads."""
    needed = set()
    for node in state.nodes.values():
        if node.state == "produced" or (node.state == "failed" and node.node_id not in retried):
            continue
        needed.update(up for up in node.upstream if state.nodes[up].state == "produced")
    return needed


def _sha_or_none(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    return {"jsonl": "ndjson", "pq": "parquet", "tsv": "csv"}.get(suffix, suffix or "csv")
