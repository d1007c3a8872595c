"""Artifact claims: a run says it is about to reference an artifact before its event lands.

Artifacts are shared by content: a run that computes a table another run already stored writes
nothing new. Deleting a run removes the artifacts no other run references, and without claims a
run that had just found the file present, but not yet recorded the event naming it, would lose it.
So whoever stores an artifact claims it in a write transaction, then makes sure the file exists;
a deletion re-checks references and claims and removes files inside one write transaction too.
SQLite orders the two: either the claim comes first and the deletion keeps the file, or the
deletion comes first and the claimer, finding the file gone, writes it again.

Claims are only inserted, and go when their whole run is deleted.
"""

from __future__ import annotations

import sqlite3

from .event_log import EventLog, utc_now

_SCHEMA = """CREATE TABLE IF NOT EXISTS artifact_claims (
    sha256 TEXT NOT NULL,
    run_id TEXT NOT NULL,
    at     TEXT NOT NULL,
    PRIMARY KEY (sha256, run_id)
) WITHOUT ROWID"""


def ensure_claims(log: EventLog) -> None:
    log.transact(lambda con: con.execute(_SCHEMA))


def claim(log: EventLog, sha256: str, run_id: str) -> None:
    log.transact(
        lambda con: con.execute(
            "INSERT INTO artifact_claims (sha256, run_id, at) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",  # SQLite and PostgreSQL alike
            (sha256, run_id, utc_now()),
        )
    )


def claimed_elsewhere(con: sqlite3.Connection, sha256: str, run_id: str) -> bool:
    row = con.execute(
        "SELECT 1 FROM artifact_claims WHERE sha256 = ? AND run_id != ? LIMIT 1", (sha256, run_id)
    ).fetchone()
    return row is not None


def forget_claims(con: sqlite3.Connection, run_id: str) -> None:
    con.execute("DELETE FROM artifact_claims WHERE run_id = ?", (run_id,))
