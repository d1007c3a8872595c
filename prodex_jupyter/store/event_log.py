"""The append-only event log: SQLite in WAL mode, one hash chain per run.

Several processes append at once (two kernels, the Jupyter server, the command line): each append
is one short `BEGIN IMMEDIATE` transaction that reads the run's last hash, inserts the next
events and moves the run's head (`run_heads`) to the last of them. Creating a run and deleting
one are also entered on the run ledger (store/ledger.py), the deletion as a tombstone. Triggers
make UPDATE impossible and DELETE possible only for a run whose tombstone is on the ledger, so
append-only holds even against code that bypasses this module; what someone who drops the
triggers changes, `verify` names (store/verify.py, store/anchors.py, docs/tamper-evidence.md).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timezone
from hashlib import sha256
from pathlib import Path
from typing import Any, Protocol, TypeVar

from . import ledger
from .events import Event, StoredEvent, canonical_json, decode_event, make
from .ledger import GENESIS, Tombstone

WAL_PAGES = 10_000  # automatic checkpoint threshold, in pages of 4 KiB

T = TypeVar("T")
# Runs in a write transaction before it writes; raises to stop it (lease fencing, delete check).
Guard = Callable[[sqlite3.Connection], None]
DbApi = Any  # sqlite3.Connection, or the PostgreSQL store's Db: execute / executemany with `?`
# Runs in a write transaction just after it inserted a run's events (rows as in `events`, in
# order): what is derived from them (the SQLite runs list, store/run_index.py). PostgreSQL
# derives its rows with a trigger of its own (store/postgres_schema.py). A new run's first row
# comes with only the inputs and gates of its payload (the template and code it also holds, some
# 500 bytes a node, are not read: parsing them cost a run of 1,000 nodes 5 ms).
Derive = Callable[[DbApi, Sequence[tuple]], None]


def _only_with_its_run(trigger: str, table: str, message: str) -> str:
    """A trigger refusing to delete a row of `table` unless its run's tombstone is on the ledger."""
    return f"""CREATE TRIGGER IF NOT EXISTS {trigger} BEFORE DELETE ON {table}
    WHEN OLD.run_id NOT IN ({ledger.TOMBSTONED})
    BEGIN
        SELECT RAISE(ABORT, '{message}');
    END"""


