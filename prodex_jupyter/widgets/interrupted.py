"""The bar a run view shows while its run is interrupted: no process executes it, yet it could go
on (runtime/interruption.py). It says so and offers Resume, which continues the run in this
kernel; a decision made from the view on an interrupted run resumes it the same way."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import ipywidgets as w

from ..view.text import esc

if TYPE_CHECKING:
    from ..runtime import Run

log = logging.getLogger(__name__)


class ResumeBar(w.HBox):
    """Hidden unless the run is interrupted; Resume continues it here."""

    def __init__(self, run: Run, on_resumed: Callable[[], None] | None = None) -> None:
        self.run = run
        self._on_resumed = on_resumed
        self.message = w.HTML()
        self.button = w.Button(
            description="Resume",
            button_style="primary",
            tooltip="Continue the run in this kernel, recomputing nothing stored",
            _dom_classes=("prodex-resume",),
        )
        self.button.on_click(lambda _: self.resume())
        super().__init__(
            [self.message, self.button],
            layout=w.Layout(display="none"),
            _dom_classes=("prodex-interrupted",),
        )
        self.interrupted = False
        self._decisions = _decisions(run)

    def update(self) -> None:
        """Show or hide the bar from the store's leases and the run's state."""
        try:
            interrupted = self.run.interrupted
        except Exception:  # a vanished store: the view says so elsewhere
            interrupted = False
        self.interrupted = interrupted
        if interrupted:
            text = (
                "Interrupted: no process executes this run any more (kernel restarted or the "
                "process stopped), and it could go on."
            )
            self.message.value = f'<span class="prodex-interrupted-text">{esc(text)}</span>'
        display = None if interrupted else "none"
        if self.layout.display != display:
            self.layout.display = display

    def resume(self) -> bool:
        """Continue the run in this kernel; the bar says why when it cannot."""
        try:
            self.run.resume()
        except Exception as exc:
            log.info("prodex: could not resume run %s: %s", self.run.id, exc)
            self.message.value = (
                f'<span class="prodex-error">Could not resume: {esc(str(exc))}</span>'
            )
            return False
        self.update()
        if self._on_resumed is not None:
            self._on_resumed()
        return True

    def after_interaction(self) -> None:
        """A card of this view was used: if a decision was recorded and the run is interrupted
        now, it continues here (a decision on a run nobody executes would otherwise sit)."""
        decisions = _decisions(self.run)
        decided, self._decisions = decisions > self._decisions, decisions
        self.update()
        if decided and self.interrupted:
            self.resume()


def _decisions(run: Run) -> int:
    return sum(len(g.decisions) for g in run.state.gates.values())
