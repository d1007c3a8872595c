"""What the canvas shows: each node's display state, classes and label, the edges, positions
(`graph_layout`), the cytoscape stylesheet and the legend. Plain data, computed once here for
the notebook's ipycytoscape widget and the JupyterLab run panel alike (both only draw it).
"""

from __future__ import annotations

import math
from collections.abc import Set
from dataclasses import dataclass
from typing import Any

from ..runtime import Prompt, prompt_queue
from ..store import RunState
from . import badges
from .graph_layout import NODE_H, NODE_W, RANK_GAP, Layout, layered_layout
from .groups import COLLAPSE_ABOVE, Folded, Group, chain_groups, fold

KINDS = {
    "source": "source",
    "sql": "transformation",
    "python": "transformation",
    "output": "output",
}
STATES = ("waiting", "running", "produced", "blocked", "failed")

# Readable zoom: node labels are 12 px, so at 1.0 they read at 12 px on screen.
READABLE_ZOOM = 1.0
LABEL_MIN_PX = 11.0  # labels are never drawn smaller than this at the opening zoom
MIN_ZOOM = 0.08
MAX_ZOOM = 2.0
ZOOM_STEP = 1.35
# Where a focused node lands: about this far from the canvas' left edge (the canvas' width is
# not known in the kernel), vertically centred. Downstream work is to its right.
ANCHOR_X = 330.0
HALO = 10  # the widest underlay drawn around a node (a node that needs attention), model px
PADDING = 18
SMALL_GRAPH = 40  # nodes; up to this many (and few ranks) the whole graph is shown fitted
MAX_FIT_RANKS = 6
MAX_HEIGHT = 520
MIN_HEIGHT = 340
HEIGHT_STEP = 20  # heights come in steps, each with a CSS rule (see `css.py`)

FONT_SIZE = 12
# cytoscape.js accepts a font list only in double quotes (its parser refuses single quotes and
# falls back to its default font, with a console warning)
FONT = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", '
    '"Liberation Sans", sans-serif'
)
TEXT = "#1e293b"
MUTED = "#475569"  # 6.9:1 on the lightest node fill
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


def graph_layout(state: RunState) -> Layout:
    """Every node's position (left to right by rank), computed once per template's graph."""
    order = list(state.nodes)
    return layered_layout(order, {n: state.nodes[n].upstream for n in order})


@dataclass(frozen=True)
class RunMarks:
    """What every drawing of one run state marks on its nodes: each node's display state and
    the prompts that need a person (with the nodes of their gates, first prompt first). Built
    once per state (`run_marks`) and handed to what draws it, so a panel's canvas, drawer and
    opening view read one answer."""

    seq: int  # the state's last event: marks of one run at one seq are the same
    shown: dict[str, str]  # node id -> waiting / running / produced / blocked / failed
    prompts: list[Prompt]  # `runtime.prompt_queue`
    attention: tuple[str, ...]  # the nodes of the prompts' gates, in queue order
    attending: frozenset[str]  # the same, to look up


def run_marks(state: RunState) -> RunMarks:
    prompts = prompt_queue(state)
    attention = tuple(attention_nodes(prompts))
    return RunMarks(state.last_seq, display_states(state), prompts, attention, frozenset(attention))


def node_element(
    state: RunState,
    node_id: str,
    shown: str,
    attention: Set[str],
    layout: Layout,
    selected: str | None = None,
) -> dict[str, Any]:
    """One node as cytoscape takes it: data (id, label, kind), classes and position."""
    x, y = layout.positions[node_id]
    return {
        "data": {
            "id": node_id,
            "label": node_label(state, node_id),
            "name": node_id,  # the full name, shown on hover (labels may be shortened)
            "kind": state.nodes[node_id].kind,
        },
        "classes": node_classes(state, node_id, shown, attention, selected),
        "position": {"x": x, "y": y},
    }


