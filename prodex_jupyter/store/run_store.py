"""The run store: where runs live. An event log plus content-addressed artifacts.

Two backends behind this one class. A path (default `.prodex/` in the working directory;
`PRODEX_STORE` or `PRODEX_HOME` override) is an SQLite store in that folder, its artifacts
beside it (or wherever `artifacts=` says). A `postgresql://` URL (`PRODEX_STORE=postgresql://...`)
is a PostgreSQL store a team shares (store/postgres_*.py), its artifacts in `PRODEX_ARTIFACTS`: a
folder every member reaches, or any URI pyarrow's filesystems open (store/artifacts.py).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa

from . import ledger, run_index
from .artifacts import ArtifactStore, encode_table
from .claims import claim, ensure_claims
from .deletion import Deletion, delete_run
from .event_log import EventLog, Guard
from .events import Event, RunCreated, StoredEvent
from .leases import Leases
from .ledger import Tombstone
from .run_index import ensure_index
from .state import RunFold, RunState
from .urls import is_postgres_url, redacted


class RunNotFound(LookupError):
    pass


class RunStore:
    """Runs, their events and their artifacts. Safe to open from several processes at once."""

    def __init__(self, root: str | Path | None = None, *, artifacts: str | Path | None = None):
        """`artifacts`: a folder or a pyarrow filesystem URI (`s3://bucket/prefix`, ...)."""
        where = store_root(root)
        if isinstance(where, str):  # a PostgreSQL URL
            self._open_postgres(where, artifacts or os.environ.get("PRODEX_ARTIFACTS"))
            return
        self.root: Path | str = where
        self.log: Any = EventLog(where / "events.sqlite", derive=run_index.derive)
        self.artifacts = ArtifactStore(artifacts or where / "artifacts")
        self.index: Any = run_index  # runs list and artifact references (store/run_index.py)
        ensure_index(self.log)
        ensure_claims(self.log)  # artifacts a run stored before its event names them
        self.leases: Any = Leases(self.log)  # who executes which run (store/leases.py)

    def _open_postgres(self, url: str, shared: str | Path | None) -> None:
        from . import postgres_index
        from .postgres_leases import PgLeases
        from .postgres_log import PgEventLog

        if not shared:
            raise ValueError(
                f"the PostgreSQL store {redacted(url)} keeps its artifacts in a folder every "
                "member of the team reaches, or under a URI pyarrow's filesystems open "
                "(s3://bucket/prefix, ...): set PRODEX_ARTIFACTS (or pass artifacts=)"
            )
        self.artifacts = ArtifactStore(shared)  # first: an unreachable one opens no connection
        self.log = PgEventLog(url)
        self.root = self.log.path
        self.index = postgres_index
        self.leases = PgLeases(self.log)

    def __repr__(self) -> str:
        return f"RunStore({str(self.root)!r})"

    def close(self) -> None:
        """Close the store's connections (for PostgreSQL: log, notifications, lease session,
        so the server does not keep them until the process ends) and forget it as the shared
        store of its location. Leases held through it end. Opening it again is always possible."""
        with _OPEN_LOCK:
            for key in [k for k, v in _OPEN.items() if v is self]:
                del _OPEN[key]
        self.leases.close()
        self.log.close()

    @property
    def location(self) -> str:
        """Where to open this store again (`RunStore(store.location)`, another process's
        `--store`): its folder, or its whole URL. Unlike `root` it keeps a URL's password, so it
        is for handing to a process (in its environment, not on a command line) and never for
        messages."""
        return str(self.log.url if self.log.dialect == "postgresql" else self.root)

    def watch(self, run_id: str, callback: Callable[[], None]) -> Callable[[], None] | None:
        """Have `callback()` called (from another thread) when a decision on the run is recorded
        anywhere; returns the function that stops it. None when the backend cannot notify (SQLite:
        the executor re-reads the store on a timer instead)."""
        if self.log.dialect != "postgresql":
            return None
        return self.log.watch(run_id, callback)

    # ---------------------------------------------------------------- writing
    def create_run(self, created: RunCreated) -> StoredEvent:
        run_id = new_run_id()
        return self.log.create_run(run_id, created.template_id, created.fingerprint, created)

    def append(
        self,
        run_id: str,
        *events: Event,
        expect_last: int | None = None,
        guard: Guard | None = None,
    ) -> list[StoredEvent]:
        return self.log.append(run_id, events, expect_last=expect_last, guard=guard)

    def delete_run(self, run_id: str, *, by: str | None = None, reason: str = "") -> Deletion:
        """Delete a whole run: its events and the artifacts no other run uses, leaving a tombstone
        (`by`, default $PRODEX_USER or the OS user, @host; `reason`). Refused (LeaseHeld) while a
        live process executes it. The one deletion there is (see store/deletion.py)."""
        return delete_run(self, run_id, by=by, reason=reason)

    def put_table(self, table: pa.Table, run_id: str) -> str:
        """Store a table as an artifact of `run_id`; returns its content hash."""
        return self.put_bytes(encode_table(table), run_id)

    def put_bytes(self, data: bytes, run_id: str) -> str:
        """Store bytes as an artifact of `run_id`, claimed so that deleting another run that
        shares it cannot remove it before the run's event names it (store/claims.py)."""
        sha = self.artifacts.put_bytes(data)
        claim(self.log, sha, run_id)
        if not self.artifacts.exists(sha):  # a deletion removed it just before the claim
            self.artifacts.put_bytes(data)
        return sha

    def put_file(self, tmp: Path, sha256: str, run_id: str) -> None:
        """Store a file written by `artifacts.temp_path()` as the artifact
        `sha256` of `run_id`; claimed first, so no deletion can remove it once it is in place."""
        claim(self.log, sha256, run_id)
        self.artifacts.put_file(tmp, sha256)

    def load_table(self, sha256: str) -> pa.Table:
        return self.artifacts.get_table(sha256)

    # ---------------------------------------------------------------- reading
    def events(self, run_id: str, after: int = -1) -> list[StoredEvent]:
        return self.log.events(run_id, after)

    def state(self, run_id: str) -> RunState:
        """A run's state folded from its events."""
        fold = self.fold(run_id)
        return fold.snapshot()

    def fold(self, run_id: str) -> RunFold:
        events = self.log.events(run_id)
        if not events:
            raise RunNotFound(f"no run {run_id!r} in the store at {self.root}")
        fold = RunFold(loader=self.load_table)
        for stored in events:
            fold.apply(stored)
        return fold

    def run_ids(self, template_id: str | None = None) -> list[str]:
        return self.log.run_ids(template_id)

    def tombstones(self, run_id: str | None = None) -> list[Tombstone]:
        """What deleting runs left (only `run_id`'s, when given), oldest first."""
        entries = ledger.entries(self.log.query, run_id)
        return [Tombstone.of(e) for e in entries if e.kind == ledger.DELETED]

    def last_confirmed_evidence(
        self, template_id: str, gate_id: str, *, exclude_run: str | None = None
    ) -> dict | None:
        """Evidence of the newest other run of the template whose same gate stands confirmed.

        The checker compares against it (drift). Newest run first, reading only gate events, so
        the cost is the number of runs since that gate was last confirmed, not the store's size.
        """
        runs = self.log.query(
            "SELECT run_id FROM runs WHERE template_id = ? ORDER BY created_at DESC", (template_id,)
        )
        for (run_id,) in runs:
            if run_id == exclude_run:
                continue
            evidence, status = None, None
            rows = self.log.query(
                "SELECT kind, payload FROM events WHERE run_id = ? "
                "AND kind IN ('gate_posed', 'gate_decided') ORDER BY seq",
                (run_id,),
            )
            for kind, payload in rows:
                data = json.loads(payload)
                if data["gate_id"] != gate_id:
                    continue
                if kind == "gate_posed":
                    evidence = data["evidence"]
                else:
                    status = data["decision"]
            if evidence is not None and status == "confirmed":
                return evidence
        return None


