"""The Run Information panel: status, `Gates resolved: k / n`, nodes produced, inputs, times.
What each row shows comes from `view.run_info`; this widget only draws it."""

from __future__ import annotations

import ipywidgets as w

from ..store import RunState
from ..view.run_info import (
    FINAL,
    deleted_status_html,
    elapsed_html,
    gates_text,
    run_info_rows,
)

__all__ = ["FINAL", "RunInfo"]


class RunInfo(w.VBox):
    """A thin view of a run's state; `update(state)` re-renders every row from it."""

    def __init__(self, state: RunState | None = None) -> None:
        # The rows are created with `state`'s values: no update message before the first display.
        rows = run_info_rows(state) if state is not None else {}
        self.title = w.HTML('<div class="prodex-panel-title">Run Information</div>')
        self.status = _row("prodex-status", rows.get("status", ""))
        self.gates = _row("prodex-gates-resolved", rows.get("gates", ""))
        self.nodes = _row("prodex-nodes-produced", rows.get("nodes", ""))
        self.started = _row("prodex-started", rows.get("started", ""))
        self.elapsed = _row("prodex-elapsed", rows.get("elapsed", ""))
        self.inputs = _row("prodex-inputs-consumed", rows.get("inputs", ""))
        self.ids = _row("prodex-run-ids", rows.get("ids", ""))
        super().__init__(
            [
                self.title,
                self.status,
                self.gates,
                self.nodes,
                self.started,
                self.elapsed,
                self.inputs,
                self.ids,
            ],
            _dom_classes=("prodex-run-info",),  # set at creation: no message of its own
        )
        self.status_text = ""
        self.gates_text = ""
        self.nodes_text = ""

    def update(self, state: RunState) -> None:
        self.status_text = state.status
        self.gates_text = gates_text(state)
        self.nodes_text = f"Nodes produced: {len(state.results)} / {len(state.nodes)}"
        for name, html in run_info_rows(state).items():
            _set(getattr(self, name), html)

    def show_deleted(self) -> None:
        """The status row says the run is gone (the other rows show it as it last was)."""
        self.status_text = "deleted"
        _set(self.status, deleted_status_html())

    def update_elapsed(self, state: RunState) -> None:
        """Only the elapsed row (the run view's clock ticks it)."""
        _set(self.elapsed, elapsed_html(state))


def _row(css: str, value: str = "") -> w.HTML:
    return w.HTML(value, _dom_classes=(css,))


def _set(widget: w.HTML, value: str) -> None:
    if widget.value != value:  # unchanged rows send nothing
        widget.value = value