def canvas_groups(state: RunState) -> tuple[Group, ...]:
    """The groups a big graph opens with collapsed (`view.groups`); none for a small one."""
    if len(state.nodes) <= COLLAPSE_ABOVE:
        return ()
    nodes = state.nodes

    def plain(node_id: str) -> bool:
        node = nodes[node_id]
        return node.kind in ("sql", "python") and not node.gate_id

    return chain_groups(list(nodes), {n: nodes[n].upstream for n in nodes}, plain)


def fold_state(state: RunState, groups: tuple[Group, ...], expanded: set[str]) -> Folded:
    """The graph as drawn with `groups` collapsed except those in `expanded`."""
    nodes = state.nodes
    return fold(list(nodes), {n: nodes[n].upstream for n in nodes}, groups, expanded)


def folded_layout(folded: Folded) -> Layout:
    """Positions of the drawn graph (groups take one node's place)."""
    return layered_layout(folded.order, folded.upstream)


def folded_elements(
    state: RunState,
    folded: Folded,
    layout: Layout,
    selected: str | None = None,
    marks: RunMarks | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """The drawn graph as cytoscape elements: nodes, collapsed groups, edges between them
    (`marks`: the state's `run_marks`, when the caller has them)."""
    marks = marks or run_marks(state)
    shown, attention = marks.shown, marks.attending
    nodes = []
    for visible in folded.order:
        group = folded.groups.get(visible)
        if group is None:
            nodes.append(node_element(state, visible, shown[visible], attention, layout, selected))
        else:
            nodes.append(group_element(state, group, shown, layout))
    edges = [
        {"data": {"id": f"{u}->{v}", "source": u, "target": v}, "classes": "directed"}
        for v in folded.order
        for u in folded.upstream[v]
    ]
    return {"nodes": nodes, "edges": edges}


def group_element(
    state: RunState, group: Group, shown: dict[str, str], layout: Layout
) -> dict[str, Any]:
    """A collapsed group as cytoscape takes it (its full name: first and last member)."""
    x, y = layout.positions[group.id]
    first, last = group.members[0], group.members[-1]
    return {
        "data": {
            "id": group.id,
            "label": group_label(group, shown),
            "name": f"{first} … {last} ({len(group.members)} steps, click to expand)",
            "kind": "group",
        },
        "classes": group_classes(group, shown),
        "position": {"x": x, "y": y},
    }


# A group's state: the first of these one of its members is in, else every member produced.
_GROUP_STATES = ("failed", "running", "blocked", "waiting")


def group_state(group: Group, shown: dict[str, str]) -> str:
    states = {shown[m] for m in group.members}
    return next((s for s in _GROUP_STATES if s in states), "produced")


def group_classes(group: Group, shown: dict[str, str]) -> str:
    state = group_state(group, shown)
    classes = ["prodex-node", "prodex-group", "k-group", f"st-{state}"]
    if state == "produced":
        classes.append("done-group")
    return " ".join(classes)


def group_label(group: Group, shown: dict[str, str]) -> str:
    first, last = group.members[0], group.members[-1]
    names = fit_text(f"{first} … {last}", NODE_W - 16, FONT_SIZE)
    done = sum(shown[m] == "produced" for m in group.members)
    return f"{names}\n{len(group.members)} steps · {done} done"


def attention_nodes(prompts: list[Prompt]) -> list[str]:
    """Nodes whose gate is in the prompt queue now (`prompts`, `runtime.prompt_queue`): what a
    person must look at."""
    return [g.node_id for prompt in prompts for g in prompt.gates]


def node_classes(
    state: RunState,
    node_id: str,
    shown: str,
    attention: Set[str],
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
            # A collapsed group: a stack of steps (a double border and a shadow card behind).
            "selector": "node.k-group",
            "style": {
                "shape": "round-rectangle",
                "border-color": KIND_COLOURS["sql"][0],
                "border-style": "double",
                "border-width": 4,
                "underlay-color": KIND_COLOURS["sql"][0],
                "underlay-padding": 4,
                "underlay-opacity": 0.12,
                "underlay-shape": "round-rectangle",
            },
        },
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
    for kind, (_border, fill) in [*KIND_COLOURS.items(), ("group", KIND_COLOURS["sql"])]:
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
                "underlay-padding": HALO,
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
        # An expanded group, and its edges: no longer drawn (see `widgets.canvas`).
        {"selector": ".gone", "style": {"display": "none"}},
        {
            # Hovered: the full name over the graph, dark on white whatever the theme.
            "selector": "node.hovered",
            "style": {
                "label": "data(name)",
                "text-wrap": "none",
                "text-max-width": 2000,
                "color": "#0f172a",
                "font-weight": "bold",
                "text-background-color": "#ffffff",
                "text-background-opacity": 1,
                "text-background-padding": 4,
                "text-background-shape": "round-rectangle",
                "text-border-color": "#334155",
                "text-border-width": 1,
                "text-border-opacity": 1,
                "z-index": 20,
            },
        },
    ]
    return style


