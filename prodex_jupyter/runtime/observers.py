"""Who wants to hear that a run was started or opened in this process.

The widgets layer subscribes here so that `run = tpl.run()` in a notebook shows the run view,
while the runtime itself never imports a widget (layers point down only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .run import Run

RunOpened = Callable[["Run"], None]
_listeners: list[RunOpened] = []


def on_run_opened(listener: RunOpened) -> RunOpened:
    """Register `listener(run)`, called when a run is started or loaded; usable as a decorator."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def remove_run_opened(listener: RunOpened) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def announce(run: Run) -> None:
    for listener in list(_listeners):
        listener(run)
