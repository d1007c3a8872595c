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
from .style import Plain

__all__ = ["FINAL", "RunInfo"]


class RunInfo(w.VBox):
    """A thin view of a run's state; `update(state)` re-renders every row from it."""

    def __init__(self, state: RunState | None = None, plain: Plain | None = None) -> None:
        # The rows are created with `state`'s values: no update message before the first display.
        rows = run_info_rows(state) if state is not None else {}
        plain = plain or Plain()
        self.title = plain.html('<div class="prodex-panel-title">Run Information</div>')
        self.status = plain.html(rows.get("status", ""), "prodex-status")
        self.gates = plain.html(rows.get("gates", ""), "prodex-gates-resolved")
        self.nodes = plain.html(rows.get("nodes", ""), "prodex-nodes-produced")
        self.started = plain.html(rows.get("started", ""), "prodex-started")
        self.elapsed = plain.html(rows.get("elapsed", ""), "prodex-elapsed")
        self.inputs = plain.html(rows.get("inputs", ""), "prodex-inputs-consumed")
        self.ids = plain.html(rows.get("ids", ""), "prodex-run-ids")
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
            layout=plain.layout,
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


def _set(widget: w.HTML, value: str) -> None:
    if widget.value != value:  # unchanged rows send nothing
        widget.value = value
