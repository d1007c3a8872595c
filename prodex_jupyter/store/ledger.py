"""The run ledger: the store's own hash chain of run creations and deletions (tombstones).

A run's events chain its history, but nothing in them says that the run exists: delete every
event and the index row of a run and no chain is broken. So each run's creation is also entered
here (with the hash of its first event), and deleting a run enters a tombstone (who, when, why,
the run's last event and its hash). Entries are only inserted, each chained to the one before it
across the whole store, so a removed or edited entry breaks the chain. `verify` reads it both
ways: a run the ledger records whose events are gone without a tombstone was removed outside
`delete_run`; a run with events but no ledger entry was put there outside the store; a
tombstoned run whose events are back was restored. The ledger's last hash is part of every
anchor (store/anchors.py), so its tail cannot be cut unseen either.

Backend-neutral: plain SQL (one table, one index) and Python over a DB-API connection. The
triggers refusing UPDATE and DELETE are SQLite's; another backend declares its own.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .events import canonical_json

GENESIS = "0" * 64  # the prev_hash of the first link of every chain in the store
CREATED, DELETED = "run_created", "run_deleted"

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS run_ledger (
        seq       INTEGER PRIMARY KEY,
        at        TEXT NOT NULL,
        kind      TEXT NOT NULL,
        run_id    TEXT NOT NULL,
        detail    TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash      TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS run_ledger_by_run ON run_ledger (run_id, kind)",
    """CREATE TRIGGER IF NOT EXISTS run_ledger_no_update BEFORE UPDATE ON run_ledger
    BEGIN SELECT RAISE(ABORT, 'the run ledger is append-only: entries cannot be updated'); END""",
    """CREATE TRIGGER IF NOT EXISTS run_ledger_no_delete BEFORE DELETE ON run_ledger
    BEGIN SELECT RAISE(ABORT, 'the run ledger is append-only: entries cannot be deleted'); END""",
]

# Anchors taken of the store (store/anchors.py): the list of heads each digest stands for.
ANCHORS_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS anchors (
        digest TEXT PRIMARY KEY,
        at     TEXT NOT NULL,
        body   TEXT NOT NULL
    )""",
    """CREATE TRIGGER IF NOT EXISTS anchors_no_update BEFORE UPDATE ON anchors
    BEGIN SELECT RAISE(ABORT, 'anchors cannot be updated'); END""",
    """CREATE TRIGGER IF NOT EXISTS anchors_no_delete BEFORE DELETE ON anchors
    BEGIN SELECT RAISE(ABORT, 'anchors cannot be deleted'); END""",
]

# Runs whose deletion is on the ledger: the one case where their rows may go (event-log triggers).
TOMBSTONED = f"SELECT run_id FROM run_ledger WHERE kind = '{DELETED}'"

_COLUMNS = "seq, at, kind, run_id, detail, prev_hash, hash"


@dataclass(frozen=True)
class LedgerEntry:
    """One entry as stored; `detail` is the JSON text the hash covers."""

    seq: int
    at: str
    kind: str
    run_id: str
    detail: str
    prev_hash: str
    hash: str

    @property
    def data(self) -> Mapping[str, Any]:
        return json.loads(self.detail)

    def recomputed(self) -> str:
        return entry_hash(self.prev_hash, self.seq, self.at, self.kind, self.run_id, self.detail)


