"""The canvas: the run's DAG in ipycytoscape, nodes styled by kind and state, gates as badges.

Built once per view in one batch (every node and edge widget created with its state, the graph's
lists sent in one message), then updated incrementally: each batch of run events changes the
`classes` (and, for outputs, the label) of the nodes whose look changed, nothing else.

Positions come from `graph_layout` (a left-to-right layered layout computed here), so the view
can open at a readable zoom on the node that needs attention. ipycytoscape sends no viewport
back from the browser; the viewport is set through the `preset` layout's zoom and pan (or fit),
which the front end applies whenever `cytoscape_layout` changes and again whenever it draws
the widget anew. The mouse wheel scrolls the notebook, as everywhere else in it; zooming is by
the toolbar's buttons, panning by dragging.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import ipycytoscape
import ipywidgets as w

from ..runtime import prompt_queue
from ..store import RunState
from . import badges
from .graph_layout import NODE_H, NODE_W, Layout, layered_layout

KINDS = {
    "source": "source",
    "sql": "transformation",
    "python": "transformation",
    "output": "output",
}
STATES = ("waiting", "running", "produced", "blocked", "failed")

# Readable zoom: node labels are 12 px, so at 1.0 they read at 12 px on screen.
READABLE_ZOOM = 1.0
MIN_ZOOM = 0.08
MAX_ZOOM = 2.0
ZOOM_STEP = 1.35
# Where a focused node lands: this far from the canvas' left edge (the canvas' width is not
# known in the kernel), vertically centred. Downstream work is to its right.
ANCHOR_X = 330.0
PADDING = 18
SMALL_GRAPH = 40  # nodes; up to this many (and few ranks) the whole graph is shown fitted
MAX_FIT_RANKS = 6
MAX_HEIGHT = 520
MIN_HEIGHT = 340
HEIGHT_STEP = 20  # heights come in steps, each with a CSS rule (see `style.py`)

FONT_SIZE = 12
FONT = (
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Noto Sans', "
    "'Liberation Sans', sans-serif"
)
TEXT = "#1e293b"
MUTED = "#64748b"
KIND_COLOURS = {
    # kind: (border, fill when produced)
    "source": ("#047857", "#d1fae5"),
    "sql": ("#1d4ed8", "#dbeafe"),
    "python": ("#1d4ed8", "#dbeafe"),
    "output": ("#6d28d9", "#ede9fe"),
}
SHAPES = {"source": "barrel", "sql": "round-rectangle", "python": "round-rectangle"}
SHAPES["output"] = "round-tag"
AMBER = "#d97706"
RED = "#b91c1c"
BLUE = "#2563eb"


def display_states(state: RunState) -> dict[str, str]:
    """Each node's canvas state (waiting / running / produced / blocked / failed) in one pass.

    The same answer as `runtime.display_state` node by node, in O(nodes + edges) for the whole
    graph (a 1000-node run re-renders this on every batch of events).
    """
    nodes = state.nodes
    stops: dict[str, bool] = {}  # does this node stop what is downstream of it?
    for node_id, node in nodes.items():
        gate = state.gates.get(node.gate_id) if node.gate_id else None
        stops[node_id] = node.state == "failed" or (
            node.state == "produced" and gate is not None and gate.status != "confirmed"
        )
    blocked: dict[str, bool] = {}

    def above(node_id: str) -> bool:
        if node_id not in blocked:
            blocked[node_id] = False  # a DAG; this only guards against a malformed record
            blocked[node_id] = any(stops[u] or above(u) for u in nodes[node_id].upstream)
        return blocked[node_id]

    out = {}
    for node_id, node in nodes.items():
        if node.state in ("running", "produced", "failed"):
            out[node_id] = node.state
        else:
            out[node_id] = "blocked" if above(node_id) else "waiting"
    return out


def attention_nodes(state: RunState) -> list[str]:
    """Nodes whose gate is in the prompt queue now: what a person must look at."""
    return [g.node_id for prompt in prompt_queue(state) for g in prompt.gates]


def node_classes(
    state: RunState,
    node_id: str,
    shown: str,
    attention: set[str],
    selected: str | None = None,
) -> str:
    node = state.nodes[node_id]
    classes = ["prodex-node", f"k-{node.kind}", f"st-{shown}"]
    if shown == "produced":
        # cytoscape 3.21 (in ipycytoscape 1.3.3) matches no selector of two classes
        # (`.st-produced.k-sql`): the fill of a produced node gets a class of its own.
        classes.append(f"done-{node.kind}")
    if node.gate_id:
        gate = state.gates.get(node.gate_id)
        classes += ["gated", f"g-{gate.status if gate else 'not_reached'}"]
    if node_id in attention:
        classes.append("attention")
    if node_id == selected:
        classes.append("selected")
    return " ".join(classes)


def node_label(state: RunState, node_id: str) -> str:
    node = state.nodes[node_id]
    room = NODE_W - (32 if node.kind == "output" else 16)
    name = fit_text(node_id, room, FONT_SIZE)
    result = state.results.get(node_id)
    if node.kind == "output" and result is not None:
        second = (
            f"= {_short_value(result.value)}"
            if result.value_kind == "scalar"
            else (f"= table, {result.rows:,} rows" if result.rows is not None else "= table")
        )
    elif node.kind == "source":
        second = "source · " + _source_format(state, node_id)
    else:
        second = {"sql": "SQL", "python": "Python", "output": "output"}.get(node.kind, node.kind)
    return f"{name}\n{second}"


# Approximate advance widths (in em) of a common sans-serif (DejaVu Sans, the widest of the
# usual ones), to shorten labels that would spill out of their node.
_NARROW = set("fijlrt.,:;'|!()[] ")
_WIDE = set("mwMW@%")


def text_width(text: str, size: float) -> float:
    em = 0.0
    for ch in text:
        if ch in _NARROW:
            em += 0.36
        elif ch in _WIDE:
            em += 0.95
        elif ch.isupper() or ch.isdigit():
            em += 0.68
        else:
            em += 0.58
    return em * size


def fit_text(text: str, room: float, size: float) -> str:
    if text_width(text, size) <= room:
        return text
    while text and text_width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def _source_format(state: RunState, node_id: str) -> str:
    for spec in state.template.get("nodes", ()):
        if spec.get("id") == node_id:
            fmt = spec.get("format")
            path = spec.get("path") or ""
            if not fmt and "." in path:
                fmt = path.rsplit(".", 1)[-1]
            return (fmt or "DataFrame").lower()
    return "input"


def _short_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "NaN"
        if abs(value) >= 1e6 or (value and abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:,.4g}" if abs(value) >= 1000 else f"{round(value, 4):g}"
    text = str(value)
    return text if len(text) <= 16 else text[:15] + "…"


def stylesheet() -> list[dict[str, Any]]:
    """The cytoscape style: shape and colour by kind, state by fill and border, gate badges."""
    style: list[dict[str, Any]] = [
        {
            "selector": "node",
            "style": {
                "width": NODE_W,
                "height": NODE_H,
                "shape": "round-rectangle",
                "label": "data(label)",
                "text-wrap": "wrap",
                "text-max-width": NODE_W - 24,
                "text-valign": "center",
                "text-halign": "center",
                "font-family": FONT,
                "font-size": FONT_SIZE,
                "line-height": 1.3,
                "color": TEXT,
                "background-color": "#ffffff",
                "border-width": 1.5,
                "border-color": "#94a3b8",
                "underlay-opacity": 0,
            },
        },
        {
            "selector": "edge",
            "style": {
                "width": 1.6,
                "line-color": "#94a3b8",
                "target-arrow-color": "#94a3b8",
                "target-arrow-shape": "triangle",
                "arrow-scale": 0.9,
                "curve-style": "bezier",
            },
        },
    ]
    for kind, (border, _fill) in KIND_COLOURS.items():
        style.append(
            {
                "selector": f"node.k-{kind}",
                "style": {"shape": SHAPES[kind], "border-color": border},
            }
        )
    style += [
        {"selector": "node.k-output", "style": {"text-margin-x": -7}},
        {
            "selector": "node.st-waiting",
            "style": {"border-style": "dashed", "color": MUTED, "background-color": "#ffffff"},
        },
        {
            "selector": "node.st-running",
            "style": {
                "border-color": BLUE,
                "border-width": 3,
                "border-style": "solid",
                "background-color": "#eff6ff",
                "underlay-color": BLUE,
                "underlay-padding": 5,
                "underlay-opacity": 0.15,
            },
        },
    ]
    for kind, (_border, fill) in KIND_COLOURS.items():
        style.append(
            {
                "selector": f"node.done-{kind}",
                "style": {"background-color": fill, "border-width": 2},
            }
        )
    style += [
        {
            "selector": "node.st-blocked",
            "style": {
                "border-style": "dotted",
                "border-color": "#94a3b8",
                "border-width": 2,
                "background-color": "#f1f5f9",
                "color": MUTED,
            },
        },
        {
            "selector": "node.st-failed",
            "style": {
                "border-color": RED,
                "border-width": 3,
                "border-style": "solid",
                "background-color": "#fee2e2",
                "color": "#7f1d1d",
            },
        },
        {
            # The badge straddles the node's top-left corner, like a tag, so the label keeps
            # the node's whole width.
            "selector": "node.gated",
            "style": {
                "background-image": badges.badge_uri("not_reached"),
                "background-width": badges.WIDTH,
                "background-height": badges.HEIGHT,
                "background-fit": "none",
                "background-clip": "none",
                "background-image-containment": "over",
                "background-position-x": 8,
                "background-position-y": 0,
                "background-offset-y": -badges.HEIGHT / 2 - 1,
                "background-image-opacity": 1,
                "bounds-expansion": badges.HEIGHT,
            },
        },
    ]
    for status in ("pending", "confirmed", "rejected"):
        rule: dict[str, Any] = {"background-image": badges.badge_uri(status)}
        if status == "rejected":
            rule.update({"border-color": RED, "border-width": 2.5})
        style.append({"selector": f"node.g-{status}", "style": rule})
    style += [
        {
            "selector": "node.attention",
            "style": {
                "border-color": AMBER,
                "border-width": 4,
                "border-style": "solid",
                "underlay-color": "#f59e0b",
                "underlay-padding": 10,
                "underlay-opacity": 0.3,
                "underlay-shape": "round-rectangle",
                "font-weight": "bold",
                "z-index": 10,
            },
        },
        {
            "selector": "node.selected",
            "style": {
                "underlay-color": BLUE,
                "underlay-padding": 8,
                "underlay-opacity": 0.28,
                "underlay-shape": "round-rectangle",
            },
        },
    ]
    return style


class RunCanvas(w.VBox):
    """The DAG of one run: a toolbar (fit, zoom, focus) over an ipycytoscape graph."""

    def __init__(self, state: RunState, *, height: int | None = None) -> None:
        self._order = list(state.nodes)
        self.positions: Layout = layered_layout(
            self._order, {n: state.nodes[n].upstream for n in self._order}
        )
        self._small = len(self._order) <= SMALL_GRAPH and self.positions.n_ranks <= MAX_FIT_RANKS
        self.height = _step(height) if height else self._height()
        self.selected: str | None = None
        self._click_handlers: list[Callable[[str], None]] = []
        self._view: dict[str, Any] = {"mode": "fit" if self._small else "auto"}
        self._target: str | None = None
        self._layout_version = 0

        self.graph = ipycytoscape.CytoscapeWidget(
            layout=w.Layout(height=f"{self.height}px", width="100%"),
            min_zoom=MIN_ZOOM,
            max_zoom=MAX_ZOOM,
            user_zooming_enabled=False,
            box_selection_enabled=False,
            auto_ungrabify=True,
            auto_unselectify=True,
            cytoscape_style=stylesheet(),
        )
        self.graph.add_class("prodex-canvas")
        # The front end lays the graph out as soon as the widget is attached, before its Layout
        # height applies (ipycytoscape's CSS says 400px): a fit then misses. A CSS class sets
        # the height from the first frame.
        self.graph.add_class(f"prodex-h-{self.height}")
        self._nodes: dict[str, ipycytoscape.Node] = {}
        self._build(state)
        self.graph.on("node", "click", self._clicked)

        self.fit_button = _tool("Fit", "expand", "Show the whole graph", "prodex-fit")
        self.zoom_out_button = _tool("", "search-minus", "Zoom out", "prodex-zoom-out")
        self.zoom_in_button = _tool("", "search-plus", "Zoom in", "prodex-zoom-in")
        self.focus_button = _tool(
            "Focus pending", "crosshairs", "Centre on the gate waiting for you", "prodex-focus"
        )
        self.fit_button.on_click(lambda _b: self.fit())
        self.zoom_in_button.on_click(lambda _b: self.zoom(ZOOM_STEP))
        self.zoom_out_button.on_click(lambda _b: self.zoom(1 / ZOOM_STEP))
        self.focus_button.on_click(lambda _b: self.focus())
        self.legend = w.HTML(_legend())
        self.legend.add_class("prodex-legend")
        toolbar = w.HBox(
            [
                self.fit_button,
                self.zoom_out_button,
                self.zoom_in_button,
                self.focus_button,
                self.legend,
            ],
            layout=w.Layout(align_items="center", flex_flow="row wrap"),
        )
        toolbar.add_class("prodex-canvas-toolbar")
        super().__init__([toolbar, self.graph])
        self.add_class("prodex-canvas-panel")
        self._apply_view(state)

    # ------------------------------------------------------------------ build
    def _height(self) -> int:
        if not self._small:
            return MAX_HEIGHT
        wanted = self.positions.height + 2 * PADDING + 60
        steps = -(-int(wanted) // HEIGHT_STEP)
        return min(MAX_HEIGHT, max(MIN_HEIGHT, steps * HEIGHT_STEP))

    def _build(self, state: RunState) -> None:
        """Every node and edge widget is created with its full state (one message each), and
        the graph's node and edge lists reach the front end in one message."""
        shown = display_states(state)
        attention = set(attention_nodes(state))
        nodes = []
        for node_id in self._order:
            x, y = self.positions.positions[node_id]
            node = ipycytoscape.Node(
                data={
                    "id": node_id,
                    "label": node_label(state, node_id),
                    "kind": state.nodes[node_id].kind,
                },
                classes=node_classes(state, node_id, shown[node_id], attention),
                position={"x": x, "y": y},
                grabbable=False,
                pannable=True,
                selectable=False,
            )
            self._nodes[node_id] = node
            nodes.append(node)
        edges = [
            ipycytoscape.Edge(
                data={"id": f"{u}->{node_id}", "source": u, "target": node_id},
                classes="directed",
                pannable=True,
                selectable=False,
            )
            for node_id in self._order
            for u in state.nodes[node_id].upstream
        ]
        with self.graph.graph.hold_sync():
            self.graph.graph.add_nodes(nodes)
            self.graph.graph.add_edges(edges, directed=True)

    # ----------------------------------------------------------------- update
    def update(self, state: RunState) -> int:
        """Restyle the nodes whose look changed; returns how many changed."""
        shown = display_states(state)
        attention_list = attention_nodes(state)
        attention = set(attention_list)
        changed = 0
        for node_id in self._order:
            node = self._nodes[node_id]
            classes = node_classes(state, node_id, shown[node_id], attention, self.selected)
            label = node_label(state, node_id)
            if classes == node.classes and label == node.data.get("label"):
                continue
            changed += 1
            with node.hold_sync():
                if classes != node.classes:
                    node.classes = classes
                if label != node.data.get("label"):
                    node.data = {**node.data, "label": label}
        self._follow(state, shown, attention_list)
        return changed

    @property
    def node_class_map(self) -> dict[str, str]:
        return {node_id: node.classes for node_id, node in self._nodes.items()}

    # ------------------------------------------------------------------ clicks
    def on_node_click(self, handler: Callable[[str], None]) -> None:
        self._click_handlers.append(handler)

    def _clicked(self, event: Mapping[str, Any]) -> None:
        node_id = (event.get("data") or {}).get("id")
        if node_id in self._nodes:
            self.click(node_id)

    def click(self, node_id: str) -> None:
        """What a click on a node does: select it and tell the handlers (the drawer)."""
        for handler in list(self._click_handlers):
            handler(node_id)

    def select(self, node_id: str | None) -> None:
        """Mark the node the drawer shows (a blue halo); None clears it."""
        previous, self.selected = self.selected, node_id
        for changed in {previous, node_id} - {None}:
            node = self._nodes.get(changed)  # type: ignore[arg-type]
            if node is None:
                continue
            parts = [c for c in node.classes.split() if c != "selected"]
            if changed == node_id:
                parts.append("selected")
            node.classes = " ".join(parts)

    # ---------------------------------------------------------------- viewport
    def fit(self) -> None:
        """Show the whole graph (labels may be too small to read on a large one)."""
        self._view = {"mode": "fit"}
        self._send_layout({"fit": True, "padding": PADDING})

    def zoom(self, factor: float) -> None:
        """Zoom about the focused point (the node last focused, or the graph's middle)."""
        view = self._view
        if view["mode"] == "fit":
            zoom = self._fit_zoom_estimate()
            cx = self.positions.width / 2 - NODE_W / 2
            cy = self.positions.height / 2 - NODE_H / 2
        else:
            zoom, cx, cy = view["zoom"], view["x"], view["y"]
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom * factor))
        self._show(cx, cy, zoom, mode="manual")

    def focus(self, node_id: str | None = None) -> None:
        """Centre on `node_id`, or on what needs attention (the pending gate), at a readable
        zoom; the view then follows the next gate that needs a decision."""
        target = node_id or self._target
        if target is None:
            self._show_start("auto")
            return
        x, y = self.positions.positions[target]
        zoom = self._view.get("zoom", READABLE_ZOOM) if self._view["mode"] != "fit" else None
        self._show(x, y, max(READABLE_ZOOM, zoom or READABLE_ZOOM), mode="auto")

    @property
    def viewport(self) -> dict[str, Any]:
        """What the canvas was last told to show: {'mode': 'fit'} or the zoom and centre."""
        return dict(self._view)

    def _apply_view(self, state: RunState) -> None:
        shown = display_states(state)
        self._target = self._attention_target(state, shown, attention_nodes(state))
        self.focus_button.disabled = not attention_nodes(state)
        if self._small:
            self.fit()
        elif self._target is not None:
            self.focus(self._target)
        else:
            self._show_start("auto")

    def _follow(self, state: RunState, shown: dict[str, str], attention: list[str]) -> None:
        target = self._attention_target(state, shown, attention)
        self.focus_button.disabled = not attention
        if target == self._target:
            return
        self._target = target
        if self._view["mode"] == "auto" and target is not None and not self._small:
            self.focus(target)

    @staticmethod
    def _attention_target(
        state: RunState, shown: dict[str, str], attention: list[str]
    ) -> str | None:
        if attention:
            return attention[0]
        failed = [n for n, s in shown.items() if s == "failed"]
        return failed[0] if failed else None

    def _show_start(self, mode: str) -> None:
        """The left end of the graph, top-aligned, at a readable zoom."""
        zoom = READABLE_ZOOM
        self._view = {"mode": mode, "zoom": zoom, "x": None, "y": None}
        pan = {"x": 24 + zoom * NODE_W / 2, "y": 24 + zoom * NODE_H / 2}
        self._send_layout({"fit": False, "zoom": zoom, "pan": pan})
        # Zooming from here keeps the same point where it is.
        self._view.update(x=(ANCHOR_X - pan["x"]) / zoom, y=(self.height / 2 - pan["y"]) / zoom)

    def _show(self, x: float, y: float, zoom: float, *, mode: str) -> None:
        """Put model point (x, y) at ANCHOR_X, mid-height, at `zoom`; but never leave empty
        canvas beyond the graph's left or top edge (a source node sits near the left edge)."""
        self._view = {"mode": mode, "zoom": zoom, "x": x, "y": y}
        margin = 24.0
        pan_x = min(ANCHOR_X - zoom * x, margin + zoom * NODE_W / 2)
        pan_y = self.height / 2 - zoom * y
        graph_h = zoom * self.positions.height
        if graph_h + 2 * margin <= self.height:  # the graph fits in height: centre it
            pan_y = (self.height - graph_h) / 2 + zoom * NODE_H / 2
        else:
            top = margin + zoom * NODE_H / 2  # the graph's top edge at the margin
            bottom = self.height - margin - graph_h + zoom * NODE_H / 2
            pan_y = max(bottom, min(top, pan_y))
        self._send_layout({"fit": False, "zoom": zoom, "pan": {"x": pan_x, "y": pan_y}})

    def _send_layout(self, options: dict[str, Any]) -> None:
        self._layout_version += 1
        # `v` makes every request a change, so the front end applies it even when the same
        # view is asked for twice (after the user panned away by hand).
        self.graph.cytoscape_layout = {
            "name": "preset",
            "animate": False,
            **options,
            "v": self._layout_version,
        }

    def _fit_zoom_estimate(self) -> float:
        width = 2 * ANCHOR_X + 240  # the canvas' width is not known here; a typical one
        return max(
            MIN_ZOOM,
            min(
                MAX_ZOOM,
                (width - 2 * PADDING) / max(self.positions.width, 1),
                (self.height - 2 * PADDING) / max(self.positions.height, 1),
            ),
        )


