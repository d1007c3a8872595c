"""A throwaway PostgreSQL server for the tests: Debian's server binaries, a cluster in a temporary
folder, listening on a free loopback port, stopped when the session ends.

No mock: the PostgreSQL backend is tested against the real thing. `scripts/ensure-postgresql.sh`
installs the server binaries when they are missing (scripts/test.sh runs it). As root, the
cluster is created and run by the `postgres` user (the server refuses to run as root).
Durability is switched off (fsync, synchronous_commit): a test cluster is thrown away anyway.
The cluster lives in /dev/shm when that has room: every test makes a database (a copy of
template1, ~8 MB), and on disk creating one took ~0.5 s and removing a session's cluster (over
1 GB) ~15 s; in memory, a file copy, ~0.08 s. Each test's databases are dropped after it
(tests/conftest.py), so the cluster stays small.

Every role but one logs in without a password (`trust`); the role `prodex_pw` must give its
password (scram-sha-256), so a test with `url(db, password=True)` shows that whatever the store
hands on (to a worker process, say) still carries the password a team's URL has.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

USER = "prodex"
PASSWORD_USER = "prodex_pw"


def server_binaries() -> Path | None:
    """The newest installed server's bin folder (/usr/lib/postgresql/<major>/bin), or None."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cluster_parent() -> str | None:
    """/dev/shm when it has room for a session's cluster (a container's may have 64 MB), else
    the default temporary folder."""
    shm = "/dev/shm"
    roomy = os.path.isdir(shm) and os.access(shm, os.W_OK)
    return shm if roomy and shutil.disk_usage(shm).free >= 2 * 1024**3 else None


class Server:
    """One running cluster; `url(db)` names a database on it, `create_database()` makes one,
    `drop_databases(since)` drops those made after the first `since`."""

    def __init__(self, bin_dir: Path, folder: Path, port: int) -> None:
        self.bin_dir, self.folder, self.port = bin_dir, folder, port
        self.password = secrets.token_hex(8)
        self.created: list[str] = []
        # PostgreSQL 15 copies template1 through the WAL by default; a file copy is ~2x faster
        major = bin_dir.parts[-2]
        self._strategy = " STRATEGY FILE_COPY" if major.isdigit() and int(major) >= 15 else ""

    def url(self, database: str = "postgres", *, password: bool = False) -> str:
        who = f"{PASSWORD_USER}:{self.password}" if password else USER
        return f"postgresql://{who}@127.0.0.1:{self.port}/{database}"

    def create_database(self, *, password: bool = False) -> str:
        """A new empty database (one per test keeps tests independent); returns its URL, with
        the password of a role that must give it when `password`."""
        import psycopg

        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}{self._strategy}")
        self.created.append(name)
        return self.url(name, password=password)

    def drop_databases(self, since: int) -> None:
        """Drop the databases made after the first `since` (a test's own), closing whatever
        connection to them is still open."""
        import psycopg

        names, self.created[since:] = self.created[since:], []
        if not names:
            return
        with psycopg.connect(self.url(), autocommit=True) as con:
            for name in names:
                con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", "postgres", "--", *argv]


@contextlib.contextmanager
def running_server() -> Iterator[Server]:
    bin_dir = server_binaries()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL server binaries are missing (/usr/lib/postgresql/*/bin/initdb): "
            "run `bash scripts/ensure-postgresql.sh` (scripts/test.sh does)"
        )
    folder = Path(tempfile.mkdtemp(prefix="prodex-pg-", dir=_cluster_parent()))
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
    data, port = folder / "data", _free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                USER,
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        **quiet,
    )
    hba = data / "pg_hba.conf"  # first match wins: the password role's line goes first
    hba.write_text(f"host all {PASSWORD_USER} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    options = (
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    pg_ctl = str(bin_dir / "pg_ctl")
    log = folder / "server.log"
    subprocess.run(
        _as_server_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]),
        **quiet,
    )
    server = Server(bin_dir, folder, port)
    try:
        import psycopg

        with psycopg.connect(server.url(), autocommit=True) as con:
            con.execute(f"CREATE ROLE {PASSWORD_USER} LOGIN SUPERUSER PASSWORD '{server.password}'")
        yield server
    finally:
        subprocess.run(
            _as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)
