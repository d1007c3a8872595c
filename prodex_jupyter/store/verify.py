"""Recompute a run's hash chain and its artifacts' hashes; name whatever was changed or removed."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .event_log import GENESIS, chain_hash
from .run_store import RunStore


@dataclass(frozen=True)
class Problem:
    run_id: str
    seq: int | None
    what: str

    def __str__(self) -> str:
        at = f"event {self.seq}" if self.seq is not None else "run"
        return f"{self.run_id} {at}: {self.what}"


def verify_run(store: RunStore, run_id: str) -> list[Problem]:
    """Every problem found in one run; an empty list means the record is intact."""
    problems: list[Problem] = []
    prev = GENESIS
    expected_seq = 0
    rows = list(store.log.raw_events(run_id))
    if not rows:
        return [Problem(run_id, None, "no events: the run is missing from the log")]
    for run, seq, at, kind, payload, prev_hash, digest in rows:
        if seq != expected_seq:
            problems.append(Problem(run_id, expected_seq, f"missing (next event found is {seq})"))
        if prev_hash != prev:
            problems.append(
                Problem(run_id, seq, "does not follow the event before it (chain broken)")
            )
        if chain_hash(prev_hash, run, seq, at, kind, payload) != digest:
            problems.append(Problem(run_id, seq, f"{kind} was changed after it was written"))
        for sha in _artifacts_in(payload):
            on_disk = store.artifacts.hash_of(sha)
            if on_disk is None:
                problems.append(Problem(run_id, seq, f"artifact {sha[:12]} was removed"))
            elif on_disk != sha:
                problems.append(Problem(run_id, seq, f"artifact {sha[:12]} was changed"))
        prev = digest
        expected_seq = seq + 1
    return problems


def verify_store(store: RunStore) -> list[Problem]:
    problems: list[Problem] = []
    for run_id in store.run_ids():
        problems.extend(verify_run(store, run_id))
    return problems


def _artifacts_in(payload: str) -> list[str]:
    data = json.loads(payload)
    found = []
    if data.get("artifact"):
        found.append(data["artifact"])
    if data.get("snapshot") and data.get("sha256"):
        found.append(data["sha256"])
    return found