@dataclass(frozen=True)
class CanvasPlan:
    """What the canvas draws when it opens, and where it looks: the same plain data for the
    live ipycytoscape canvas and for its first paint in plain SVG (`view.first_paint`), which
    the notebook shows while the browser builds the live one."""

    groups: tuple[Group, ...]  # the groups it may fold (`canvas_groups`)
    folded: Folded  # what is drawn: every group collapsed
    layout: Layout  # positions of what is drawn
    small: bool  # shown whole, fitted
    height: int  # px
    view: dict[str, Any]  # what it shows: {"mode": "fit"} or the zoom and centre (model point)
    preset: dict[str, Any]  # the `preset` layout's options that show it (fit, or zoom and pan)
    marks: RunMarks  # of the state it opens on


def canvas_plan(
    state: RunState, height: int | None = None, *, fold_groups: bool = True
) -> CanvasPlan:
    """The opening canvas of `state`: groups collapsed (none with `fold_groups=False`: the
    JupyterLab run panel draws every node), the whole graph fitted when small, else a readable
    zoom on the node that needs attention (or on the graph's left end).

    The preset's pan places the canvas' top left corner (`show_view`, `start_view`): a canvas
    taller or wider than `height` and the kernel's guess at its width (the run panel's) shows
    the same from the same corner, and more."""
    groups = canvas_groups(state) if fold_groups else ()
    marks = run_marks(state)
    folded = fold_state(state, groups, set())
    layout = folded_layout(folded)
    small = len(folded.order) <= SMALL_GRAPH and layout.n_ranks <= MAX_FIT_RANKS
    height = step_height(height) if height else canvas_height(layout, small)
    if small:
        view, preset = {"mode": "fit"}, {"fit": True, "padding": PADDING}
    else:
        target = attention_target(marks.prompts, marks.shown, folded, layout)
        if target is not None:
            x, y = layout.positions[folded.shown_as[target]]
            view, preset = show_view(x, y, READABLE_ZOOM, height, layout, mode="auto")
        else:
            view, preset = start_view(height, mode="auto")
    return CanvasPlan(groups, folded, layout, small, height, view, preset, marks)


