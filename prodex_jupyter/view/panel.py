"""Everything a run panel draws, as one JSON-ready dict: the canvas (cytoscape elements,
positions, stylesheet, legend), the Run Information content, the gate cards, the derivation
drawer of every node, and the stylesheet their HTML uses.

The JupyterLab run panel receives it from the server (`GET prodex/api/runs/{id}`, under `view`)
and only draws it: the same functions feed the notebook's widgets, so both show a run alike.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from ..runtime import Prompt
from ..store import RunState
from .canvas import canvas_plan, folded_elements, legend_html, stylesheet
from .cards import batch_head_html, card_groups, cards_title, decision_html, gate_html, later_note
from .css import run_view_css
from .drawer import TableLoader, drawer_html, drawer_title_html
from .run_info import elapsed_text, run_info_rows, status_note
from .text import clock


class FitOpening(TypedDict):
    fit: Literal[True]  # the whole graph, `padding` px around it
    padding: float


class FocusOpening(TypedDict):
    fit: Literal[False]  # this zoom and pan (the model's origin on the canvas, px)
    zoom: float
    pan: dict[str, float]  # {"x": ..., "y": ...}


class CanvasView(TypedDict):
    elements: dict[str, list[dict]]  # {"nodes": [...], "edges": [...]}, as cytoscape takes them
    stylesheet: list[dict]
    attention: list[str]
    opening: FitOpening | FocusOpening  # where the canvas opens (`canvas_plan`'s preset)
    width: float
    height: float
    legend_html: str


class RunInfoView(TypedDict):
    status: str
    status_note: str
    gates_resolved: str
    nodes_produced: str
    started: str
    elapsed: str
    html: str


class PromptCard(TypedDict):
    gate_ids: list[str]
    batch: bool
    html: str


class DecidedCard(TypedDict):
    gate_id: str
    status: str
    action: Literal["reopen", "confirm"]
    html: str


class CardsView(TypedDict):
    title: str
    note: str
    later_note: str
    prompts: list[PromptCard]
    decided: list[DecidedCard]


class DrawerView(TypedDict):
    title_html: str
    state: str
    html: str


class PanelView(TypedDict):
    canvas: CanvasView
    run_info: RunInfoView
    cards: CardsView
    drawer: dict[str, DrawerView]
    css: str


def run_panel(
    state: RunState, load_table: TableLoader, drawer: set[str] | None = None
) -> PanelView:
    """The whole panel of one run at this state (`load_table` reads a stored table's first rows
    for the drawer), with the drawer of the nodes in `drawer` (every node's when None)."""
    plan = canvas_plan(state, fold_groups=False)  # the panel draws every node
    layout, marks = plan.layout, plan.marks
    shown = marks.shown
    return {
        "canvas": {
            "elements": folded_elements(state, plan.folded, layout, marks=marks),
            "stylesheet": stylesheet(),
            "attention": list(marks.attention),
            "opening": plan.preset,
            "width": layout.width,
            "height": layout.height,
            "legend_html": legend_html(),
        },
        "run_info": _run_info(state),
        "cards": _cards(state, marks.prompts),
        "drawer": {
            node_id: {
                "title_html": drawer_title_html(state, node_id, shown[node_id]),
                "state": shown[node_id],
                "html": drawer_html(state, node_id, load_table),
            }
            for node_id in state.nodes
            if drawer is None or node_id in drawer
        },
        "css": run_view_css(),
    }


def _run_info(state: RunState) -> RunInfoView:
    k, n = state.gates_resolved
    rows = run_info_rows(state)
    return {
        "status": state.status,
        "status_note": status_note(state),
        "gates_resolved": f"{k} / {n}",
        "nodes_produced": f"{len(state.results)} / {len(state.nodes)}",
        "started": clock(state.created_at),
        "elapsed": elapsed_text(state),
        "html": "".join(rows.values()),
    }


def _cards(state: RunState, queue: list[Prompt]) -> CardsView:
    prompts, waiting, decided = card_groups(state, queue)
    title, note = cards_title(state, prompts)
    return {
        "title": title,
        "note": note,
        "later_note": later_note(state, waiting),
        "prompts": [
            {
                "gate_ids": list(p.gate_ids),
                "batch": p.is_batch,
                "html": (batch_head_html(p) if p.is_batch else "")
                + "".join(gate_html(g, batch=p.is_batch) for g in p.gates),
            }
            for p in prompts
        ],
        "decided": [
            {
                "gate_id": g.gate_id,
                "status": g.status,
                "action": "reopen" if g.status == "confirmed" else "confirm",
                "html": decision_html(g),
            }
            for g in decided
        ],
    }