def store_root(root: str | Path | None = None) -> Path | str:
    """The store's location: as given, else $PRODEX_STORE, else $PRODEX_HOME, else ./.prodex. A
    folder as an absolute path; a PostgreSQL URL as the text it is."""
    where = root or os.environ.get("PRODEX_STORE") or os.environ.get("PRODEX_HOME") or ".prodex"
    return str(where) if is_postgres_url(str(where)) else Path(where).resolve()


def new_run_id() -> str:
    """Sortable by start time, unique across processes."""
    now = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"run-{now}-{secrets.token_hex(3)}"


def close_stores(where: str | None = None) -> None:
    """Close the shared stores `open_store` keeps in this process: the one of a PostgreSQL URL,
    or all of them."""
    with _OPEN_LOCK:
        found = [v for k, v in _OPEN.items() if where is None or k[1] == where]
    for store in found:
        store.close()


def open_store(store: RunStore | str | Path | None = None) -> RunStore:
    """A store from what a caller handed in: a RunStore, a folder or URL, or None for the default.

    A PostgreSQL store named by its URL is opened once per process and artifacts folder, and
    shared: its connections (log, leases, notifications) cost 50 ms to open, more than a small
    run takes (bench/store_backends.py)."""
    if isinstance(store, RunStore):
        return store
    where = store_root(store)
    if not isinstance(where, str):
        return RunStore(where)
    key = (os.getpid(), where, os.environ.get("PRODEX_ARTIFACTS"))
    with _OPEN_LOCK:
        if key not in _OPEN:
            _OPEN[key] = RunStore(where)
        return _OPEN[key]


_OPEN: dict[tuple[int, str, str | None], RunStore] = {}
_OPEN_LOCK = threading.Lock()
