"""A run as one static HTML document: what a notebook keeps when the kernel is gone.

A run's notebook display carries this beside its live widget view, so a notebook saved and
reopened, exported by nbconvert or read on GitHub shows the run as it was: status and gates
resolved, the canvas (an SVG drawn from the same layout positions and colours as the live
canvas), every gate with its decisions, every output with its value, the inputs consumed, and
the run id with how to reopen it live (`px.load_run(...)`).

Self-contained and readable without its stylesheet (headings, tables, plain text): viewers
that drop `<style>` (GitHub) still show every fact. Colours are fixed pairs chosen for 4.5:1
or better on their own backgrounds, so the document reads in light and dark themes alike.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa

from ..store import GateRecord, Result, RunState
from . import badges
from .canvas import (
    KIND_COLOURS,
    display_states,
    fold_state,
    graph_layout,
    group_label,
    group_state,
    node_label,
)
from .graph_layout import NODE_H, NODE_W, Layout
from .groups import Folded, Group
from .run_info import gates_text, rows_text
from .text import between, clock, duration, file_name, short_hash, value_text

TableLoader = Callable[[str], pa.Table]
PREVIEW_ROWS = 5
PREVIEW_COLUMNS = 8
MARGIN = 16.0

# Fixed (text, background) pairs, each at least 4.5:1.
TONES = {
    "green": ("#14532d", "#dcfce7"),
    "amber": ("#713f12", "#fef3c7"),
    "red": ("#7f1d1d", "#fee2e2"),
    "blue": ("#1e3a8a", "#dbeafe"),
    "grey": ("#1e293b", "#e2e8f0"),
}
STATUS_TONE = {
    "pending": "grey",
    "executing": "blue",
    "completed": "green",
    "completed_partial": "amber",
    "failed": "red",
}
GATE_TONE = {"not_reached": "grey", "pending": "amber", "confirmed": "green", "rejected": "red"}
NODE_FILL = {"waiting": "#ffffff", "running": "#eff6ff", "blocked": "#f1f5f9", "failed": "#fee2e2"}

STYLE = """
.prodex-static-run { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, Arial,
  sans-serif; font-size: 13px; line-height: 1.45; color: #1e293b; background: #ffffff;
  border: 1px solid #cbd5e1; border-radius: 8px; padding: 12px 14px; max-width: 100%;
  box-sizing: border-box; overflow-x: auto; }
