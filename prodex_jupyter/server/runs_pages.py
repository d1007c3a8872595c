"""`GET runs`: one page of the runs list, newest first, with the total.

The list comes from the store's runs index (`list_runs` of the store's index, SQLite or
PostgreSQL: one aggregate over all runs, 150-300 ms for 10,000 runs on the 2-core machine). A
sidebar asks for it every second or two, so the rows are kept until the store changes (the
index's `change_marker`: SQLite's `data_version` and `total_changes()`, PostgreSQL's WAL
position). Per page, only what the index does not hold is read: pending gates (one query), live
leases, and whether an unfinished run nobody executes is interrupted (only those runs are folded).
"""

from __future__ import annotations

import threading
from typing import Any

from ..runtime.interruption import FINAL, is_interrupted
from ..store import RunStore
from ..store.run_index import RunRow
from . import records


class RunsPages:
    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._rows: list[RunRow] = []
        self._version: tuple | None = None
        self._pending: dict[str, int] = {}  # per run, while the store is unchanged
        self._interrupted: dict[str, bool] = {}  # per run nobody executes, likewise

    def rows(self, pipelines: list[str] | None) -> list[RunRow]:
        """Every run of these pipelines (all when None), newest first; re-read only on change."""
        marker = self.store.index.change_marker(self.store.log)
        key = (marker, tuple(pipelines) if pipelines is not None else None)
        with self._lock:
            if key[:1] != self._version:
                self._version = key[:1]
                self._pending, self._interrupted = {}, {}
            if key == self._key:
                return self._rows
        rows = self.store.index.list_runs(self.store.log, pipelines=pipelines)
        with self._lock:
            self._key, self._rows = key, rows
        return rows

    def page(
        self, pipelines: list[str] | None, statuses: list[str] | None, limit: int, offset: int
    ) -> dict[str, Any]:
        rows = self.rows(pipelines)
        if statuses is not None:
            rows = [r for r in rows if r.status in statuses]
        page = rows[offset : offset + limit]
        live = self.store.leases.live()
        with self._lock:
            pending, known = dict(self._pending), dict(self._interrupted)
        missing = [r.run_id for r in page if r.run_id not in pending]
        if missing:
            counts = self.store.index.pending_gate_counts(self.store.log, missing)
            pending.update({run_id: counts.get(run_id, 0) for run_id in missing})
        for r in page:
            if r.status not in FINAL and r.run_id not in live and r.run_id not in known:
                known[r.run_id] = is_interrupted(self.store.state(r.run_id), None)
        interrupted = {r.run_id for r in page if r.run_id not in live and known.get(r.run_id)}
        with self._lock:
            self._pending.update(pending)
            self._interrupted.update(known)
        return {
            "runs": [
                records.run_summary(
                    r, pending.get(r.run_id, 0), r.run_id in live, r.run_id in interrupted
                )
                for r in page
            ],
            "total": len(rows),
            "limit": limit,
            "offset": offset,
        }
