"""Who executes a run, on PostgreSQL: a session advisory lock, which the server releases by itself
when the holder's connection ends (the process exits, is killed, or its machine goes away), so a
killed executor's run can be resumed at once, from any machine, with no expiry to wait for.

The same rules as store/leases.py, other means: each store object keeps one connection for its
leases and holds one advisory lock per run it executes (key: `hashtextextended(run_id, 0)`); a
`leases` row says who (token, host, pid) and which server backend holds it. A lease is live while
that backend holds the lock (`pg_locks`), which is what `holder`, `live` and the write guards ask.
Fencing is the same: the executor's appends are guarded by its token in the append transaction.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Callable

import psycopg

from .leases import _MY_START, HEARTBEAT, HOST, Lease, LeaseHeld, LeaseLost, default_ttl
from .postgres_log import Db, PgEventLog, connect

# The lease rows whose backend holds the run's advisory lock now (bigint locks: objsubid 1).
_LIVE = """SELECT l.run_id, l.token, l.host, l.pid, l.proc_start, l.acquired_at
FROM leases l
WHERE {where} EXISTS (
    SELECT 1 FROM pg_locks k
    WHERE k.locktype = 'advisory' AND k.granted AND k.objsubid = 1 AND k.pid = l.backend_pid
      AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND ((k.classid::bigint << 32) | k.objid::bigint) = hashtextextended(l.run_id, 0)
)"""


def _lease(row: tuple) -> Lease:
    run_id, token, host, pid, proc_start, acquired_at = row
    now = time.time()
    return Lease(run_id, token, host, pid, proc_start, acquired_at, now, float("inf"))


class PgLeases:
    """The leases of one PostgreSQL store."""

    def __init__(self, log: PgEventLog, ttl: float | None = None) -> None:
        self.log = log
        self.ttl = ttl if ttl is not None else default_ttl()  # how often the heartbeat checks
        self._lock = threading.Lock()
        self._session: psycopg.Connection | None = None
        self._held: dict[str, str] = {}

    def _connection(self) -> psycopg.Connection:
        if self._session is None or self._session.closed:
            self._session = connect(self.log.url)
            self._held.clear()  # a new session holds no lock
        return self._session

    def close(self) -> None:
        """End the session: PostgreSQL releases every lease it held (as when a holder dies)."""
        with self._lock:
            if self._session is not None:
                self._session.close()
            self._session = None
            self._held.clear()

    def acquire(self, run_id: str) -> str:
        """Take the run's lease for this process; returns the token. `LeaseHeld` if it is live."""
        token = f"{HOST}:{os.getpid()}:{secrets.token_hex(6)}"
        with self._lock:
            if run_id in self._held:
                raise LeaseHeld(self._held_message(run_id, self.holder(run_id)))
            session = self._connection()
            got = session.execute(
                "SELECT pg_try_advisory_lock(hashtextextended(%s, 0)), pg_backend_pid()",
                (run_id,),
            ).fetchone()
            if not got[0]:
                raise LeaseHeld(self._held_message(run_id, self.holder(run_id)))
            self._held[run_id] = token
            backend = got[1]
        self.log.transact(
            lambda db: db.execute(
                "INSERT INTO leases (run_id, token, host, pid, proc_start, backend_pid, "
                "acquired_at) VALUES (?,?,?,?,?,?,?) ON CONFLICT (run_id) DO UPDATE SET "
                "token = excluded.token, host = excluded.host, pid = excluded.pid, "
                "proc_start = excluded.proc_start, backend_pid = excluded.backend_pid, "
                "acquired_at = excluded.acquired_at",
                (run_id, token, HOST, os.getpid(), _MY_START, backend, time.time()),
            )
        )
        HEARTBEAT.add(self, run_id, token)
        return token

    def renew(self, run_id: str, token: str) -> bool:
        """Nothing to push out: True while this token's lock is still held (the heartbeat thread
        asks, so an executor that lost its connection learns it between writes too)."""
        try:
            rows = self.log.query(
                _LIVE.format(where="l.run_id = ? AND l.token = ? AND"), (run_id, token)
            )
        except psycopg.Error:
            return True  # the store is unreachable now: the write guard decides
        return bool(rows)

    def release(self, run_id: str, token: str) -> None:
        HEARTBEAT.discard(run_id, token)
        with self._lock:
            if self._held.get(run_id) != token:
                return
            del self._held[run_id]
            with contextlib.suppress(psycopg.Error):
                self.log.transact(
                    lambda db: db.execute(
                        "DELETE FROM leases WHERE run_id = ? AND token = ?", (run_id, token)
                    )
                )
                self._connection().execute(
                    "SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (run_id,)
                )

    def holder(self, run_id: str) -> Lease | None:
        """The live lease on a run, or None when no process executes it."""
        rows = self.log.query(_LIVE.format(where="l.run_id = ? AND"), (run_id,))
        return _lease(rows[0]) if rows else None

    def live(self) -> dict[str, Lease]:
        """Every live lease in the store, by run id."""
        return {row[0]: _lease(row) for row in self.log.query(_LIVE.format(where=""))}

    def guard(self, run_id: str, token: str) -> Callable[[Db], None]:
        """A write guard: refuses (LeaseLost) unless `token` still holds the run's lease."""

        def check(db: Db) -> None:
            sql = _LIVE.format(where="l.run_id = ? AND l.token = ? AND")
            if db.execute(sql, (run_id, token)).fetchone() is None:
                row = db.execute(_LIVE.format(where="l.run_id = ? AND"), (run_id,)).fetchone()
                now = f"now held by {_lease(row).describe()}" if row else "nobody holds it now"
                raise LeaseLost(
                    f"run {run_id}: this process no longer holds the run's lease ({now}); "
                    "nothing more was written by it"
                )

        return check

    def refuse_if_live(self, run_id: str, doing: str) -> Callable[[Db], None]:
        """A write guard: refuses (LeaseHeld) while a live process executes the run."""

        def check(db: Db) -> None:
            row = db.execute(_LIVE.format(where="l.run_id = ? AND"), (run_id,)).fetchone()
            if row is not None:
                raise LeaseHeld(
                    f"cannot {doing} run {run_id}: it is being executed by "
                    f"{_lease(row).describe()}; wait until it finishes or stop that process first"
                )
            db.execute("DELETE FROM leases WHERE run_id = ?", (run_id,))

        return check

    def _held_message(self, run_id: str, current: Lease | None) -> str:
        who = current.describe() if current is not None else "another process"
        return (
            f"run {run_id} is being executed by {who}: only one process executes a run at a "
            "time; decide its gates from anywhere and that process picks the decisions up"
        )
