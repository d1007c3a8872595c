"""The runs list: `px.runs()` as a pandas DataFrame, read in a few SQL queries however many runs.

Columns: run_id, pipeline, fingerprint (the template's), status, gates_resolved ("k / n"),
started (UTC), duration (first to last event), inputs (per source: file and content hash),
executing (True while a live process executes the run: it holds the run's lease), interrupted
(True when no process executes it and it could go on: runtime/interruption.py; only runs not
final and not executing are folded to tell).
Newest run first. In a notebook the table displays as the runs-list widget (registered by the
widgets layer); everywhere else it is a plain DataFrame.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..store import RUN_STATUSES, RunNotFound, RunStore, open_store
from ..store.deletion import Deletion
from ..store.run_index import RunRow
from .interruption import FINAL, is_interrupted

COLUMNS = (
    "run_id",
    "pipeline",
    "fingerprint",
    "status",
    "gates_resolved",
    "started",
    "duration",
    "inputs",
    "executing",
    "interrupted",
)


class RunsTable(pd.DataFrame):
    """What `px.runs()` returns: a DataFrame that knows its store (in `attrs`).

    Frames derived from it (filters, sorts) are plain DataFrames, so only the list itself displays
    as the runs-list widget in a notebook.
    """

    @property
    def _constructor(self) -> type[pd.DataFrame]:
        return pd.DataFrame

    @property
    def store(self) -> RunStore:
        return open_store(self.attrs.get("store"))


def runs(
    pipeline: str | Iterable[str] | None = None,
    status: str | Iterable[str] | None = None,
    *,
    store: RunStore | str | None = None,
) -> RunsTable:
    """The runs in the store, newest first, optionally of some pipelines and in some statuses."""
    the_store = open_store(store)
    pipelines = _names(pipeline)
    statuses = _names(status)
    if statuses is not None:
        unknown = sorted(set(statuses) - set(RUN_STATUSES))
        if unknown:
            raise ValueError(
                f"unknown run status {', '.join(map(repr, unknown))}: "
                f"statuses are {', '.join(RUN_STATUSES)}"
            )
    rows = the_store.index.list_runs(the_store.log, pipelines=pipelines)
    if statuses is not None:
        rows = [r for r in rows if r.status in statuses]
    live = the_store.leases.live()
    interrupted = [
        r.status not in FINAL and r.run_id not in live and _interrupted(the_store, r.run_id)
        for r in rows
    ]
    table = RunsTable(_columns(rows, live, interrupted))
    table.attrs["store"] = the_store.location  # reopened by the runs list: a URL's password too
    table.attrs["pipeline"] = pipelines
    table.attrs["status"] = statuses
    return table


def delete_run(
    run: Any,
    *,
    store: RunStore | str | None = None,
    by: str | None = None,
    reason: str = "",
) -> Deletion:
    """Delete a whole run (its events, and the artifacts no other run uses); refused while a live
    process executes it. `run` is a run id or a Run. A tombstone stays on the store's run ledger:
    `by` (default $PRODEX_USER or the OS user, @host), when, `reason`, the run's last hash;
    `verify` checks it."""
    run_id = getattr(run, "id", run)
    the_store = getattr(run, "store", None) or open_store(store)
    return the_store.delete_run(str(run_id), by=by, reason=reason)


def _interrupted(store: RunStore, run_id: str) -> bool:
    try:
        return is_interrupted(store.state(run_id), None)
    except RunNotFound:  # deleted since the list was read
        return False


def _names(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _columns(rows: list[RunRow], live: dict[str, Any], interrupted: list[bool]) -> dict[str, Any]:
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(RunRow._fields)
    run_id, pipeline, fingerprint, created, status, last_at, resolved, total, inputs = columns
    started = pd.to_datetime(list(created), utc=True, format="ISO8601")
    last = pd.to_datetime(list(last_at), utc=True, format="ISO8601")
    return {
        "run_id": run_id,
        "pipeline": pipeline,
        "fingerprint": fingerprint,
        "status": status,
        "gates_resolved": [f"{k} / {n}" for k, n in zip(resolved, total, strict=True)],
        "started": started,
        "duration": last - started,
        "inputs": inputs,
        "executing": [r in live for r in run_id],
        "interrupted": interrupted,
    }
