"""Copying a run history between stores (`prodex store copy SRC DST`): SQLite to PostgreSQL when
a team outgrows one folder, and back.

Every run of the source is verified first (its chain, head, ledger entry, artifacts); a source
with problems is refused before anything is written. Then, run by run, its artifacts are written
to the destination (content-addressed: a file already there is not written again), and its
events, verbatim (same times, payloads and hashes, so the chains are the same chains), with its
entry, head and creation on the destination's run ledger, in one transaction per run; each
copied run is then verified in the destination. A copy interrupted half way is re-run: runs
already there are skipped (or only their newer events added), never duplicated. A run the
destination holds with a different chain is refused by name.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

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

    def __str__(self) -> str:
        return (
            f"{self.runs} runs verified; {self.runs_written} copied ({self.events} events, "
            f"{self.artifacts} artifacts written), {self.runs - self.runs_written} already there; "
            "every copied run verified in the destination"
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
    return Copied(len(runs), written, events, files)
