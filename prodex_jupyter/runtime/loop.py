"""Where runs execute. In a kernel: the kernel's own event loop, so a Confirm click resumes the run.
Elsewhere (scripts, the command line, tests): one background event-loop thread for the process.
Heavy work (DuckDB, pandas, python nodes) goes to a shared worker pool either way.

The pool's threads are daemon threads, unlike `concurrent.futures`' (which the interpreter joins
at exit): a python node past its time limit cannot be killed, only abandoned, and an abandoned
thread must neither keep the process alive at exit nor take a worker away from other nodes
(`Workers.abandon` starts a replacement).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)


class Workers:
    """A pool of daemon threads taking work from one queue; grows on demand up to `size`."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        # Threads done with their work, counted as in concurrent.futures, but under a plain lock:
        # a threading.Semaphore is Python code, and it was taken and given once per node.
        self._idle = 0
        self._threads = 0
        self._abandoned = 0

    def submit(self, work: Callable[..., Any], *args: Any) -> None:
        self._queue.put((work, args))
        with self._lock:
            if self._idle:
                self._idle -= 1
                return  # a waiting thread takes it
            if self._threads >= self.size + self._abandoned:
                return
            self._threads += 1
            n = self._threads
        threading.Thread(target=self._serve, name=f"{self.name}-{n}", daemon=True).start()

    @property
    def abandoned(self) -> int:
        """How many workers were given up on (python nodes past their time limit)."""
        return self._abandoned

    def abandon(self) -> None:
        """One worker is stuck in work nobody waits for any more: let another take its place."""
        with self._lock:
            self._abandoned += 1

    def _serve(self) -> None:
        while True:
            work, args = self._queue.get()
            try:
                work(*args)
            except BaseException:  # work reports its own errors; never lose the thread
                log.exception("prodex worker: unexpected error")
            work = args = None  # idle, it holds nothing of what it did (a finished run's execution)
            with self._lock:
                self._idle += 1


WORKERS = Workers(min(32, (os.cpu_count() or 2) + 8), "prodex-node")

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
