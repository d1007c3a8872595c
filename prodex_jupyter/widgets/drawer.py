"""The derivation drawer: for the node clicked on the canvas, its value, the code that derived
it, the files it came from, the explanation and the gates it passed; or why it has no value.
What it shows comes from `view.drawer`; this widget only draws it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from ..store import RunState
from ..view.canvas import display_states
from ..view.drawer import drawer_html, drawer_title_html

if TYPE_CHECKING:
    from ..runtime import Run


class Drawer(w.VBox):
    """Hidden until a node is chosen; `show(node_id)` opens it, `update(state)` keeps it current."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.node_id: str | None = None
        # classes given at creation: no message of their own (see `RunView`)
        self.title = w.HTML(_dom_classes=("prodex-drawer-title",))
        self.close_button = w.Button(
            description="Close",
            icon="times",
            layout=w.Layout(width="auto", height="28px"),
            _dom_classes=("prodex-drawer-close",),
        )
        self.close_button.on_click(lambda _b: self.hide())
        head = w.HBox(
            [self.title, self.close_button],
            layout=w.Layout(justify_content="space-between"),
            _dom_classes=("prodex-drawer-head",),
        )
        self.body = w.HTML(_dom_classes=("prodex-drawer-body",))
        self._on_hide: list[Callable[[], None]] = []
        self._key: Any = None
        super().__init__(
            [head, self.body], layout=w.Layout(display="none"), _dom_classes=("prodex-drawer",)
        )

    @property
    def is_open(self) -> bool:
        return self.layout.display != "none"

    def on_hide(self, callback: Callable[[], None]) -> None:
        self._on_hide.append(callback)

    def show(self, node_id: str, state: RunState | None = None) -> None:
        self.node_id = node_id
        self._key = None
        self.update(state or self.run.state)
        self.layout.display = "flex"

    def hide(self) -> None:
        self.layout.display = "none"
        self.node_id = None
        for callback in list(self._on_hide):
            callback()

    def update(self, state: RunState) -> None:
        node_id = self.node_id
        if node_id is None or node_id not in state.nodes:
            return
        node = state.nodes[node_id]
        gate = state.gates.get(node.gate_id) if node.gate_id else None
        shown = display_states(state)[node_id]
        # Re-render only when something this drawer shows changed.
        key = (
            node_id,
            shown,
            node_id in state.results,
            gate.status if gate else None,
            len(gate.decisions) if gate else 0,
            node.error,
        )
        if key == self._key:
            return
        self._key = key
        self.title.value = drawer_title_html(state, node_id, shown)
        self.body.value = drawer_html(state, node_id, self.run.store.load_table)
