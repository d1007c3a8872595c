"""A full disk under the store: recognised wherever it surfaces, and said in words.

SQLite says "database or disk is full", Python's file writes raise ENOSPC, pyarrow wraps the
same errno in its own error. Whatever was committed before stays; what to do is the same every
time: free space (`prodex delete RUN` works on a full disk), then `prodex resume RUN`.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from pathlib import Path

_NO_SPACE = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether `exc`, or an error it was raised from, is a full disk (or a full quota)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            return True
        if isinstance(exc, sqlite3.OperationalError) and (
            getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "disk is full" in str(exc)
        ):
            return True
        if "No space left on device" in str(exc) or "Disk quota exceeded" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def disk_full_message(root: Path, run_id: str | None = None) -> str:
    """What happened and how to go on, for a person at the command line."""
    try:
        free = f"{shutil.disk_usage(root).free // 1024} KiB free"
    except OSError:
        free = "no room left"
    stopped = (
        f" Run {run_id} stopped at its last recorded event; nothing recorded is lost."
        if run_id
        else " Nothing recorded is lost."
    )
    go_on = f"prodex resume {run_id}" if run_id else "prodex resume RUN"
    in_python = f"px.load_run({run_id!r}).resume()" if run_id else "px.load_run(RUN).resume()"
    return (
        f"the disk of the run store {root} is full ({free}).{stopped} Free space (`prodex delete "
        f"RUN` removes a run and the artifacts only it uses, on a full disk too), then continue "
        f"with `{go_on}` (in Python: `{in_python}`)."
    )
