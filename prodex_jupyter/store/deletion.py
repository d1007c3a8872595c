"""Deleting a whole run: its events, and the artifacts no other run uses.

The only removal the store allows. It is refused while a live process executes the run (it holds
the run's lease). In one transaction: the lease check, the list of artifacts only this run
references (found through the artifact indexes of store/run_index.py), the events and the run
entry go (the event log's triggers allow deleting events only of a run entered in
`run_deletions`, which stays as the tombstone). After the commit the artifact files go, each
re-checked first so a file another run has since referenced stays.

Known window: a run writing the very same table at that moment stores nothing new (the file
exists) and records the artifact only after its node lands; if the deletion removes the file in
between, `verify` names that artifact as removed. Deleting while identical work runs is rare.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .run_index import artifacts_of, used_elsewhere

if TYPE_CHECKING:
    from .run_store import RunStore


@dataclass(frozen=True)
class Deletion:
    """What deleting a run removed."""

    run_id: str
    template_id: str
    events: int
    artifacts_removed: tuple[str, ...]
    artifacts_shared: int  # artifacts the run used that other runs still use: kept

    def __str__(self) -> str:
        return (
            f"deleted run {self.run_id} of {self.template_id}: {self.events} events, "
            f"{len(self.artifacts_removed)} artifacts removed, "
            f"{self.artifacts_shared} kept (used by other runs)"
        )


def delete_run(store: RunStore, run_id: str) -> Deletion:
    from .run_store import RunNotFound

    rows = store.log.query("SELECT template_id FROM runs WHERE run_id = ?", (run_id,))
    if not rows:
        raise RunNotFound(f"cannot delete run {run_id!r}: no such run in the store at {store.root}")
    template_id = rows[0][0]
    refuse_if_live = store.leases.refuse_if_live(run_id, "delete")
    found: dict[str, list[str]] = {}

    def guard(con: sqlite3.Connection) -> None:
        refuse_if_live(con)
        found["all"] = artifacts_of(con, run_id)
        found["only"] = [sha for sha in found["all"] if not used_elsewhere(con, sha, run_id)]

    events = store.log.delete_run(run_id, guard=guard)
    # A run started since may have taken an artifact up: check again, then remove the files.
    unused = store.log.transact(
        lambda con: [sha for sha in found["only"] if not used_elsewhere(con, sha)]
    )
    for sha in unused:
        store.artifacts.remove(sha)
    removed = unused
    return Deletion(
        run_id,
        template_id,
        events,
        tuple(removed),
        len(found["all"]) - len(removed),
    )


__all__ = ["Deletion", "delete_run"]