def canvas_height(layout: Layout, small: bool) -> int:
    """The canvas' height: a small graph's own (in HEIGHT_STEP steps), else MAX_HEIGHT."""
    if not small:
        return MAX_HEIGHT
    wanted = layout.height + 2 * PADDING + 60
    steps = -(-int(wanted) // HEIGHT_STEP)
    return min(MAX_HEIGHT, max(MIN_HEIGHT, steps * HEIGHT_STEP))


def step_height(height: int) -> int:
    """A height asked for, in HEIGHT_STEP steps (each has its CSS rule) within the bounds."""
    steps = -(-int(height) // HEIGHT_STEP)
    return min(MAX_HEIGHT, max(HEIGHT_STEP * 10, steps * HEIGHT_STEP))


def attention_target(
    prompts: list[Prompt], shown: dict[str, str], folded: Folded, layout: Layout
) -> str | None:
    """The node the view centres on: of the gates the first of `prompts` asks about, the one drawn
    furthest left (then highest), else the first failed node.

    The view puts it near the canvas' left edge, with room to its right: the prompt's other
    gates, drawn to its right, are then in view too. (Its first gate in template order can be
    drawn right of the others: a source sits just before its first consumer. Centring on it
    left the other gates of the same prompt off the canvas' left edge.)"""
    if prompts:

        def drawn_at(node_id: str) -> tuple[float, float]:
            return layout.positions[folded.shown_as[node_id]]

        return min((g.node_id for g in prompts[0].gates), key=drawn_at)
    failed = [n for n, s in shown.items() if s == "failed"]
    return failed[0] if failed else None


def start_view(height: int, *, mode: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The left end of the graph, top-aligned, at a readable zoom: (view, preset options)."""
    zoom = READABLE_ZOOM
    pan = {"x": 24 + zoom * NODE_W / 2, "y": 24 + zoom * NODE_H / 2}
    # Zooming from here keeps the same point where it is.
    view = {
        "mode": mode,
        "zoom": zoom,
        "x": (ANCHOR_X - pan["x"]) / zoom,
        "y": (height / 2 - pan["y"]) / zoom,
    }
    return view, {"fit": False, "zoom": zoom, "pan": pan}


def show_view(
    x: float, y: float, zoom: float, height: int, layout: Layout, *, mode: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Model point (x, y) at about ANCHOR_X (the canvas' left edge between two ranks),
    mid-height, at `zoom`, but never empty canvas beyond the graph's left or top edge (a source
    node sits near the left edge): (view, preset)."""
    margin = 24.0
    pan_x = min(between_ranks(ANCHOR_X - zoom * x, x, zoom, margin), margin + zoom * NODE_W / 2)
    pan_y = height / 2 - zoom * y
    graph_h = zoom * layout.height
    if graph_h + 2 * margin <= height:  # the graph fits in height: centre it
        pan_y = (height - graph_h) / 2 + zoom * NODE_H / 2
    else:
        top = margin + zoom * NODE_H / 2  # the graph's top edge at the margin
        bottom = height - margin - graph_h + zoom * NODE_H / 2
        pan_y = max(bottom, min(top, pan_y))
    view = {"mode": mode, "zoom": zoom, "x": x, "y": y}
    return view, {"fit": False, "zoom": zoom, "pan": {"x": pan_x, "y": pan_y}}


def between_ranks(pan_x: float, x: float, zoom: float, margin: float) -> float:
    """`pan_x` moved by less than a rank so the canvas' left edge falls in the middle of the gap
    between two ranks: every node (halo included) left of the view is either whole in it or
    wholly out of it, never cut by its edge (at ANCHOR_X a node two ranks left of model point
    `x` showed its halo's edge). Of the two nearest such places, the nearer one that keeps
    `x`'s node whole in view."""
    pitch = NODE_W + RANK_GAP  # ranks are `pitch` apart, a node centred on each (graph_layout)
    left = -pan_x / zoom  # the canvas' left edge, model coordinates
    before = (math.floor((left - pitch / 2) / pitch) + 0.5) * pitch  # a gap centre <= left
    after = before + pitch
    whole = (x - after) * zoom >= margin + zoom * NODE_W / 2
    edge = after if whole and after - left < left - before else before
    return -edge * zoom


def opening_min_zoom() -> float:
    """The zoom below which labels would read smaller than LABEL_MIN_PX."""
    return LABEL_MIN_PX / FONT_SIZE


def find_nodes(state: RunState, text: str) -> list[str]:
    """Nodes a search box's text names: the exact id, else every id containing the text
    (case-insensitive), in the template's order."""
    wanted = text.strip()
    if not wanted:
        return []
    if wanted in state.nodes:
        return [wanted]
    lowered = wanted.lower()
    return [n for n in state.nodes if lowered in n.lower()]


def legend_html(groups: bool = False) -> str:
    """The legend; `groups`: the canvas shows collapsed groups (say how to open one)."""

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
        + (
            '<span class="prodex-legend-item"><span class="prodex-swatch" style="border-style:'
            f'double;border-width:3px;border-color:{KIND_COLOURS["sql"][0]};border-radius:4px">'
            "</span>steps collapsed: click to expand</span>"
            if groups
            else ""
        )
        + "</div>"
    )
