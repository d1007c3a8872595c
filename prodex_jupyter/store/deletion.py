"""Deleting a whole run: its events, and the artifacts no other run uses.

The only removal the store allows. It is refused while a live process executes the run (it holds
the run's lease). In one transaction: the lease check, the list of artifacts only this run
references (found through the artifact indexes of store/run_index.py), a tombstone on the run
ledger (store/ledger.py: who, when, why, the run's last event and hash), then the events, the
run entry and its head go (the store's triggers allow removing those rows only for a run with a
tombstone). After the commit the artifact files go, each re-checked first so a file another run
has since referenced stays.

A run storing the very same table at that moment claims it first (store/claims.py): the files
are re-checked against references and claims, and removed, inside one write transaction, so the
claim and the removal cannot interleave.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .actor import current_actor
from .claims import claimed_elsewhere, forget_claims
from .disk_full import is_disk_full
from .ledger import LedgerEntry, Tombstone

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
    tombstone: Tombstone

    def __str__(self) -> str:
        return (
            f"deleted run {self.run_id} of {self.template_id}: {self.events} events, "
            f"{len(self.artifacts_removed)} artifacts removed, "
            f"{self.artifacts_shared} kept (used by other runs); tombstone: ledger entry "
            f"{self.tombstone.ledger_seq}, by {self.tombstone.by}"
        )


def default_deleter() -> str:
    """Who deletes, when the caller does not say: as for gate decisions (store/actor.py), with the
    host, since a tombstone outlives the session that made it."""
    return f"{current_actor()}@{socket.gethostname()}"


def delete_run(
    store: RunStore, run_id: str, *, by: str | None = None, reason: str = ""
) -> Deletion:
    try:
        return _delete_run(store, run_id, by=by, reason=reason)
    except sqlite3.OperationalError as exc:
        if not is_disk_full(exc):
            raise
    _make_room(store, run_id)
    return _delete_run(store, run_id, by=by, reason=reason)


def _make_room(store: RunStore, run_id: str) -> None:
    """On a full disk SQLite has no room to record a deletion: remove first the artifact files
    only this run uses and nobody claims (the run is going anyway), then delete as usual."""
    refuse_if_live = store.leases.refuse_if_live(run_id, "delete")
    index = store.index

    def remove_unused(con: sqlite3.Connection) -> None:
        refuse_if_live(con)
        for sha in index.artifacts_of(con, run_id):
            if not index.used_elsewhere(con, sha, run_id) and not claimed_elsewhere(
                con, sha, run_id
            ):
                store.artifacts.remove(sha)

    store.log.transact(remove_unused)


def _delete_run(store: RunStore, run_id: str, *, by: str | None, reason: str) -> Deletion:
    from .run_store import RunNotFound

    rows = store.log.query("SELECT template_id FROM runs WHERE run_id = ?", (run_id,))
    if not rows:
        raise RunNotFound(f"cannot delete run {run_id!r}: no such run in the store at {store.root}")
    template_id = rows[0][0]
    refuse_if_live = store.leases.refuse_if_live(run_id, "delete")
    found: dict[str, list[str]] = {}
    index = store.index  # the backend's artifact references (run_index or postgres_index)

    def guard(con: sqlite3.Connection) -> None:
        refuse_if_live(con)
        found["all"] = index.artifacts_of(con, run_id)
        found["only"] = [sha for sha in found["all"] if not index.used_elsewhere(con, sha, run_id)]

    tombstone = store.log.delete_run(run_id, by=by or default_deleter(), reason=reason, guard=guard)
    removed = _remove_unused(store, run_id, found["only"])
    return Deletion(
        run_id,
        template_id,
        tombstone.events,
        tuple(removed),
        len(found["all"]) - len(removed),
        tombstone,
    )


def delete_as_recorded(
    store: RunStore, run_id: str, created: Mapping[str, Any] | None, entry: LedgerEntry
) -> bool:
    """Enter a deletion another store recorded (`prodex store copy` of a tombstone, `entry`, and
    the run's creation entry detail `created`): the same tombstone, and, for a run copied here
    before it was deleted there, its rows and the artifacts no other run uses, as `delete_run`
    removes them. False when this store has the tombstone already."""
    refuse_if_live = store.leases.refuse_if_live(run_id, "delete")
    index = store.index
    only: list[str] = []

    def guard(con: sqlite3.Connection) -> None:
        refuse_if_live(con)
        mine = index.artifacts_of(con, run_id)
        only[:] = [sha for sha in mine if not index.used_elsewhere(con, sha, run_id)]

    if not store.log.import_deletion(run_id, created, entry.data, entry.at, guard=guard):
        return False
    _remove_unused(store, run_id, only)
    return True


def _remove_unused(store: RunStore, run_id: str, only: list[str]) -> list[str]:
    """After the deletion committed: a run started since may have taken an artifact up (an
    event, or a claim), so check again and remove the files in one write transaction, where no
    claim slips in between."""
    index = store.index

    def remove_unused(con: sqlite3.Connection) -> list[str]:
        forget_claims(con, run_id)
        unused = [
            sha
            for sha in only
            if not index.used_elsewhere(con, sha) and not claimed_elsewhere(con, sha, run_id)
        ]
        for sha in unused:
            store.artifacts.remove(sha)
        return unused

    return store.log.transact(remove_unused)


__all__ = ["Deletion", "delete_as_recorded", "delete_run"]
