"""`GET runs`: one page of the runs list, newest first, with the total.

The page and the total are read from the store's runs list (`list_runs` and `count_runs` of the
store's index, SQLite or PostgreSQL: one summary row per run, so a page is a LIMIT/OFFSET read of
a few rows whatever the number of runs). A sidebar asks every second or two, so pages are kept
until the store changes (the index's `change_marker`: SQLite's `data_version` and
`total_changes()`, PostgreSQL's WAL position). Per page, only what the index does not hold is
read: pending gates (one query), live leases, and whether an unfinished run nobody executes is
interrupted (only those runs are folded).
"""

from __future__ import annotations

import threading
from typing import Any

from ..runtime.interruption import FINAL, is_interrupted
from ..store import RunStore
from ..store.run_index import RunRow
from . import records

_KEPT = 64  # pages kept per store version (filters x offsets a few sidebars ask for)


class RunsPages:
    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._version: tuple | None = None
        self._pages: dict[tuple, tuple[list[RunRow], int]] = {}  # while the store is unchanged
        self._pending: dict[str, int] = {}  # per run, likewise
        self._interrupted: dict[str, bool] = {}  # per run nobody executes, likewise

    def rows(
        self, pipelines: list[str] | None, statuses: list[str] | None, limit: int, offset: int
    ) -> tuple[list[RunRow], int]:
        """A page of the runs of these pipelines and statuses (all when None), newest first, and
        how many there are in all; re-read only when the store changed."""
        index, log = self.store.index, self.store.log
        version = index.change_marker(log)
        key = (
            tuple(pipelines) if pipelines is not None else None,
            tuple(statuses) if statuses is not None else None,
            limit,
            offset,
        )
        with self._lock:
            if version != self._version:
                self._version = version
                self._pages, self._pending, self._interrupted = {}, {}, {}
            if key in self._pages:
                return self._pages[key]
        rows = index.list_runs(
            log, pipelines=pipelines, statuses=statuses, limit=limit, offset=offset
        )
        total = index.count_runs(log, pipelines=pipelines, statuses=statuses)
        with self._lock:
            if version == self._version and len(self._pages) < _KEPT:
                self._pages[key] = (rows, total)
        return rows, total

    def page(
        self, pipelines: list[str] | None, statuses: list[str] | None, limit: int, offset: int
    ) -> dict[str, Any]:
        page, total = self.rows(pipelines, statuses, limit, offset)
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
            "total": total,
            "limit": limit,
            "offset": offset,
        }
