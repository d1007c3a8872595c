"""Run records as the server serves them, computed once per state of the run.

A panel polls its run (every second or two): refolding a 500-node run and recomputing its view
on each poll would cost the server a CPU-second each time. Here each run is a `Run` that folds
only the events written since the last request (`Run.refresh`), and the encoded answer is kept
until the run changes: a new event (its last sequence number) or another executor. The same key
is the answer's ETag, so a poll of an unchanged run gets a 304 without a body.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

from ..runtime import Run, load_run
from ..store import Lease, RunNotFound, RunStore
from . import records

KEEP_RUNS = 32  # runs whose fold is kept
KEEP_ANSWERS = 8  # encoded answers kept (a 500-node record with every drawer is ~8 MB)


GZIP_ABOVE = 16_384  # bytes: a large run's record (HTML drawers) shrinks about tenfold


@dataclass(frozen=True)
class Answer:
    etag: str
    body: bytes
    gzipped: bytes | None  # the body gzip-encoded, for clients that accept it (large ones only)


class UnknownNodes(ValueError):
    """`?drawer=` names nodes the run does not have."""


class RecordCache:
    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._runs: OrderedDict[str, Run] = OrderedDict()
        self._answers: OrderedDict[tuple, Answer] = OrderedDict()
        self._lock = threading.Lock()

    def etag(self, run_id: str, drawer: str) -> tuple[str, Run, Lease | None]:
        """The current tag of the run's answer (RunNotFound for an unknown run, or one deleted
        since, by this server or any other process)."""
        if not self.store.log.has_run(run_id):
            self.forget(run_id)
            raise RunNotFound(f"no run {run_id!r} in the store at {self.store.root}")
        with self._lock:
            run = self._runs.pop(run_id, None)
            if run is None:
                run = load_run(run_id, self.store)
            self._runs[run_id] = run
            while len(self._runs) > KEEP_RUNS:
                self._runs.popitem(last=False)
        run.refresh()
        holder = self.store.leases.holder(run_id)
        state = run.state
        which = hashlib.sha256(drawer.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        return f'"{state.last_seq}-{holder.token if holder else "none"}-{which}"', run, holder

    def answer(self, run_id: str, drawer: str) -> Answer:
        """The encoded record, from the cache when the run has not changed since."""
        tag, run, holder = self.etag(run_id, drawer)
        key = (run_id, tag)
        with self._lock:
            cached = self._answers.get(key)
            if cached is not None:
                self._answers.move_to_end(key)
                return cached
        state = run.state
        nodes = drawer_nodes(drawer)
        unknown = sorted(nodes - set(state.nodes)) if nodes else []
        if unknown:
            raise UnknownNodes(
                f"field 'drawer': run {run_id} has no node {', '.join(map(repr, unknown[:5]))}"
            )
        record = records.run_record(state, holder, self.store.load_table, nodes)
        body = json.dumps(record, ensure_ascii=False).encode()
        answer = Answer(tag, body, gzip.compress(body, 1) if len(body) > GZIP_ABOVE else None)
        current = tag.rsplit("-", 1)[0]  # the run's state, whatever drawer was asked for
        with self._lock:
            self._answers[key] = answer
            for old in [k for k in self._answers if k[0] == run_id]:
                if old[1].rsplit("-", 1)[0] != current:
                    del self._answers[old]  # an older state of the same run
            while len(self._answers) > KEEP_ANSWERS:
                self._answers.popitem(last=False)
        return answer

    def forget(self, run_id: str) -> None:
        with self._lock:
            self._runs.pop(run_id, None)
            for key in [k for k in self._answers if k[0] == run_id]:
                del self._answers[key]


def drawer_nodes(drawer: str) -> set[str] | None:
    """`?drawer=` as the node ids whose drawer to include: None for all, an empty set for none."""
    if drawer == "all":
        return None
    if drawer == "none":
        return set()
    return {n for n in drawer.split(",") if n}