def _step(height: int) -> int:
    steps = -(-int(height) // HEIGHT_STEP)
    return min(MAX_HEIGHT, max(HEIGHT_STEP * 10, steps * HEIGHT_STEP))


def _tool(description: str, icon: str, tooltip: str, css: str) -> w.Button:
    button = w.Button(
        description=description,
        icon=icon,
        tooltip=tooltip,
        layout=w.Layout(width="auto", height="28px", margin="0 4px 0 0"),
    )
    button.add_class("prodex-tool")
    button.add_class(css)
    return button


def _legend() -> str:
    def swatch(kind: str, text: str) -> str:
        border, fill = KIND_COLOURS[kind]
        radius = {"source": "8px/50%", "sql": "4px", "output": "4px 10px 10px 4px"}[kind]
        return (
            f'<span class="prodex-legend-item"><span class="prodex-swatch" style="background:'
            f'{fill};border-color:{border};border-radius:{radius}"></span>{text}</span>'
        )

    def badge(status: str, text: str) -> str:
        return (
            f'<span class="prodex-legend-item"><img alt="" src="{badges.badge_uri(status)}" '
            f'width="{badges.WIDTH}" height="{badges.HEIGHT}"/>{text}</span>'
        )

    return (
        '<div class="prodex-legend-row">'
        + swatch("source", "source")
        + swatch("sql", "transformation")
        + swatch("output", "output")
        + badge("pending", "gate waiting")
        + badge("confirmed", "confirmed")
        + badge("rejected", "rejected")
        + "</div>"
    )