.prodex-static-run h3 { margin: 0 0 4px; font-size: 15px; color: #0f172a; }
.prodex-static-run h4 { margin: 12px 0 4px; font-size: 12px; text-transform: uppercase;
  letter-spacing: .05em; color: #334155; }
.prodex-static-run table { border-collapse: collapse; font-size: 12px; }
.prodex-static-run th, .prodex-static-run td { border-bottom: 1px solid #cbd5e1;
  padding: 3px 8px; text-align: left !important; vertical-align: top; color: #1e293b; }
.prodex-static-run th { color: #334155; background: #f1f5f9 !important; }
/* a theme's table stripes and hover colours would sit under this document's dark text */
.prodex-static-run tr, .prodex-static-run td { background: #ffffff !important; }
.prodex-static-run code, .prodex-static-run .mono { font-family: ui-monospace, Menlo, Consolas,
  monospace; font-size: 12px; background: #f1f5f9 !important; color: #0f172a !important; }
.prodex-static-run .chip { display: inline-block; border-radius: 999px; padding: 0 8px;
  font-weight: 600; font-size: 12px; }
.prodex-static-run .note { color: #334155; }
.prodex-static-run pre { margin: 4px 0 0; padding: 6px 10px; background: #f1f5f9;
  color: #0f172a; border-radius: 6px; overflow-x: auto; }
.prodex-static-run svg { max-width: 100%; height: auto; }
/* In a live notebook the widget view above says all this: show the snapshot only where the
   widget cannot be drawn (a reopened notebook, an HTML export). */
.jp-OutputArea:has(.prodex-run-view) .prodex-static-run { display: none; }
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def chip(text: str, tone: str) -> str:
    """A status chip, its colours inline (kept where `<style>` is dropped). `background-color`,
    not the `background` shorthand: JupyterLab's HTML sanitizer, which its table of contents
    runs over every HTML output on each change, tests a `background` value against a regular
    expression that took 0.1-0.4 s of the page's main thread per chip (profiled, Chromium,
    JupyterLab 4.6), while the browser was building the live run view."""
    fg, bg = TONES[tone]
    return f'<span class="chip" style="color:{fg};background-color:{bg}">{esc(text)}</span>'


def reopen_code(run_id: str, store_root: str | None) -> str:
    store = f", store={json.dumps(store_root)}" if store_root else ""
    return f"import prodex_jupyter as px\nrun = px.load_run({json.dumps(run_id)}{store})"


def run_text(state: RunState, store_root: str | None = None) -> str:
    """The plain-text twin of `run_html`: for viewers that show no HTML."""
    lines = [
        f"Run {state.run_id} of {state.template_id}: {state.status}, {gates_text(state)}",
        f"Started {clock(state.created_at)}; nodes produced "
        f"{len(state.results)} / {len(state.nodes)}",
    ]
    for gate in state.gates.values():
        last = gate.last_decision
        decided = f" by {last.by} at {clock(last.at)}" if last else ""
        note = f" ({last.note})" if last and last.note else ""
        lines.append(f"  gate {gate.gate_id}: {gate.status}{decided}{note}")
    for node_id, result in state.results.items():
        if state.nodes[node_id].kind == "output":
            lines.append(f"  output {node_id} = {_value_text(result)}")
    lines.append("Reopen it live: " + reopen_code(state.run_id, store_root).replace("\n", "; "))
    return "\n".join(lines)


def run_html(
    state: RunState,
    load_table: TableLoader | None = None,
    store_root: str | None = None,
) -> str:
    """The whole run as one HTML fragment (a `<style>` and a `<div class="prodex-static-run">`)."""
    k, n = state.gates_resolved
    description = str(state.template.get("description") or "")
    ended = state.status in ("completed", "completed_partial", "failed")
    took = duration(between(state.created_at, state.updated_at)) if ended else ""
    parts = [
        f"<style>{STYLE}</style>",
        f'<div class="prodex-static-run" data-run-id="{esc(state.run_id)}">',
        f"<h3>{esc(state.template_id)} — run <code>{esc(state.run_id)}</code></h3>",
        f'<div class="note">{esc(description)}</div>' if description else "",
        "<div>",
        chip(state.status, STATUS_TONE.get(state.status, "grey")),
        f" <b>{esc(gates_text(state))}</b>",
        f" · nodes produced {len(state.results)} / {len(state.nodes)}",
        f" · started {esc(clock(state.created_at))}",
        f" · took {esc(took)}" if took else "",
        "</div>",
        "<h4>Pipeline</h4>",
        canvas_svg(state),
        "<h4>Gates</h4>",
        _gates_table(state) if n else '<div class="note">No gates on this pipeline.</div>',
        "<h4>Outputs</h4>",
        _outputs_html(state, load_table),
        "<h4>Inputs consumed</h4>",
        _inputs_table(state),
        "<h4>Reopen it live</h4>",
        f"<pre>{html.escape(reopen_code(state.run_id, store_root), quote=False)}</pre>",
        f'<div class="note">A snapshot of the run as of {esc(clock(state.updated_at))} '
        f"(event {state.last_seq}); {k} of {n} gates resolved then.</div>",
        "</div>",
    ]
    return "".join(parts)


# ------------------------------------------------------------------- canvas
def canvas_svg(state: RunState) -> str:
    """The DAG as SVG: the live canvas' layout positions, shapes' colours, full names (and a
    `<title>` per node for hover), a gate mark per gated node."""
    folded = fold_state(state, (), set())
    layout = graph_layout(state)
    width = layout.width + 2 * MARGIN  # the layout's box holds whole nodes
    height = layout.height + 2 * MARGIN
    # positions are node centres
    body = graph_svg_body(state, folded, layout, MARGIN + NODE_W / 2, MARGIN + NODE_H / 2)
    return svg_frame(
        state,
        f'width="{width:.0f}" height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}"',
        f'<rect width="100%" height="100%" fill="#ffffff"/>{body}',
    )


def svg_frame(
    state: RunState,
    size: str,
    content: str,
    css: str = "prodex-static-canvas",
    marker: str = "arrow",
) -> str:
    """An `<svg>` of the run's graph: `size` its size attributes, `content` what it draws,
    `marker` the id of its arrow head (ids are the page's: an SVG hidden with `display: none`
    draws no marker for another that refers to it)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{css}" {size} '
        f'role="img" aria-label="pipeline {esc(state.template_id)}" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif">'
        f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto"><path d="M0 0 L10 5 L0 10 z" fill="#64748b"/></marker>'
        f"</defs>{content}</svg>"
    )


def graph_svg_body(
    state: RunState,
    folded: Folded,
    layout: Layout,
    dx: float = 0.0,
    dy: float = 0.0,
    marker: str = "arrow",
) -> str:
    """The drawn graph's edges and nodes (collapsed groups as one node each) as SVG elements,
    each node at its layout position moved by (dx, dy)."""
    shown = display_states(state)

    def at(node_id: str) -> tuple[float, float]:
        x, y = layout.positions[node_id]
        return x + dx, y + dy

    edges = []
    for node_id in folded.order:
        x2, y2 = at(node_id)
        for u in folded.upstream[node_id]:
            x1, y1 = at(u)
            edges.append(
                f'<line x1="{x1 + NODE_W / 2:.1f}" y1="{y1:.1f}" x2="{x2 - NODE_W / 2 - 4:.1f}" '
                f'y2="{y2:.1f}" stroke="#64748b" stroke-width="1.5" marker-end="url(#{marker})"/>'
            )
    nodes = []
    for node_id in folded.order:
        group = folded.groups.get(node_id)
        if group is not None:
            nodes.append(_group_svg(group, shown, *at(node_id)))
        else:
            nodes.append(_node_svg(state, node_id, shown[node_id], *at(node_id)))
    return "".join(edges) + "".join(nodes)


def _node_svg(state: RunState, node_id: str, state_shown: str, x: float, y: float) -> str:
    node = state.nodes[node_id]
    border, done = KIND_COLOURS.get(node.kind, ("#475569", "#f1f5f9"))
    fill = done if state_shown == "produced" else NODE_FILL.get(state_shown, "#ffffff")
    dash = ' stroke-dasharray="5 3"' if state_shown in ("waiting", "blocked") else ""
    gate = state.gates.get(node.gate_id) if node.gate_id else None
    if (gate is not None and gate.status == "rejected") or state_shown == "failed":
        border = "#b91c1c"
    title = f"{node_id} ({node.kind}): {state_shown}" + (
        f"; gate {gate.gate_id} {gate.status}" if gate else ""
    )
    mark = ""
    if gate is not None:  # the live canvas' badge where it puts it (canvas.stylesheet)
        left, top = x - NODE_W / 2 + 8, y - NODE_H / 2 - badges.HEIGHT / 2 - 1
        mark = (
            f'<g class="prodex-badge" data-status="{gate.status}" '
            f'transform="translate({left:.1f} {top:.1f})">{badges.badge_body(gate.status)}</g>'
        )
    return _box_svg(node_id, title, node_label(state, node_id), x, y, fill, border, dash, mark)


def _group_svg(group: Group, shown: dict[str, str], x: float, y: float) -> str:
    state_shown = group_state(group, shown)
    border, done = KIND_COLOURS["sql"]
    fill = done if state_shown == "produced" else NODE_FILL.get(state_shown, "#ffffff")
    if state_shown == "failed":
        border = "#b91c1c"
    title = f"{group.members[0]} … {group.members[-1]} ({len(group.members)} steps)"
    # a stack of steps: a card behind, a double border
    behind = (
        f'<rect x="{x - NODE_W / 2 + 5:.1f}" y="{y - NODE_H / 2 + 5:.1f}" width="{NODE_W:.0f}" '
        f'height="{NODE_H:.0f}" rx="8" fill="#e2e8f0" stroke="{border}" stroke-width="1"/>'
    )
    inner = (
        f'<rect x="{x - NODE_W / 2 + 3:.1f}" y="{y - NODE_H / 2 + 3:.1f}" '
        f'width="{NODE_W - 6:.0f}" height="{NODE_H - 6:.0f}" rx="6" fill="none" '
        f'stroke="{border}" stroke-width="1"/>'
    )
    label = group_label(group, shown)
    return _box_svg(group.id, title, label, x, y, fill, border, "", inner, behind)


def _box_svg(
    node_id: str,
    title: str,
    label: str,
    x: float,
    y: float,
    fill: str,
    border: str,
    dash: str,
    mark: str,
    behind: str = "",
) -> str:
    lines = label.split("\n")
    return (
        f'<g class="node" data-id="{esc(node_id)}"><title>{esc(title)}</title>{behind}'
        f'<rect x="{x - NODE_W / 2:.1f}" y="{y - NODE_H / 2:.1f}" width="{NODE_W:.0f}" '
        f'height="{NODE_H:.0f}" rx="8" fill="{fill}" stroke="{border}" stroke-width="2"{dash}/>'
        f'<text x="{x:.1f}" y="{y - 3:.1f}" text-anchor="middle" font-size="12" '
        f'font-weight="600" fill="#0f172a">{esc(lines[0])}</text>'
        f'<text x="{x:.1f}" y="{y + 12:.1f}" text-anchor="middle" font-size="11" '
        f'fill="#334155">{esc(lines[1] if len(lines) > 1 else "")}</text>{mark}</g>'
    )


# ------------------------------------------------------------------- tables
def _gates_table(state: RunState) -> str:
    rows = []
    for gate in state.gates.values():
        decisions = "<br>".join(
            f"{esc(d.decision)} by <b>{esc(d.by)}</b> at {esc(clock(d.at))}"
            + (f" — “{esc(d.note)}”" if d.note else "")
            for d in gate.decisions
        )
        rows.append(
            f"<tr><td><b>{esc(gate.name)}</b><br><code>{esc(gate.gate_id)}</code> on "
            f"<code>{esc(gate.node_id)}</code></td>"
            f"<td>{chip(gate.status.replace('_', ' '), GATE_TONE.get(gate.status, 'grey'))}</td>"
            f"<td>{esc(gate.confidence or '—')}</td>"
            f"<td>{decisions or '—'}</td><td>{esc(_summary(gate))}</td></tr>"
        )
    return (
        "<table><thead><tr><th>gate</th><th>status</th><th>confidence</th><th>decisions</th>"
        f"<th>evidence summary</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _summary(gate: GateRecord) -> str:
    return gate.summary or "not reached"


def _outputs_html(state: RunState, load_table: TableLoader | None) -> str:
    outputs = [n for n, node in state.nodes.items() if node.kind == "output"]
    if not outputs:
        return '<div class="note">No output nodes.</div>'
    rows = []
    for node_id in outputs:
        result = state.results.get(node_id)
        if result is None:
            value = '<span class="note">not produced</span>'
        elif result.value_kind == "scalar":
            value = f"<b>{esc(value_text(result.value))}</b>"
        else:
            value = _table_preview(result, load_table)
        rows.append(f"<tr><td><code>{esc(node_id)}</code></td><td>{value}</td></tr>")
    return (
        "<table><thead><tr><th>output</th><th>value</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _table_preview(result: Result, load_table: TableLoader | None) -> str:
    shape = f"table, {rows_text(result.rows or 0)}"
    if load_table is None or not result.artifact:
        return esc(shape)
    try:
        table = load_table(result.artifact).slice(0, PREVIEW_ROWS)
    except Exception:  # an artifact gone: say what is known
        return esc(shape)
    columns = table.column_names[:PREVIEW_COLUMNS]
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(_cell(row.get(c)))}</td>" for c in columns) + "</tr>"
        for row in table.to_pylist()
    )
    more = f", first {table.num_rows} shown" if (result.rows or 0) > table.num_rows else ""
    return f"{esc(shape + more)}<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: Any) -> str:
    return "NULL" if value is None else value_text(value)


def _value_text(result: Result) -> str:
    if result.value_kind == "scalar":
        return value_text(result.value)
    return f"table, {rows_text(result.rows or 0)}"


def _inputs_table(state: RunState) -> str:
    if not state.inputs:
        return '<div class="note">None yet.</div>'
    rows = "".join(
        f"<tr><td><code>{esc(r.node_id)}</code></td>"
        f"<td>{esc('a DataFrame' if r.snapshot else file_name(r.path))}</td>"
        f"<td>{esc(rows_text(r.rows))}</td>"
        f'<td class="mono" title="{esc(r.sha256)}">{esc(short_hash(r.sha256))}</td></tr>'
        for r in sorted(state.inputs.values(), key=lambda r: r.node_id)
    )
    return (
        "<table><thead><tr><th>source</th><th>file</th><th>rows</th><th>sha256</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def static_bundle(
    state: RunState, load_table: TableLoader | None = None, store_root: str | None = None
) -> Mapping[str, str]:
    """The mime bundle a notebook keeps: `text/html` and its `text/plain` twin."""
    return {
        "text/html": run_html(state, load_table, store_root),
        "text/plain": run_text(state, store_root),
    }
