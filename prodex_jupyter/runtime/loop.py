"""Where runs execute. In a kernel: the kernel's own event loop, so a Confirm click resumes the run.
Elsewhere (scripts, the command line, tests): one background event-loop thread for the process.
Heavy work (DuckDB, pandas, python nodes) goes to a shared worker pool either way.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

WORKERS = ThreadPoolExecutor(
    max_workers=min(32, (os.cpu_count() or 2) + 8), thread_name_prefix="prodex-node"
)

_lock = threading.Lock()
_background: asyncio.AbstractEventLoop | None = None


def caller_loop() -> asyncio.AbstractEventLoop | None:
    """The loop running in this thread (a kernel cell has one), or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def background_loop() -> asyncio.AbstractEventLoop:
    """The process's background loop thread, started on first use."""
    global _background
    with _lock:
        if _background is None:
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="prodex-runs", daemon=True)
            thread.start()
            _background = loop
            atexit.register(_shutdown, loop)
        return _background


def _shutdown(loop: asyncio.AbstractEventLoop) -> None:
    """At exit, cancel runs still waiting for decisions (their records are complete as they are)."""

    async def cancel_all() -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    with contextlib.suppress(Exception):  # exiting anyway
        asyncio.run_coroutine_threadsafe(cancel_all(), loop).result(timeout=5)
    loop.call_soon_threadsafe(loop.stop)
