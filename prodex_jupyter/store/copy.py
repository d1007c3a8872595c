"""Copying a run history between stores (`prodex store copy SRC DST`): SQLite to PostgreSQL when
a team outgrows one folder, and back.

Every run of the source is verified first (its chain, head, ledger entry, artifacts); a source
with problems is refused before anything is written. Then, run by run, its artifacts are written
to the destination (content-addressed: a file already there is not written again), and its
events, verbatim (same times, payloads and hashes, so the chains are the same chains), with its
entry, head and creation on the destination's run ledger, in one transaction per run; each
copied run is then verified in the destination. Then the deleted runs: each tombstone of the
source's run ledger (who deleted the run, when, why, its last event and hash) is entered on the
destination's ledger as it was written, after the run's creation, so `prodex verify` there
accounts for the same history; a run copied before its deletion in the source is deleted in the
destination too. A copy interrupted half way is re-run: runs and tombstones already there are
skipped (or only a run's newer events added), never duplicated. A run the destination holds with
a different chain is refused by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from . import ledger
from .deletion import delete_as_recorded
from .event_log import Snapshot
from .run_store import RunStore
from .verify import Problem, check_run, named_artifacts, verify_run


class CopyRefused(RuntimeError):
    """The copy cannot go on: the source has problems, or a run differs in the destination."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class Copied:
    """What a copy did."""

    runs: int  # runs in the source
    runs_written: int  # runs with events written now (new, or grown since the last copy)
    events: int
    artifacts: int  # artifact files written to the destination
    tombstones: int = 0  # tombstones of deleted runs in the source
    tombstones_written: int = 0  # of which entered in the destination now

    def __str__(self) -> str:
        return (
            f"{self.runs} runs verified; {self.runs_written} copied ({self.events} events, "
            f"{self.artifacts} artifacts written), {self.runs - self.runs_written} already there; "
            "every copied run verified in the destination; "
            f"{self.tombstones} tombstones of deleted runs, {self.tombstones_written} copied, "
            f"{self.tombstones - self.tombstones_written} already there"
        )


def copy_store(
    src: RunStore, dst: RunStore, *, progress: Callable[[str], None] | None = None
) -> Copied:
    with src.log.snapshot() as snap:  # the source as it stands now, verified and copied
        return _copy(src, snap, dst, progress)


def _copy(
    src: RunStore, snap: Snapshot, dst: RunStore, progress: Callable[[str], None] | None
) -> Copied:
    runs = snap.query("SELECT run_id, template_id, fingerprint, created_at FROM runs")
    runs.sort(key=lambda r: (r[3], r[0]))
    problems = [p for row in runs for p in check_run(src, snap, row[0])]
    entries = ledger.entries(snap.query)
    problems += [Problem("ledger", s, what, "entry") for s, what in ledger.broken_links(entries)]
    if problems:
        raise CopyRefused(
            f"the source store {src.root} has {len(problems)} problem(s); nothing was copied",
            problems,
        )
    written = events = files = 0
    for run_row in runs:
        run_id = run_row[0]
        rows = snap.raw_events(run_id)
        with dst.log.snapshot() as there:
            have = there.raw_events(run_id)
        if [r[6] for r in have] != [r[6] for r in rows[: len(have)]]:
            raise CopyRefused(
                f"run {run_id} differs in the destination {dst.root}: its events are not the "
                "source's (the same run id with another history); nothing more was copied"
            )
        if len(have) == len(rows):
            continue
        for row in rows[len(have) :]:
            for sha, _ in named_artifacts(json.loads(row[4])):
                if dst.artifacts.hash_of(sha) != sha:
                    dst.artifacts.put_bytes(src.artifacts.read_bytes(sha))
                    files += 1
        events += dst.log.import_run(tuple(run_row), rows)
        found = verify_run(dst, run_id)
        if found:
            raise CopyRefused(
                f"run {run_id} does not verify in the destination after copying", found
            )
        written += 1
        if progress is not None:
            progress(f"copied {run_id} ({len(rows) - len(have)} events)")
    tombstones = [e for e in entries if e.kind == ledger.DELETED]
    created = {e.run_id: e.data for e in entries if e.kind == ledger.CREATED}
    entered = 0
    for entry in tombstones:
        with dst.log.snapshot() as there:
            have = there.raw_events(entry.run_id)
        if have and have[0][6] != created.get(entry.run_id, {}).get("first_hash"):
            raise CopyRefused(
                f"run {entry.run_id}, deleted in the source, is in the destination {dst.root} "
                "with another history: its tombstone was not copied, nor anything after it"
            )
        if delete_as_recorded(dst, entry.run_id, created.get(entry.run_id), entry):
            entered += 1
            if progress is not None:
                progress(f"copied the tombstone of {entry.run_id} (deleted {entry.at})")
    return Copied(len(runs), written, events, files, len(tombstones), entered)