_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS events (
        run_id    TEXT    NOT NULL,
        seq       INTEGER NOT NULL,
        at        TEXT    NOT NULL,
        kind      TEXT    NOT NULL,
        payload   TEXT    NOT NULL,
        prev_hash TEXT    NOT NULL,
        hash      TEXT    NOT NULL,
        PRIMARY KEY (run_id, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS runs (
        run_id      TEXT PRIMARY KEY,
        template_id TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        created_at  TEXT NOT NULL
    ) WITHOUT ROWID""",
    # Each run's last event, moved forward in the transaction that appends: an event log whose
    # tail was cut no longer reaches it (verify names the missing events).
    """CREATE TABLE IF NOT EXISTS run_heads (
        run_id TEXT PRIMARY KEY,
        seq    INTEGER NOT NULL,
        hash   TEXT    NOT NULL
    ) WITHOUT ROWID""",
    "DROP INDEX IF EXISTS events_by_kind",
    "CREATE INDEX IF NOT EXISTS runs_by_template ON runs (template_id, created_at)",
    *ledger.SCHEMA,
    *ledger.ANCHORS_SCHEMA,
    """CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
    BEGIN
        SELECT RAISE(ABORT, 'the event log is append-only: events cannot be updated');
    END""",
    _only_with_its_run(
        "events_append_only_delete",
        "events",
        "the event log is append-only: only a whole run can be deleted",
    ),
    """CREATE TRIGGER IF NOT EXISTS runs_no_update BEFORE UPDATE ON runs
    BEGIN
        SELECT RAISE(ABORT, 'run entries cannot be updated');
    END""",
    _only_with_its_run(
        "runs_no_delete", "runs", "a run entry goes only with its whole run (delete_run)"
    ),
    """CREATE TRIGGER IF NOT EXISTS run_heads_forward BEFORE UPDATE ON run_heads
    WHEN NEW.seq <= OLD.seq OR NEW.run_id != OLD.run_id
    BEGIN
        SELECT RAISE(ABORT, 'a run head only moves forward');
    END""",
    _only_with_its_run(
        "run_heads_no_delete", "run_heads", "a run head goes only with its whole run (delete_run)"
    ),
]


_INSERT = (
    "INSERT INTO events (run_id, seq, at, kind, payload, prev_hash, hash) VALUES (?,?,?,?,?,?,?)"
)
# Standard SQL (SQLite >= 3.24, PostgreSQL >= 9.5).
_MOVE_HEAD = (
    "INSERT INTO run_heads (run_id, seq, hash) VALUES (?, ?, ?) "
    "ON CONFLICT (run_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash"
)
# Each run's last event, as its events say (anchors read it; old stores' heads are built from it).
LAST_EVENTS = """SELECT e.run_id, e.seq, e.hash FROM events e
JOIN (SELECT run_id, max(seq) AS seq FROM events GROUP BY run_id) last
    ON last.run_id = e.run_id AND last.seq = e.seq"""
_HEADS_FROM_EVENTS = f"INSERT INTO run_heads (run_id, seq, hash) {LAST_EVENTS}"


class Conflict(RuntimeError):
    """The run changed since the caller last read it."""


def chain_hash(prev_hash: str, run_id: str, seq: int, at: str, kind: str, payload: str) -> str:
    """The hash linking an event to the one before it in its run."""
    return sha256(f"{prev_hash}\n{run_id}\n{seq}\n{at}\n{kind}\n{payload}".encode()).hexdigest()


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class EventLog:
    """One SQLite file. Thread-safe within a process; safe across processes through SQLite locks."""

    dialect = "sqlite"

    def __init__(
        self, path: Path, *, derive: Derive | None = None, busy_timeout_ms: int = 30_000
    ) -> None:
        self.path = path
        self._derive = derive
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._con = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=busy_timeout_ms / 1000
        )
        self._con.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        self._con.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives the process being killed; only an OS crash or power
        # loss can lose the last transactions. That is the failure model of a notebook tool.
        self._con.execute("PRAGMA synchronous=NORMAL")
        # SQLite checkpoints the WAL into the database file (and syncs it) from inside whichever
        # commit crosses the threshold, by default every 1000 pages: on this machine that tripled
        # the cost of the engine's small transactions. The engine checkpoints when a run settles
        # (`checkpoint`, off its loop); this larger threshold is only the bound on the WAL (40 MB).
        self._con.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES}")
        with self._lock, self._transaction():  # a new store's schema in one commit
            self._create_schema()

    def _create_schema(self) -> None:
        """Create what is missing; a store written before run heads and the run ledger existed
        gets them, built from its events (and its former `run_deletions` table)."""
        con = self._con
        had = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "run_deletions" in had:  # its delete trigger read that table: now the ledger
            con.execute("DROP TRIGGER IF EXISTS events_append_only_delete")
        for statement in _SCHEMA:
            con.execute(statement)
        if "events" in had and "run_heads" not in had:
            con.execute(_HEADS_FROM_EVENTS)
        if "events" in had and "run_ledger" not in had:
            ledger.adopt_existing_runs(con, utc_now())

    def checkpoint(self) -> None:
        """Copy the WAL into the database file, without waiting for readers or writers (PASSIVE),
        on a connection of its own so appends go on meanwhile. Called at quiet moments."""
        con = sqlite3.connect(self.path, isolation_level=None, timeout=1)
        try:
            con.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            con.close()

    def close(self) -> None:
        with self._lock:
            self._con.close()

    # ----------------------------------------------------------------- writes
    def create_run(
        self, run_id: str, template_id: str, fingerprint: str, first: Event
    ) -> StoredEvent:
        """Register a run and write its first event in one transaction."""
        with self._lock, self._transaction():
            return write_run(self._con, run_id, template_id, fingerprint, first, self._derive)

    def append(
        self,
        run_id: str,
        events: Sequence[Event],
        *,
        expect_last: int | None = None,
        guard: Guard | None = None,
    ) -> list[StoredEvent]:
        """Append events to a run, in order, atomically; returns them as stored.

        With `expect_last`, append only if the run's last event is still that one (optimistic
        concurrency: a decision checked against a state another process has since changed is
        refused with `Conflict`, and the caller re-checks). `guard(con)` runs first in the same
        transaction and may refuse by raising (the executor's lease check).
        """
        with self._lock, self._transaction():
            if guard is not None:
                guard(self._con)
            return write_events(self._con, run_id, events, expect_last, self.path, self._derive)

    def delete_run(
        self, run_id: str, *, by: str, reason: str = "", guard: Guard | None = None
    ) -> Tombstone:
        """The one deletion there is: a whole run, leaving a tombstone on the run ledger (who,
        when, why, how many events, the last one and its hash), which `verify` checks.

        `guard(con)` runs first in the same transaction and may refuse by raising (a live run).
        """
        with self._lock, self._transaction():
            if guard is not None:
                guard(self._con)
            return write_deletion(self._con, run_id, by, reason, _remove_run)

    def import_run(self, run_row: Sequence[object], rows: Sequence[Sequence[object]]) -> int:
        """Insert a run's events as stored in another store (`prodex store copy`), verbatim,
        after those already here; returns how many went in. One transaction."""
        with self._lock, self._transaction():
            return write_import(self._con, run_row, rows, self._derive)

    def import_deletion(
        self,
        run_id: str,
        created: Mapping[str, Any] | None,
        deleted: Mapping[str, Any],
        at: str,
        guard: Guard | None = None,
    ) -> bool:
        """Enter a run's deletion as another store recorded it (`prodex store copy`); False when
        this ledger already has it. One transaction (see write_copied_deletion)."""
        with self._lock, self._transaction():
            if guard is not None:
                guard(self._con)
            return write_copied_deletion(self._con, run_id, created, deleted, at, _remove_run)

    # ------------------------------------------------------------------ reads
    def events(self, run_id: str, after: int = -1) -> list[StoredEvent]:
        """A run's events with seq greater than `after`, in order."""
        with self._lock:
            rows = self._con.execute(
                "SELECT run_id, seq, at, kind, payload, prev_hash, hash FROM events "
                "WHERE run_id = ? AND seq > ? ORDER BY seq",
                (run_id, after),
            ).fetchall()
        return [decode_row(row) for row in rows]

    def run_ids(self, template_id: str | None = None) -> list[str]:
        with self._lock:
            if template_id is None:
                rows = self._con.execute("SELECT run_id FROM runs ORDER BY created_at").fetchall()
            else:
                rows = self._con.execute(
                    "SELECT run_id FROM runs WHERE template_id = ? ORDER BY created_at",
                    (template_id,),
                ).fetchall()
        return [r[0] for r in rows]

    def has_run(self, run_id: str) -> bool:
        with self._lock:
            row = self._con.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return row is not None

    def query(self, sql: str, params: Iterable[object] = ()) -> list[tuple]:
        """Read-only SQL over the log, for indexes built on top of it (runs list, baselines)."""
        with self._lock:
            return self._con.execute(sql, tuple(params)).fetchall()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Reads that all see one moment of the log: a read transaction on a connection of its
        own (WAL: writers go on meanwhile), so a check comparing several tables (verify) is not
        misled by an append landing between two of its reads."""
        con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            con.execute("BEGIN")
            con.execute("SELECT count(*) FROM run_ledger")  # the snapshot is taken at a first read
            yield Snapshot(con)
        finally:
            con.close()  # ends the read transaction

    def transact(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work(con)` in one write transaction on this log's file (indexes and leases built
        on top of the log use it; events are only ever written by the methods above)."""
        with self._lock, self._transaction():
            return work(self._con)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._con.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")


class Reader(Protocol):
    """What reads over the log need: the live log and a snapshot of it both answer SQL."""

    def query(self, sql: str, params: Iterable[object] = ()) -> list[tuple]: ...


class Snapshot:
    """The log as it stood at one moment (see `EventLog.snapshot`)."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def query(self, sql: str, params: Iterable[object] = ()) -> list[tuple]:
        return self._con.execute(sql, tuple(params)).fetchall()

    def raw_events(self, run_id: str) -> list[tuple[str, int, str, str, str, str, str]]:
        """A run's rows as stored, undecoded: what verify recomputes the chain over."""
        return self.query(
            "SELECT run_id, seq, at, kind, payload, prev_hash, hash FROM events "
            "WHERE run_id = ? ORDER BY seq",
            (run_id,),
        )


# ------------------------------------------------- writes, in SQL both backends speak
# Each runs inside the caller's write transaction, on a DB-API connection taking `?` placeholders
# (sqlite3, or store/postgres_log.py's Db).
def write_run(
    con: DbApi,
    run_id: str,
    template_id: str,
    fingerprint: str,
    first: Event,
    derive: Derive | None = None,
) -> StoredEvent:
    """A run's entry, first event, head and creation on the run ledger."""
    at = utc_now()
    con.execute(
        "INSERT INTO runs (run_id, template_id, fingerprint, created_at) VALUES (?,?,?,?)",
        (run_id, template_id, fingerprint, at),
    )
    fields = first.payload()
    payload = canonical_json(fields)
    digest = chain_hash(GENESIS, run_id, 0, at, first.kind, payload)
    row = (run_id, 0, at, first.kind, payload, GENESIS, digest)
    con.execute(_INSERT, row)
    con.execute(_MOVE_HEAD, (run_id, 0, digest))
    if derive is not None:
        read = canonical_json({k: fields[k] for k in ("gates", "inputs") if k in fields})
        derive(con, [(*row[:4], read, *row[5:])])
    detail = ledger.created_detail(template_id, fingerprint, at, digest)
    ledger.enter(con, ledger.CREATED, run_id, detail, at)
    return StoredEvent(run_id, 0, at, first, GENESIS, digest)


def write_events(
    con: DbApi,
    run_id: str,
    events: Sequence[Event],
    expect_last: int | None,
    where: object,
    derive: Derive | None = None,
) -> list[StoredEvent]:
    """The next events of a run, chained to its last, and its head moved to them."""
    row = con.execute(
        "SELECT seq, hash FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1", (run_id,)
    ).fetchone()
    if row is None:
        raise KeyError(f"no run {run_id!r} in {where}")
    seq, prev = row
    if expect_last is not None and seq != expect_last:
        raise Conflict(f"run {run_id} moved on to event {seq} (expected {expect_last})")
    at = utc_now()
    stored, rows = [], []
    for event in events:
        seq += 1
        kind = event.kind
        # The payload is the event's own fields (Event.payload without its copy: only read here).
        payload = canonical_json(vars(event))
        digest = chain_hash(prev, run_id, seq, at, kind, payload)
        rows.append((run_id, seq, at, kind, payload, prev, digest))
        stored.append(
            make(
                StoredEvent,
                {
                    "run_id": run_id,
                    "seq": seq,
                    "at": at,
                    "event": event,
                    "prev_hash": prev,
                    "hash": digest,
                },
            )
        )
        prev = digest
    con.executemany(_INSERT, rows)
    con.execute(_MOVE_HEAD, (run_id, seq, prev))
    if derive is not None:
        derive(con, rows)
    return stored


def write_deletion(
    con: DbApi, run_id: str, by: str, reason: str, remove: Callable[[DbApi, str], object]
) -> Tombstone:
    """The tombstone on the run ledger, then `remove(con, run_id)` takes the run's rows."""
    template = con.execute("SELECT template_id FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    last = con.execute(
        "SELECT seq, hash FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1", (run_id,)
    ).fetchone() or (-1, GENESIS)
    count = con.execute("SELECT count(*) FROM events WHERE run_id = ?", (run_id,)).fetchone()[0]
    detail = ledger.deleted_detail(
        by=by,
        reason=reason,
        template_id=template[0] if template else "",
        last_seq=last[0],
        last_hash=last[1],
        events=count,
    )
    entry = ledger.enter(con, ledger.DELETED, run_id, detail, utc_now())
    remove(con, run_id)
    return Tombstone.of(entry)


def _remove_run(con: DbApi, run_id: str) -> None:
    con.execute("DELETE FROM events WHERE run_id = ?", (run_id,))
    con.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
    con.execute("DELETE FROM run_heads WHERE run_id = ?", (run_id,))


def write_import(
    con: DbApi,
    run_row: Sequence[object],
    rows: Sequence[Sequence[object]],
    derive: Derive | None = None,
) -> int:
    """A run copied from another store: its entry and creation on the ledger the first time,
    then the events this store does not have yet (the source's rows, verbatim), and its head."""
    run_id = run_row[0]
    last = con.execute("SELECT max(seq) FROM events WHERE run_id = ?", (run_id,)).fetchone()[0]
    new = [tuple(r) for r in rows if last is None or r[1] > last]
    if not new:
        return 0
    if last is None:
        con.execute(
            "INSERT INTO runs (run_id, template_id, fingerprint, created_at) VALUES (?,?,?,?)",
            tuple(run_row),
        )
        first = new[0]
        detail = ledger.created_detail(str(run_row[1]), str(run_row[2]), str(run_row[3]), first[6])
        ledger.enter(con, ledger.CREATED, run_id, {**detail, "copied": True}, utc_now())
    con.executemany(_INSERT, new)
    con.execute(_MOVE_HEAD, (run_id, new[-1][1], new[-1][6]))
    if derive is not None:
        derive(con, new)
    return len(new)


def write_copied_deletion(
    con: DbApi,
    run_id: str,
    created: Mapping[str, Any] | None,
    deleted: Mapping[str, Any],
    at: str,
    remove: Callable[[DbApi, str], object],
) -> bool:
    """A deleted run's record copied from another store: its creation on the ledger unless it is
    there (`created`: the source's entry detail; None for a run deleted before the source kept a
    ledger), then its tombstone as the source wrote it (who, why, its last event and hash) at the
    time it was written there; then the run's rows go, for a run copied before its deletion.
    False, and nothing written, when this ledger already has the tombstone."""
    kinds = {
        row[0] for row in con.execute("SELECT kind FROM run_ledger WHERE run_id = ?", (run_id,))
    }
    if ledger.DELETED in kinds:
        return False
    if ledger.CREATED not in kinds and created is not None:
        ledger.enter(con, ledger.CREATED, run_id, {**created, "copied": True}, utc_now())
    ledger.enter(con, ledger.DELETED, run_id, {**deleted, "copied": True}, at)
    remove(con, run_id)
    return True


def decode_row(row: tuple) -> StoredEvent:
    run_id, seq, at, kind, payload, prev_hash, digest = row
    return StoredEvent(run_id, seq, at, decode_event(kind, payload), prev_hash, digest)
