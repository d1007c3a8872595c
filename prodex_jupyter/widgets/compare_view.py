"""The compare view: `px.compare(...)` in a notebook.

What changed between consecutive runs (input files by content hash, template nodes), every
output side by side with its change, table differences, and with three runs or more a small line
chart per numeric scalar output across the runs (SVG drawn here: no plotting library needed).
"""

from __future__ import annotations

import html
import math
from typing import Any

import ipywidgets as w

from ..runtime.compare import Comparison
from ..view.css import PALETTE

CSS = (
    PALETTE
    + """
.prodex-compare { font-family: var(--jp-ui-font-family); font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1); gap: 8px; width: 100%; }
.prodex-compare .prodex-style { display: none; }
.prodex-compare table { border-collapse: collapse; }
.prodex-compare th, .prodex-compare td { padding: 3px 10px; text-align: left;
  border-bottom: 1px solid var(--jp-border-color2); white-space: nowrap; }
.prodex-compare td.num { text-align: right; font-variant-numeric: tabular-nums; }
.prodex-compare .up { color: var(--prodex-green); }
.prodex-compare .down { color: var(--prodex-red); }
.prodex-compare .changed { background: var(--prodex-amber-bg); color: var(--jp-ui-font-color1); }
.prodex-compare .verdict { font-weight: 600; }
.prodex-compare .mono { font-family: var(--jp-code-font-family); font-size: 12px; }
.prodex-trends { display: flex; flex-wrap: wrap; gap: 12px; }
.prodex-trend { border: 1px solid var(--jp-border-color2); border-radius: 8px; padding: 4px; }
"""
)


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class CompareView(w.VBox):
    """`CompareView(px.compare(a, b, ...))`."""

    def __init__(self, comparison: Comparison) -> None:
        self.comparison = comparison
        style = w.HTML(f"<style>{CSS}</style>")
        style.add_class("prodex-style")
        runs = comparison.run_ids
        self.header = w.HTML(
            f"<b>Compare {len(runs)} runs of {_esc(comparison.runs[0].template_id)}</b> "
            + " → ".join(f'<span class="mono">{_esc(r)}</span>' for r in runs)
        )
        self.changes = w.HTML(changes_html(comparison))
        self.outputs = w.HTML(outputs_html(comparison))
        self.tables = w.HTML(tables_html(comparison))
        self.plots = w.HTML(trends_html(comparison) if len(runs) >= 3 else "")
        self.plots.add_class("prodex-compare-plots")
        super().__init__([style, self.header, self.changes, self.plots, self.outputs, self.tables])
        self.add_class("prodex-compare")


def display_comparison(comparison: Comparison) -> None:
    """IPython's printer for a `px.compare(...)` result at the end of a cell."""
    from IPython.display import display

    display(CompareView(comparison))


# ------------------------------------------------------------------- pieces
def changes_html(comparison: Comparison) -> str:
    parts = ["<div><b>What changed</b></div>"]
    for pair in comparison.pairs:
        items = []
        for change in pair.inputs:
            cls = ' class="changed"' if change.changed else ""
            items.append(f"<li{cls}>input {_esc(change.describe())}</li>")
        cls = ' class="changed"' if pair.template.changed else ""
        items.append(f"<li{cls}>{_esc(pair.template.describe())}</li>")
        for gate, (a, b) in pair.gates.items():
            items.append(f"<li>gate {_esc(gate)}: {_esc(a)} → {_esc(b)}</li>")
        parts.append(
            f'<div><span class="mono">{_esc(pair.run_a)}</span> → '
            f'<span class="mono">{_esc(pair.run_b)}</span>: '
            f'<span class="verdict">{_esc(pair.verdict())}</span><ul>{"".join(items)}</ul></div>'
        )
    return "".join(parts)


def outputs_html(comparison: Comparison) -> str:
    runs = comparison.run_ids
    frame = comparison.outputs
    head = "".join(f'<th class="mono">{_esc(r)}</th>' for r in runs)
    rows = []
    for node, row in frame.iterrows():
        cells = "".join(f'<td class="num">{_esc(_fmt(row[r]))}</td>' for r in runs)
        change, rel = row["change"], row["rel_change"]
        cls = ""
        if isinstance(change, (int, float)) and not math.isnan(change) and change:
            cls = "up" if change > 0 else "down"
        rel_text = (
            "—" if rel is None or (isinstance(rel, float) and math.isnan(rel)) else f"{rel:+.1%}"
        )
        rows.append(
            f"<tr><td>{_esc(node)}</td><td>{_esc(row['kind'])}</td>{cells}"
            f'<td class="num {cls}">{_esc(_fmt(change))}</td>'
            f'<td class="num {cls}">{_esc(rel_text)}</td></tr>'
        )
    return (
        "<div><b>Outputs</b></div><table><tr><th>output</th><th>kind</th>"
        f"{head}<th>change</th><th>relative</th></tr>{''.join(rows)}</table>"
    )


def tables_html(comparison: Comparison) -> str:
    rows = []
    for pair in comparison.pairs:
        for diff in pair.tables.values():
            tag = f" ({_esc(pair.run_a)} → {_esc(pair.run_b)})" if len(comparison.pairs) > 1 else ""
            rows.append(f"<li><b>{_esc(diff.node_id)}</b>{tag}: {_esc(diff.summary())}</li>")
    return f"<div><b>Tables</b></div><ul>{''.join(rows)}</ul>" if rows else ""


def trends_html(comparison: Comparison) -> str:
    trend = comparison.trend()
    if trend.empty or not len(trend.columns):
        return "<div>No numeric scalar outputs to plot.</div>"
    labels = list(trend.index)
    charts = [
        f'<div class="prodex-trend">{trend_svg(str(column), labels, list(trend[column]))}</div>'
        for column in trend.columns
    ]
    return f'<div><b>Across runs</b></div><div class="prodex-trends">{"".join(charts)}</div>'


def trend_svg(
    title: str, labels: list[str], values: list[float | None], width: int = 320, height: int = 170
) -> str:
    """A small line chart of one output across runs: points in run order, gaps where missing."""
    left, right, top, bottom = 56, 12, 24, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    present = [v for v in values if v is not None and not math.isnan(v)]
    lo, hi = (min(present), max(present)) if present else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - (abs(lo) or 1) * 0.5, hi + (abs(hi) or 1) * 0.5
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    n = len(values)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h * (1 - (v - lo) / (hi - lo))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_esc(title)} across runs">',
        f'<text x="{left}" y="15" font-size="12" font-weight="600" fill="currentColor">'
        f"{_esc(title)}</text>",
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#94a3b8"/>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#94a3b8"/>',
    ]
    for v in (hi - pad, lo + pad):
        parts.append(
            f'<text x="{left - 4}" y="{y(v) + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="currentColor">{_esc(_fmt(v))}</text>'
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, v in enumerate(values):
        if v is None or math.isnan(v):
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(v):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(
            f'<polyline points="{" ".join(seg)}" fill="none" stroke="#2563eb" stroke-width="2"/>'
        )
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 8}" font-size="10" text-anchor="middle" '
            f'fill="currentColor">#{i + 1}<title>{_esc(label)}</title></text>'
        )
        if v is None or math.isnan(v):
            continue
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3.5" fill="#2563eb">'
            f"<title>{_esc(label)}: {_esc(_fmt(v))}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
