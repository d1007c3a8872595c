"""The runs list: `px.runs()` as a pandas DataFrame, read in a few SQL queries however many runs.

Columns: run_id, pipeline, fingerprint (the template's), status, gates_resolved ("k / n"),
started (UTC), duration (first to last event), inputs (per source: file and content hash),
executing (True while a live process executes the run: it holds the run's lease), interrupted
(True when no process executes it and it could go on: runtime/interruption.py; runs not final
and not executing are told from a few fields of their node and gate events, all in one query).
Newest run first. In a notebook the table displays as the runs-list widget (registered by the
widgets layer); everywhere else it is a plain DataFrame.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..store import RUN_STATUSES, RunStore, open_store
from ..store.deletion import Deletion
from .interruption import FINAL, is_interrupted, progress_of

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
    columns = the_store.index.list_columns(the_store.log, pipelines=pipelines, statuses=statuses)
    table = RunsTable(_frame(the_store, columns))
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


def _names(value: str | Iterable[str] | None) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _frame(store: RunStore, columns: pa.Table) -> dict[str, Any]:
    """The DataFrame's columns from the index's Arrow columns, without a Python object per run
    (but for the runs that may be interrupted: a few fields of their node and gate events)."""
    live = store.leases.live()
    executing = pc.is_in(columns["run_id"], value_set=pa.array(list(live), pa.string()))
    unfinished = pc.invert(pc.or_(pc.is_in(columns["status"], pa.array(FINAL)), executing))
    interrupted = np.zeros(len(columns), dtype=bool)
    candidates = np.flatnonzero(unfinished.to_numpy(zero_copy_only=False))
    if len(candidates):
        run_ids = columns["run_id"].take(candidates).to_pylist()
        statuses = dict(zip(run_ids, columns["status"].take(candidates).to_pylist(), strict=True))
        progress = progress_of(statuses, store.index.progress_rows(store.log, run_ids))
        interrupted[candidates] = [is_interrupted(progress[r], None) for r in run_ids]
    started = columns["created_at"]
    return {
        "run_id": _strings(columns["run_id"]),
        "pipeline": _strings(columns["template_id"]),
        "fingerprint": _strings(columns["fingerprint"]),
        "status": _strings(columns["status"]),
        "gates_resolved": _strings(columns["gates"]),
        "started": started.to_pandas(),
        "duration": pc.subtract(columns["last_at"], started).to_pandas(),
        "inputs": _strings(columns["inputs"]),
        "executing": executing.to_numpy(zero_copy_only=False),
        "interrupted": interrupted,
    }


def _strings(column: pa.ChunkedArray) -> pd.Series:
    """A string column as pandas' own string type, sharing Arrow's buffers."""
    return column.to_pandas()
