"""Who executes a run: one lease per run, held by one process, kept alive by a heartbeat.

A lease row is NOT an event. It is mutable coordination state, kept in its own `leases` table in
the store's SQLite file, next to (never inside) the append-only log: rows are inserted, renewed
(UPDATE) and released (DELETE) freely, are no part of any run record, are not hash-chained, and
`verify` ignores them. Nothing about a run's history can be learned from, or lost with, a lease.

Rules:
- At most one process executes a run at a time: it holds the run's lease. Another process that
  wants to execute the run (`resume`) must acquire the lease, and cannot while it is live.
- A lease is live while its heartbeat is fresh (renewed every `ttl / 4` seconds by a daemon
  thread of the holder; it expires `ttl` seconds after the last renewal, `PRODEX_LEASE_TTL`,
  default 10 s). On the holder's own host a lease whose process has died (SIGKILL included) is
  dead at once, without waiting for the expiry.
- Fencing: the executor's events are appended with `guard(run_id, token)`, which checks in the
  same transaction that the token still holds the lease. An executor that lost its lease (it hung
  past the expiry and someone else took over) cannot write another event to the run.
- Gate decisions are not executor events: anyone may record one at any time; the lease holder
  picks it up.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .event_log import EventLog

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leases (
    run_id       TEXT PRIMARY KEY,
    token        TEXT NOT NULL,
    host         TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    proc_start   TEXT NOT NULL,
    acquired_at  REAL NOT NULL,
    heartbeat_at REAL NOT NULL,
    expires_at   REAL NOT NULL
) WITHOUT ROWID;
"""

HOST = socket.gethostname()


def default_ttl() -> float:
    try:
        return max(0.5, float(os.environ.get("PRODEX_LEASE_TTL", "10")))
    except ValueError:
        return 10.0


