"""The canvas: the run's DAG in ipycytoscape, nodes styled by kind and state, gates as badges.

Built once per view in one batch (every node and edge widget created with its state, the graph's
lists sent in one message), then updated incrementally: each batch of run events changes the
`classes` (and, for outputs, the label) of the nodes whose look changed, nothing else.

ipycytoscape makes every node and edge a widget model of its own, and the browser's time to
draw the canvas grows with their number: a big graph opens with its chains of plain steps
collapsed into groups (`view.groups`), each expanding in place of itself on a click.

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

from ..runtime import Prompt
from ..store import RunState
from ..view.canvas import (
    ANCHOR_X,
    MAX_ZOOM,
    MIN_ZOOM,
    PADDING,
    READABLE_ZOOM,
    ZOOM_STEP,
    CanvasPlan,
    attention_target,
    canvas_plan,
    find_nodes,
    fold_state,
    folded_elements,
    folded_layout,
    group_classes,
    group_label,
    legend_html,
    node_classes,
    node_label,
    opening_min_zoom,
    run_marks,
    show_view,
    start_view,
    stylesheet,
)
from ..view.graph_layout import NODE_H, NODE_W, Layout
from ..view.text import esc
from .style import Plain


class RunCanvas(w.VBox):
    """The DAG of one run: a toolbar (fit, zoom, focus) over an ipycytoscape graph."""

    def __init__(
        self,
        state: RunState,
        *,
        height: int | None = None,
        plain: Plain | None = None,
        plan: CanvasPlan | None = None,
    ) -> None:
        plan = plan or canvas_plan(state, height)
        self._order = list(state.nodes)
        self._groups = plan.groups
        self._expanded: set[str] = set()
        self._folded = plan.folded
        self.positions: Layout = plan.layout  # of what is drawn
        self._small = plan.small
        self.height = plan.height
        self.selected: str | None = None
        self._click_handlers: list[Callable[[str], None]] = []
        self._view: dict[str, Any] = dict(plan.view)
        self._target: str | None = None
        self._layout_version = 0

        self.hovered: str | None = None
        self._state = state
        # of `_state` (the plan may be of an earlier state of the run: the kernel shows its
        # first paint before it builds the widgets)
        self._marks = plan.marks if plan.marks.seq == state.last_seq else run_marks(state)
        # Opening, a fit never zooms out so far that labels read under 11 px (the Fit button
        # lifts this floor: the whole graph, however small).
        self.graph = ipycytoscape.CytoscapeWidget(
            layout=w.Layout(height=f"{self.height}px", width="100%"),
            min_zoom=opening_min_zoom(),
            max_zoom=MAX_ZOOM,
            user_zooming_enabled=False,
            box_selection_enabled=False,
            auto_ungrabify=True,
            auto_unselectify=True,
            cytoscape_style=stylesheet(),
            # the opening view, given at creation (no message of its own)
            cytoscape_layout=self._layout_options(plan.preset),
            # The front end lays the graph out as soon as the widget is attached, before its
            # Layout height applies (ipycytoscape's CSS says 400px): a fit then misses. A CSS
            # class sets the height from the first frame. (Classes given at creation send no
            # message of their own.)
            _dom_classes=("prodex-canvas", f"prodex-h-{self.height}"),
        )
        self._nodes: dict[str, ipycytoscape.Node] = {}  # what is drawn: nodes and groups
        self._edges: dict[str, ipycytoscape.Edge] = {}
        self._build(state)
        self.graph.on("node", "click", self._clicked)
        self.graph.on("node", "mouseover", self._hover)
        self.graph.on("node", "mouseout", self._unhover)

        plain = plain or Plain()
        # the toolbar's buttons share one layout and one style model (as `Plain` does)
        tool_layout = w.Layout(width="auto", height="28px", margin="0 4px 0 0")
        tool_style = w.ButtonStyle()

        def tool(description: str, icon: str, tooltip: str, css: str) -> w.Button:
            return w.Button(
                description=description,
                icon=icon,
                tooltip=tooltip,
                layout=tool_layout,
                style=tool_style,
                _dom_classes=("prodex-tool", css),
            )

        self.fit_button = tool("Fit", "expand", "Show the whole graph", "prodex-fit")
        self.zoom_out_button = tool("", "search-minus", "Zoom out", "prodex-zoom-out")
        self.zoom_in_button = tool("", "search-plus", "Zoom in", "prodex-zoom-in")
        self.focus_button = tool(
            "Focus pending", "crosshairs", "Centre on the gate waiting for you", "prodex-focus"
        )
        self.fit_button.on_click(lambda _b: self.fit())
        self.zoom_in_button.on_click(lambda _b: self.zoom(ZOOM_STEP))
        self.zoom_out_button.on_click(lambda _b: self.zoom(1 / ZOOM_STEP))
        self.focus_button.on_click(lambda _b: self.focus())
        self.search = w.Combobox(
            placeholder="Find a node…",
            options=tuple(self._order),
            ensure_option=False,
            continuous_update=False,
            layout=w.Layout(width="180px", height="28px"),
            _dom_classes=("prodex-search",),
        )
        self.search.observe(lambda change: self.find(change["new"]), "value")
        # the hovered node's full name, or what a search found
        self.hover_line = plain.html("", "prodex-hover-line")
        self.legend = plain.html(legend_html(groups=bool(self._groups)), "prodex-legend")
        toolbar = w.HBox(
            [
                self.fit_button,
                self.zoom_out_button,
                self.zoom_in_button,
                self.focus_button,
                self.search,
                self.hover_line,
                self.legend,
            ],
            layout=w.Layout(align_items="center", flex_flow="row wrap"),
            _dom_classes=("prodex-canvas-toolbar",),
        )
        super().__init__(
            [toolbar, self.graph], layout=plain.layout, _dom_classes=("prodex-canvas-panel",)
        )
        marks = self._marks
        self._target = attention_target(marks.prompts, marks.shown, self._folded, self.positions)
        self.focus_button.disabled = not marks.prompts

    # ------------------------------------------------------------------ build
    def _build(self, state: RunState) -> None:
        """Every node and edge widget is created with its full state (one message each), and
        the graph's node and edge lists reach the front end in one message."""
        elements = folded_elements(state, self._folded, self.positions, marks=self._marks)
        with self.graph.graph.hold_sync():
            self.graph.graph.add_nodes(self._new_nodes(elements["nodes"]))
            self.graph.graph.add_edges(self._new_edges(elements["edges"]), directed=True)

    def _new_nodes(self, elements: list[dict[str, Any]]) -> list[ipycytoscape.Node]:
        made = []
        for element in elements:
            node = ipycytoscape.Node(**element, grabbable=False, pannable=True, selectable=False)
            self._nodes[element["data"]["id"]] = node
            made.append(node)
        return made

    def _new_edges(self, elements: list[dict[str, Any]]) -> list[ipycytoscape.Edge]:
        made = []
        for element in elements:
            edge = ipycytoscape.Edge(**element, pannable=True, selectable=False)
            self._edges[element["data"]["id"]] = edge
            made.append(edge)
        return made

    # ------------------------------------------------------------------ groups
    @property
    def collapsed(self) -> dict[str, tuple[str, ...]]:
        """The groups drawn collapsed now: group id -> its nodes, upstream first."""
        return {gid: g.members for gid, g in self._folded.groups.items()}

    def shown_as(self, node_id: str) -> str:
        """The id drawing `node_id`: itself, or the collapsed group holding it."""
        return self._folded.shown_as[node_id]

    def expand(self, group_id: str) -> bool:
        """Draw a collapsed group's nodes in its place (what a click on a group does): the
        drawn graph is laid out again, the view centred on the group's first node. Returns
        whether there was such a group."""
        group = self._folded.groups.get(group_id)
        if group is None:
            return False
        if self.hovered == group_id:
            self.hover(None)
        self._expanded.add(group_id)
        self._folded = fold_state(self._state, self._groups, self._expanded)
        self.positions = folded_layout(self._folded)
        elements = folded_elements(
            self._state, self._folded, self.positions, self.selected, self._marks
        )
        graph = self.graph.graph
        # The group and its edges are hidden, not removed: ipycytoscape's front end re-creates
        # every element after the first one a list update changes, and removes the old ones
        # only afterwards (asynchronously), which takes the re-created ones with them. So the
        # lists only ever grow, at their end.
        with graph.hold_sync():
            gone = self._nodes.pop(group_id)
            gone.classes = "prodex-group k-group gone"
            for edge_id in [e for e in self._edges if group_id in e.split("->")]:
                self._edges.pop(edge_id).classes = "directed gone"
            fresh = []
            for element in elements["nodes"]:
                node = self._nodes.get(element["data"]["id"])
                if node is None:
                    fresh.append(element)
                elif dict(node.position) != element["position"]:
                    node.position = element["position"]
            graph.add_nodes(self._new_nodes(fresh))
            wanted = [e for e in elements["edges"] if e["data"]["id"] not in self._edges]
            graph.add_edges(self._new_edges(wanted), directed=True)
        x, y = self.positions.positions[group.members[0]]
        zoom = max(READABLE_ZOOM, self._view.get("zoom") or READABLE_ZOOM)
        self._show(x, y, zoom, mode="manual")
        return True

    # ----------------------------------------------------------------- update
    def update(self, state: RunState) -> int:
        """Restyle the nodes whose look changed; returns how many changed."""
        self._state = state
        self._marks = marks = run_marks(state)
        shown, prompts, attention = marks.shown, marks.prompts, marks.attending
        changed = 0
        for node_id in self._folded.order:
            node = self._nodes[node_id]
            group = self._folded.groups.get(node_id)
            if group is None:
                classes = node_classes(state, node_id, shown[node_id], attention, self.selected)
                label = node_label(state, node_id)
            else:
                classes, label = group_classes(group, shown), group_label(group, shown)
            if node_id == self.hovered:
                classes += " hovered"
            if classes == node.classes and label == node.data.get("label"):
                continue
            changed += 1
            with node.hold_sync():
                if classes != node.classes:
                    node.classes = classes
                if label != node.data.get("label"):
                    node.data = {**node.data, "label": label}
        self._follow(prompts, shown)
        return changed

    @property
    def node_class_map(self) -> dict[str, str]:
        """The classes of every node and group drawn (a node in a collapsed group has none)."""
        return {node_id: node.classes for node_id, node in self._nodes.items()}

    # ------------------------------------------------------------------ clicks
    def on_node_click(self, handler: Callable[[str], None]) -> None:
        self._click_handlers.append(handler)

    def _clicked(self, event: Mapping[str, Any]) -> None:
        node_id = (event.get("data") or {}).get("id")
        if node_id in self._folded.groups:
            self.expand(node_id)
        elif node_id in self._nodes:
            self.click(node_id)

    def click(self, node_id: str) -> None:
        """What a click on a node does: select it and tell the handlers (the drawer)."""
        for handler in list(self._click_handlers):
            handler(node_id)

    def _hover(self, event: Mapping[str, Any]) -> None:
        node_id = (event.get("data") or {}).get("id")
        if node_id in self._nodes:
            self.hover(node_id)

    def _unhover(self, event: Mapping[str, Any]) -> None:
        self.hover(None)

    def hover(self, node_id: str | None) -> None:
        """Show a node's full name (on the node, over the graph, and in the toolbar); None
        takes it away. What the mouse entering and leaving a node does."""
        previous, self.hovered = self.hovered, node_id
        self._move_class("hovered", previous, node_id)
        group = self._folded.groups.get(node_id or "")
        if node_id is None:
            self.hover_line.value = ""
        elif group is not None:
            self.hover_line.value = (
                f'<span class="prodex-hover-name">{esc(group.members[0])} … '
                f"{esc(group.members[-1])}</span> "
                f'<span class="prodex-hover-kind">{len(group.members)} steps, click to expand'
                "</span>"
            )
        else:
            kind = self._state.nodes[node_id].kind
            self.hover_line.value = (
                f'<span class="prodex-hover-name">{esc(node_id)}</span> '
                f'<span class="prodex-hover-kind">{esc(kind)}</span>'
            )

    def find(self, text: str) -> str | None:
        """What the search box does: focus the node the text names (and open it); a text naming
        none or several says so. Returns the node found."""
        found = find_nodes(self._state, text or "")
        if len(found) != 1:
            if text:
                listed = ", ".join(found[:5]) + (", …" if len(found) > 5 else "")
                self.hover_line.value = (
                    f"No node matches “{esc(text)}”."
                    if not found
                    else f"{len(found)} nodes match: {esc(listed)}"
                )
            return None
        node_id = found[0]
        self.expand(self.shown_as(node_id))  # a node in a collapsed group: open the group
        self.hover_line.value = f'Found <span class="prodex-hover-name">{esc(node_id)}</span>'
        self.focus(node_id)
        self.click(node_id)
        return node_id

    def select(self, node_id: str | None) -> None:
        """Mark the node the drawer shows (a blue halo); None clears it."""
        previous, self.selected = self.selected, node_id
        self._move_class("selected", previous, node_id)

    def _move_class(self, css: str, previous: str | None, current: str | None) -> None:
        """Take class `css` off node `previous` and put it on node `current` (either None)."""
        for changed in {previous, current} - {None}:
            node = self._nodes.get(changed)  # type: ignore[arg-type]
            if node is None:
                continue
            parts = [c for c in node.classes.split() if c != css]
            if changed == current:
                parts.append(css)
            node.classes = " ".join(parts)

    # ---------------------------------------------------------------- viewport
    def fit(self, *, readable: bool = False) -> None:
        """Show the whole graph (labels may be too small to read on a large one); `readable`:
        as much of it as fits with labels of at least 11 px (the opening view)."""
        self._view = {"mode": "fit"}
        self.graph.min_zoom = opening_min_zoom() if readable else MIN_ZOOM
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
        self.graph.min_zoom = MIN_ZOOM  # zooming out by hand goes as far as asked
        self._show(cx, cy, zoom, mode="manual")

    def focus(self, node_id: str | None = None) -> None:
        """Centre on `node_id`, or on what needs attention (the pending gate), at a readable
        zoom; the view then follows the next gate that needs a decision."""
        target = node_id or self._target
        if target is None:
            self._show_start("auto")
            return
        x, y = self.positions.positions[self.shown_as(target)]
        zoom = self._view.get("zoom", READABLE_ZOOM) if self._view["mode"] != "fit" else None
        self._show(x, y, max(READABLE_ZOOM, zoom or READABLE_ZOOM), mode="auto")

    @property
    def viewport(self) -> dict[str, Any]:
        """What the canvas was last told to show: {'mode': 'fit'} or the zoom and centre."""
        return dict(self._view)

    def _follow(self, prompts: list[Prompt], shown: dict[str, str]) -> None:
        target = attention_target(prompts, shown, self._folded, self.positions)
        self.focus_button.disabled = not prompts
        if target == self._target:
            return
        self._target = target
        if self._view["mode"] == "auto" and target is not None and not self._small:
            self.focus(target)

    def _show_start(self, mode: str) -> None:
        """The left end of the graph, top-aligned, at a readable zoom."""
        self._view, preset = start_view(self.height, mode=mode)
        self._send_layout(preset)

    def _show(self, x: float, y: float, zoom: float, *, mode: str) -> None:
        """Put model point (x, y) at ANCHOR_X, mid-height, at `zoom` (`view.canvas.show_view`)."""
        self._view, preset = show_view(x, y, zoom, self.height, self.positions, mode=mode)
        self._send_layout(preset)

    def _send_layout(self, options: dict[str, Any]) -> None:
        self.graph.cytoscape_layout = self._layout_options(options)

    def _layout_options(self, options: dict[str, Any]) -> dict[str, Any]:
        self._layout_version += 1
        # `v` makes every request a change, so the front end applies it even when the same
        # view is asked for twice (after the user panned away by hand).
        return {"name": "preset", "animate": False, **options, "v": self._layout_version}

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
