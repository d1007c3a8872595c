"""The garbage collector while runs execute: what was alive before is left out of its passes.

CPython's full collections walk every object the process tracks. In a kernel that imported
pandas, pyarrow and DuckDB that is some 75,000 objects and 60-100 ms per pass on the development
machine, and a run of 1,000 nodes promotes enough objects to trigger one every few runs: a
quarter of what the engine spent per node (bench/engine.py), for a pass that found nothing to
free (runs leave no cyclic garbage behind). While at least one run of this process is busy,
`gc.freeze()` sets the objects that existed before aside, so a full pass walks only what was
made since; when the last busy run goes quiet, `gc.unfreeze()` gives them back to the oldest
generation, where the next full pass frees any cycle among them that died meanwhile. Young
generations are collected as always, so cyclic garbage a node makes is freed during the run.
A process that froze objects itself (before forking workers, say) is left alone.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()
_busy = 0  # runs of this process between `busy()` and `quiet()`
_froze = False  # whether the frozen objects are ours to give back


def busy() -> None:
    """A run starts working (call `quiet()` once when it stops)."""
    global _busy, _froze
    with _lock:
        _busy += 1
        if _busy == 1 and gc.get_freeze_count() == 0:
            gc.freeze()
            _froze = True


def quiet() -> None:
    """A run stopped working (waits for a decision, ended, or stopped)."""
    global _busy, _froze
    with _lock:
        _busy -= 1
        if _busy == 0 and _froze:
            gc.unfreeze()
            _froze = False
