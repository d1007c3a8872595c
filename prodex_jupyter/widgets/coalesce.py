"""Coalesce bursts of run events into few renders.

A run of a thousand nodes emits events in quick succession; rendering on each would flood the
front end with messages. `Coalescer.poke()` renders at once when the last render is older than
`interval`, otherwise schedules one render at the end of the interval (on the caller's asyncio
loop when it has one, the kernel's; else on a timer thread) and ignores further pokes until then.
The last poke of a burst is therefore always followed by a render.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable


class Coalescer:
    def __init__(self, render: Callable[[], None], interval: float = 0.1) -> None:
        self._render = render
        self.interval = interval
        self._lock = threading.Lock()
        self._last = 0.0
        self._scheduled = False
        self._closed = False

    def poke(self) -> None:
        with self._lock:
            if self._closed or self._scheduled:
                return
            wait = self._last + self.interval - time.monotonic()
            if wait > 0:
                self._scheduled = True
            else:
                self._last = time.monotonic()
        if wait > 0:
            self._schedule(wait)
        else:
            self._render()

    def close(self) -> None:
        with self._lock:
            self._closed = True

    @property
    def scheduled(self) -> bool:
        return self._scheduled

    def _schedule(self, wait: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            loop.call_later(wait, self._fire)
        else:
            timer = threading.Timer(wait, self._fire)
            timer.daemon = True
            timer.start()

    def _fire(self) -> None:
        with self._lock:
            self._scheduled = False
            if self._closed:
                return
            self._last = time.monotonic()
        self._render()