def _proc_start(pid: int) -> str:
    """When a process started (Linux: /proc), so a reused pid is not mistaken for the holder."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _pid_alive(pid: int, proc_start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    if proc_start:
        now = _proc_start(pid)
        if now and now != proc_start:
            return False  # the pid was reused by another process
    return True


_MY_START = _proc_start(os.getpid())


class LeaseHeld(RuntimeError):
    """Another live process executes the run."""


class LeaseLost(RuntimeError):
    """This process was executing a run but no longer holds its lease; its writes are refused."""


@dataclass(frozen=True)
class Lease:
    run_id: str
    token: str
    host: str
    pid: int
    proc_start: str
    acquired_at: float
    heartbeat_at: float
    expires_at: float

    def is_live(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        if self.expires_at <= now:
            return False
        if self.host == HOST:
            if self.pid == os.getpid() and self.proc_start == _MY_START:
                return True
            return _pid_alive(self.pid, self.proc_start)
        return True

    @property
    def mine(self) -> bool:
        return self.host == HOST and self.pid == os.getpid() and self.proc_start == _MY_START

    def describe(self) -> str:
        ago = max(0.0, time.time() - self.heartbeat_at)
        where = "this process" if self.mine else f"process {self.pid} on {self.host}"
        return f"{where} (heartbeat {ago:.1f} s ago)"


def ensure_schema(log: EventLog) -> None:
    if not log.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'leases'"):
        log.transact(lambda con: con.execute(_SCHEMA.strip()))


def _row(con: sqlite3.Connection | None, log: EventLog | None, run_id: str) -> Lease | None:
    sql = (
        "SELECT run_id, token, host, pid, proc_start, acquired_at, heartbeat_at, expires_at "
        "FROM leases WHERE run_id = ?"
    )
    if con is not None:
        row = con.execute(sql, (run_id,)).fetchone()
    else:
        assert log is not None
        rows = log.query(sql, (run_id,))
        row = rows[0] if rows else None
    return Lease(*row) if row else None


class Leases:
    """The leases of one store."""

    def __init__(self, log: EventLog, ttl: float | None = None) -> None:
        self.log = log
        self.ttl = ttl if ttl is not None else default_ttl()
        ensure_schema(log)

    def close(self) -> None:
        """Nothing to end: a lease here is a row that the holder's death makes stale."""

    def acquire(self, run_id: str) -> str:
        """Take the run's lease for this process; returns the token. `LeaseHeld` if it is live."""
        token = f"{HOST}:{os.getpid()}:{secrets.token_hex(6)}"

        def work(con: sqlite3.Connection) -> None:
            current = _row(con, None, run_id)
            if current is not None and current.is_live():
                raise LeaseHeld(
                    f"run {run_id} is being executed by {current.describe()}: only one process "
                    "executes a run at a time; decide its gates from anywhere and that process "
                    "picks the decisions up"
                )
            now = time.time()
            con.execute(
                "INSERT OR REPLACE INTO leases (run_id, token, host, pid, proc_start, "
                "acquired_at, heartbeat_at, expires_at) VALUES (?,?,?,?,?,?,?,?)",
                (run_id, token, HOST, os.getpid(), _MY_START, now, now, now + self.ttl),
            )

        self.log.transact(work)
        HEARTBEAT.add(self, run_id, token)
        return token

    def renew(self, run_id: str, token: str) -> bool:
        """Push the expiry out; False when the token no longer holds the lease."""
        now = time.time()

        def work(con: sqlite3.Connection) -> int:
            return con.execute(
                "UPDATE leases SET heartbeat_at = ?, expires_at = ? WHERE run_id = ? AND token = ?",
                (now, now + self.ttl, run_id, token),
            ).rowcount

        return self.log.transact(work) == 1

    def release(self, run_id: str, token: str) -> None:
        HEARTBEAT.discard(run_id, token)
        with contextlib.suppress(sqlite3.Error):  # closing down: the expiry does the rest
            self.log.transact(
                lambda con: con.execute(
                    "DELETE FROM leases WHERE run_id = ? AND token = ?", (run_id, token)
                )
            )

    def holder(self, run_id: str) -> Lease | None:
        """The live lease on a run, or None when no process executes it."""
        lease = _row(None, self.log, run_id)
        return lease if lease is not None and lease.is_live() else None

    def live(self) -> dict[str, Lease]:
        """Every live lease in the store, by run id."""
        rows = self.log.query(
            "SELECT run_id, token, host, pid, proc_start, acquired_at, heartbeat_at, expires_at "
            "FROM leases WHERE expires_at > ?",
            (time.time(),),
        )
        leases = (Lease(*row) for row in rows)
        return {lease.run_id: lease for lease in leases if lease.is_live()}

    def guard(self, run_id: str, token: str) -> Callable[[sqlite3.Connection], None]:
        """A write guard: refuses (LeaseLost) unless `token` still holds the run's lease."""

        def check(con: sqlite3.Connection) -> None:
            row = con.execute("SELECT token FROM leases WHERE run_id = ?", (run_id,)).fetchone()
            if row is None or row[0] != token:
                current = _row(con, None, run_id)
                now = f"now held by {current.describe()}" if current else "nobody holds it now"
                raise LeaseLost(
                    f"run {run_id}: this process no longer holds the run's lease ({now}); "
                    "nothing more was written by it"
                )

        return check

    def refuse_if_live(self, run_id: str, doing: str) -> Callable[[sqlite3.Connection], None]:
        """A write guard: refuses (LeaseHeld) while a live process executes the run."""

        def check(con: sqlite3.Connection) -> None:
            current = _row(con, None, run_id)
            if current is not None and current.is_live():
                raise LeaseHeld(
                    f"cannot {doing} run {run_id}: it is being executed by {current.describe()}; "
                    "wait until it finishes or stop that process first"
                )
            con.execute("DELETE FROM leases WHERE run_id = ?", (run_id,))

        return check


LostCallback = Callable[[str], None]


class _Heartbeat:
    """One daemon thread per process renewing every lease the process holds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[tuple[str, str], tuple[Leases, list[LostCallback]]] = {}
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, leases: Leases, run_id: str, token: str) -> None:
        with self._lock:
            self._held[(run_id, token)] = (leases, [])
            self._wake.set()  # a shorter ttl may need an earlier beat
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="prodex-lease-heartbeat", daemon=True
                )
                self._thread.start()

    def on_lost(self, run_id: str, token: str, callback: LostCallback) -> None:
        with self._lock:
            entry = self._held.get((run_id, token))
            if entry is not None:
                entry[1].append(callback)

    def discard(self, run_id: str, token: str) -> None:
        with self._lock:
            self._held.pop((run_id, token), None)

    def holds(self, run_id: str, token: str) -> bool:
        with self._lock:
            return (run_id, token) in self._held

    def _loop(self) -> None:
        while True:
            with self._lock:
                held = list(self._held.items())
            interval = min((leases.ttl for leases, _ in (v for _, v in held)), default=10.0) / 4
            for (run_id, token), (leases, callbacks) in held:
                try:
                    ok = leases.renew(run_id, token)
                except sqlite3.Error:
                    continue  # the store is busy or closed: try again next beat
                if not ok:
                    self.discard(run_id, token)
                    for callback in callbacks:
                        with contextlib.suppress(Exception):
                            callback(run_id)
            self._wake.wait(interval)
            self._wake.clear()


HEARTBEAT = _Heartbeat()
