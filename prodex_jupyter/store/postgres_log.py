"""The append-only event log in PostgreSQL (psycopg 3): the same hash chains, read and written
the same way as the SQLite log (store/event_log.py), for a team sharing one run history.

Each append is one short transaction that takes a transaction-scoped advisory lock on the run
(so two processes appending to one run queue instead of colliding), reads the run's last hash
and inserts the next events; the database's triggers keep the log append-only and derive the
runs list (store/postgres_schema.py). `Db` lets the store's portable SQL (written with `?`
placeholders, as for SQLite) run unchanged on a psycopg connection.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import psycopg

from .event_log import (
    write_copied_deletion,
    write_deletion,
    write_events,
    write_import,
    write_run,
)
from .events import Event, StoredEvent, decode_event
from .ledger import Tombstone
from .postgres_schema import DECISIONS_CHANNEL, SCRIPT, VERSION
from .urls import redacted

T = TypeVar("T")

_SCHEMA_LOCK = 7_240_517  # advisory lock key: one process at a time creates or upgrades the schema
_RUN_LOCK = 7_240_518  # first key of the per-run append locks (second key: hashtext(run_id))
_LEDGER_LOCK = 7_240_519  # the run ledger: one chain for the whole store


@functools.lru_cache(maxsize=256)
def _pg(sql: str) -> str:
    return sql.replace("%", "%%").replace("?", "%s")


class Db:
    """A psycopg connection that takes the store's `?`-placeholder SQL (what guards, claims and
    the portable queries are written in) and answers like sqlite3 (`execute(...).fetchone()`)."""

    dialect = "postgresql"

    def __init__(self, con: psycopg.Connection) -> None:
        self.con = con

    def execute(self, sql: str, params: Iterable[Any] = (), binary: bool = False) -> psycopg.Cursor:
        return self.con.execute(_pg(sql), tuple(params), binary=binary)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.con.cursor() as cur:
            cur.executemany(_pg(sql), rows)


def _remove_run(db: Db, run_id: str) -> None:
    db.execute("SELECT prodex_delete_run(?)", (run_id,))


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


class PgEventLog:
    """The event log of a PostgreSQL store. Thread-safe within a process; safe across processes
    and machines through the database's locks."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = redacted(url)  # what messages name
        self._lock = threading.RLock()
        self._con = connect(url)
        self._db = Db(self._con)
        self._listener: _Listener | None = None
        ensure_schema(self._con)

    def checkpoint(self) -> None:
        """Nothing to do: the server manages its write-ahead log."""

    def close(self) -> None:
        with self._lock:
            if self._listener is not None:
                self._listener.stop()
            self._con.close()

    # ----------------------------------------------------------------- writes
    # The same writes as the SQLite log (store/event_log.py), behind PostgreSQL's locks: appends
    # to one run queue on a transaction-scoped advisory lock; the run ledger is one chain for the
    # whole store, so its entries queue on another.
    def create_run(
        self, run_id: str, template_id: str, fingerprint: str, first: Event
    ) -> StoredEvent:
        """Register a run and write its first event in one transaction."""
        with self._transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(?)", (_LEDGER_LOCK,))
            return write_run(db, run_id, template_id, fingerprint, first)

    def append(
        self,
        run_id: str,
        events: Sequence[Event],
        *,
        expect_last: int | None = None,
        guard: Callable[[Db], None] | None = None,
    ) -> list[StoredEvent]:
        """Append events to a run, in order, atomically (see EventLog.append)."""
        with self._transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (_RUN_LOCK, run_id))
            if guard is not None:
                guard(db)
            return write_events(db, run_id, events, expect_last, self.path)

    def delete_run(
        self, run_id: str, *, by: str, reason: str = "", guard: Callable[[Db], None] | None = None
    ) -> Tombstone:
        """The one deletion there is: a whole run, its tombstone on the run ledger, its rows
        removed by the database's own function (the only way its triggers allow)."""
        with self._transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(?)", (_LEDGER_LOCK,))
            db.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (_RUN_LOCK, run_id))
            if guard is not None:
                guard(db)
            return write_deletion(db, run_id, by, reason, _remove_run)

    def import_run(self, run_row: Sequence[Any], rows: Sequence[Sequence[Any]]) -> int:
        """Insert a run's events as stored elsewhere (`prodex store copy`), verbatim, after the
        ones already here; returns how many were inserted. One transaction."""
        with self._transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(?)", (_LEDGER_LOCK,))
            db.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (_RUN_LOCK, run_row[0]))
            return write_import(db, run_row, rows)

    def import_deletion(
        self,
        run_id: str,
        created: Mapping[str, Any] | None,
        deleted: Mapping[str, Any],
        at: str,
        guard: Callable[[Db], None] | None = None,
    ) -> bool:
        """Enter a run's deletion as another store recorded it (see EventLog.import_deletion)."""
        with self._transaction() as db:
            db.execute("SELECT pg_advisory_xact_lock(?)", (_LEDGER_LOCK,))
            db.execute("SELECT pg_advisory_xact_lock(?, hashtext(?))", (_RUN_LOCK, run_id))
            if guard is not None:
                guard(db)
            return write_copied_deletion(db, run_id, created, deleted, at, _remove_run)

    # ------------------------------------------------------------------ reads
    def events(self, run_id: str, after: int = -1) -> list[StoredEvent]:
        rows = self.query(
            "SELECT run_id, seq, at, kind, payload, prev_hash, hash FROM events "
            "WHERE run_id = ? AND seq > ? ORDER BY seq",
            (run_id, after),
        )
        return [StoredEvent(r[0], r[1], r[2], decode_event(r[3], r[4]), r[5], r[6]) for r in rows]

    def run_ids(self, template_id: str | None = None) -> list[str]:
        if template_id is None:
            rows = self.query("SELECT run_id FROM runs ORDER BY created_at, run_id")
        else:
            rows = self.query(
                "SELECT run_id FROM runs WHERE template_id = ? ORDER BY created_at, run_id",
                (template_id,),
            )
        return [r[0] for r in rows]

    def has_run(self, run_id: str) -> bool:
        return bool(self.query("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)))

    def query(
        self, sql: str, params: Iterable[object] = (), *, binary: bool = False
    ) -> list[tuple]:
        """Read-only SQL (with `?` placeholders, as for SQLite); `binary`: results in binary
        format (the runs list's one large text value: cheaper for the server to send)."""
        with self._lock:
            return self._db.execute(sql, params, binary).fetchall()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[PgSnapshot]:
        """Reads that all see one moment of the log (see EventLog.snapshot): a REPEATABLE READ
        transaction on a connection of its own."""
        con = psycopg.connect(self.url)
        try:
            con.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield PgSnapshot(Db(con))
        finally:
            con.close()

    def transact(self, work: Callable[[Db], T]) -> T:
        """Run `work(db)` in one write transaction (claims, deletions, leases)."""
        with self._transaction() as db:
            return work(db)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[Db]:
        with self._lock, self._con.transaction():
            yield self._db

    # ----------------------------------------------------------- notifications
    def watch(self, run_id: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback()` (from a listener thread) whenever a decision on the run commits,
        wherever it was made; returns the function that stops it. LISTEN/NOTIFY, no polling."""
        with self._lock:
            if self._listener is None or not self._listener.alive:
                self._listener = _Listener(self.url)
            listener = self._listener
        return listener.add(run_id, callback)


class PgSnapshot:
    """The log as it stood at one moment (`PgEventLog.snapshot`)."""

    def __init__(self, db: Db) -> None:
        self._db = db

    def query(self, sql: str, params: Iterable[object] = ()) -> list[tuple]:
        return self._db.execute(sql, params).fetchall()

    def raw_events(self, run_id: str) -> list[tuple[str, int, str, str, str, str, str]]:
        return self.query(
            "SELECT run_id, seq, at, kind, payload, prev_hash, hash FROM events "
            "WHERE run_id = ? ORDER BY seq",
            (run_id,),
        )


class _Listener:
    """One thread and connection per store LISTENing on the decisions channel."""

    def __init__(self, url: str) -> None:
        self._con = connect(url)
        self._con.execute(f"LISTEN {DECISIONS_CHANNEL}")
        self._lock = threading.Lock()
        self._callbacks: dict[str, list[Callable[[], None]]] = {}
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="prodex-pg-listen", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stopped

    def add(self, run_id: str, callback: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            self._callbacks.setdefault(run_id, []).append(callback)

        def remove() -> None:
            with self._lock:
                found = self._callbacks.get(run_id, [])
                if callback in found:
                    found.remove(callback)
                if not found:
                    self._callbacks.pop(run_id, None)

        return remove

    def stop(self) -> None:
        self._stopped = True  # the loop ends within its one-second wait and closes its connection

    def _loop(self) -> None:
        try:
            while not self._stopped:
                for note in self._con.notifies(timeout=1.0):
                    with self._lock:
                        callbacks = list(self._callbacks.get(note.payload, ()))
                    for callback in callbacks:
                        with contextlib.suppress(Exception):
                            callback()
                    if self._stopped:
                        break
        except psycopg.Error:
            pass  # the connection went: the next watch() starts a new listener
        finally:
            with contextlib.suppress(Exception):
                self._con.close()


def ensure_schema(con: psycopg.Connection) -> None:
    """Create or upgrade the schema once per database, one process at a time."""
    with contextlib.suppress(psycopg.errors.UndefinedTable):
        row = con.execute("SELECT version FROM prodex_schema").fetchone()
        if row is not None and row[0] == VERSION:
            return
    with con.transaction():
        con.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        con.execute(SCRIPT)