@dataclass(frozen=True)
class Tombstone:
    """What is left of a deleted run: who deleted it, when, why, and where its chain ended."""

    run_id: str
    at: str
    by: str
    reason: str
    template_id: str
    last_seq: int
    last_hash: str
    events: int
    ledger_seq: int

    @classmethod
    def of(cls, entry: LedgerEntry) -> Tombstone:
        d = entry.data
        return cls(
            entry.run_id,
            entry.at,
            d.get("by", ""),
            d.get("reason", ""),
            d.get("template_id", ""),
            int(d.get("last_seq", -1)),
            d.get("last_hash", ""),
            int(d.get("events", 0)),
            entry.seq,
        )

    def __str__(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return (
            f"run {self.run_id} deleted {self.at} by {self.by}{why}: {self.events} events, last "
            f"event {self.last_seq} hash {self.last_hash[:12]} (ledger entry {self.ledger_seq})"
        )


def entry_hash(prev_hash: str, seq: int, at: str, kind: str, run_id: str, detail: str) -> str:
    text = "\n".join((prev_hash, str(seq), at, kind, run_id, detail))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def enter(
    con: sqlite3.Connection, kind: str, run_id: str, detail: Mapping[str, Any], at: str
) -> LedgerEntry:
    """Append one entry, chained to the last; call inside the write transaction it belongs to."""
    row = con.execute("SELECT seq, hash FROM run_ledger ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (row[0] + 1, row[1]) if row else (0, GENESIS)
    text = canonical_json(dict(detail))
    entry = LedgerEntry(
        seq, at, kind, run_id, text, prev, entry_hash(prev, seq, at, kind, run_id, text)
    )
    con.execute(
        f"INSERT INTO run_ledger ({_COLUMNS}) VALUES (?,?,?,?,?,?,?)",
        (entry.seq, entry.at, entry.kind, entry.run_id, entry.detail, entry.prev_hash, entry.hash),
    )
    return entry


def entries(query: Callable[..., list[tuple]], run_id: str | None = None) -> list[LedgerEntry]:
    """The ledger in order (only one run's entries when `run_id` is given)."""
    if run_id is None:
        rows = query(f"SELECT {_COLUMNS} FROM run_ledger ORDER BY seq")
    else:
        rows = query(f"SELECT {_COLUMNS} FROM run_ledger WHERE run_id = ? ORDER BY seq", (run_id,))
    return [LedgerEntry(*row) for row in rows]


def head(query: Callable[..., list[tuple]]) -> tuple[int, str]:
    """The last entry's seq and hash ((-1, GENESIS) for an empty ledger)."""
    rows = query("SELECT seq, hash FROM run_ledger ORDER BY seq DESC LIMIT 1")
    return (rows[0][0], rows[0][1]) if rows else (-1, GENESIS)


def broken_links(ledger: Iterable[LedgerEntry]) -> list[tuple[int, str]]:
    """(seq, what) for every entry missing, out of chain or changed since it was written."""
    found, prev, expected = [], GENESIS, 0
    for entry in ledger:
        if entry.seq != expected:
            gap = f"{expected}" if entry.seq == expected + 1 else f"{expected}..{entry.seq - 1}"
            found.append((expected, f"entries {gap} are missing (next entry found is {entry.seq})"))
        if entry.prev_hash != prev:
            found.append((entry.seq, "does not follow the entry before it (chain broken)"))
        if entry.recomputed() != entry.hash:
            found.append(
                (entry.seq, f"{entry.kind} of {entry.run_id} was changed after it was written")
            )
        prev, expected = entry.hash, entry.seq + 1
    return found


def adopt_existing_runs(con: sqlite3.Connection, at: str) -> None:
    """A store written before the ledger existed: enter its runs (oldest first) and the deletions
    it kept in its former `run_deletions` table, so that verify can account for them from now on.
    What happened to such a store before this moment is only as provable as its event chains."""
    runs = con.execute(
        "SELECT r.run_id, r.template_id, r.fingerprint, r.created_at, e.hash FROM runs r "
        "LEFT JOIN events e ON e.run_id = r.run_id AND e.seq = 0 ORDER BY r.created_at, r.run_id"
    ).fetchall()
    for run_id, template_id, fingerprint, created_at, first_hash in runs:
        detail = created_detail(template_id, fingerprint, created_at, first_hash or "")
        enter(con, CREATED, run_id, {**detail, "adopted": True}, at)
    has_old = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_deletions'"
    ).fetchone()
    if has_old:
        for run_id, deleted_at in con.execute(
            "SELECT run_id, at FROM run_deletions ORDER BY at, run_id"
        ).fetchall():
            detail = {"by": "unknown (deleted before tombstones were kept)", "reason": ""}
            enter(con, DELETED, run_id, {**detail, "deleted_at": deleted_at, "adopted": True}, at)
        con.execute("DROP TABLE run_deletions")


def created_detail(template_id: str, fingerprint: str, created_at: str, first_hash: str) -> dict:
    return {
        "template_id": template_id,
        "fingerprint": fingerprint,
        "created_at": created_at,
        "first_hash": first_hash,
    }


def deleted_detail(
    *, by: str, reason: str, template_id: str, last_seq: int, last_hash: str, events: int
) -> dict:
    return {
        "by": by,
        "reason": reason,
        "template_id": template_id,
        "last_seq": last_seq,
        "last_hash": last_hash,
        "events": events,
    }
