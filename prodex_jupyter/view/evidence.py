"""A gate's evidence as HTML: each check with its status and figures, sample rows, drift."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .text import esc, value_text

CHECK_LABELS = {"pass": "pass", "fail": "fail", "warn": "warn", "manual": "look", "skipped": "skip"}
SAMPLE_COLUMNS = 12


def evidence_html(evidence: Mapping[str, Any], *, open_details: bool = True) -> str:
    parts = [checks_html(evidence.get("checks") or ())]
    drift = evidence.get("drift")
    # Drift warnings are shown once, in the drift list below (marked there as warnings).
    warnings = [w for w in evidence.get("warnings") or () if w not in drift_warnings(evidence)]
    if warnings:
        parts.append(
            '<ul class="prodex-warnings">'
            + "".join(f"<li>{esc(text)}</li>" for text in warnings)
            + "</ul>"
        )
    if drift:
        parts.append(drift_html(drift))
    sample = evidence.get("sample") or ()
    if sample:
        rows = evidence.get("row_count")
        label = f"Sample rows ({len(sample)} of {rows:,})" if rows else "Sample rows"
        parts.append(
            f'<details class="prodex-sample"{" open" if open_details else ""}>'
            f"<summary>{esc(label)}</summary>{table_html(sample)}</details>"
        )
    columns = evidence.get("columns") or ()
    if columns:
        parts.append(
            f'<details class="prodex-columns"><summary>Columns ({len(columns)})</summary>'
            f"{columns_html(columns)}</details>"
        )
    return "".join(parts)


def checks_html(checks: Iterable[Mapping[str, Any]]) -> str:
    items = []
    for check in checks:
        status = check.get("status", "manual")
        figures = _figures(check)
        items.append(
            f'<li class="prodex-check prodex-check-row-{esc(status)}">'
            f'<span class="prodex-check-icon prodex-check-{esc(status)}">'
            f"{esc(CHECK_LABELS.get(status, status))}</span>"
            f"<span>{esc(check.get('message') or check.get('bullet', ''))}"
            + (f' <span class="prodex-check-fig">{esc(figures)}</span>' if figures else "")
            + "</span></li>"
        )
    if not items:
        return '<div class="prodex-section-note">No checks were configured for this gate.</div>'
    return '<ul class="prodex-checks">' + "".join(items) + "</ul>"


def _figures(check: Mapping[str, Any]) -> str:
    """The numbers behind a check that its message does not already say."""
    bits = []
    count = check.get("unexpected_count")
    if check.get("status") == "fail" and count:
        bits.append(f"{count:,} offending row{'s' if count != 1 else ''}")
    rows = check.get("unexpected_rows") or ()
    if rows:
        shown = "; ".join(
            ", ".join(f"{k}={value_text(v)}" for k, v in list(row.items())[:4]) for row in rows[:3]
        )
        bits.append(f"e.g. {shown}")
    return " · ".join(bits)


def drift_warnings(evidence: Mapping[str, Any]) -> list[str]:
    """The messages of the drift findings beyond their threshold (also in the warnings)."""
    findings = (evidence.get("drift") or {}).get("findings") or ()
    return [str(f.get("message", "")) for f in findings if f.get("warning")]


def summary_without_drift(evidence: Mapping[str, Any], summary: str) -> str:
    """The checker's one-line summary minus its "Drift: ..." sentences, for a card that lists
    the drift right below it (so drift reads once per card, not three times)."""
    for message in drift_warnings(evidence):
        sentence = message.strip()
        if not sentence.endswith((".", "!", "?", "…")):
            sentence += "."
        summary = summary.replace(f" Drift: {sentence}", "").replace(f"Drift: {sentence} ", "")
    return summary


def drift_html(drift: Mapping[str, Any]) -> str:
    findings = drift.get("findings") or ()
    compared = drift.get("compared_to") or "the last confirmed run"
    if not findings:
        return (
            f'<div class="prodex-drift prodex-section-note">Drift: no change worth noting '
            f"since {esc(compared)}.</div>"
        )
    items = "".join(
        f'<li class="{"prodex-drift-warn" if f.get("warning") else ""}">'
        f"{esc(f.get('message', ''))}</li>"
        for f in findings
    )
    return (
        f'<details class="prodex-drift" open><summary>Drift since {esc(compared)} '
        f"({len(findings)})</summary><ul>{items}</ul></details>"
    )


def table_html(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return '<div class="prodex-section-note">(no rows)</div>'
    names = list(columns or rows[0].keys())[:SAMPLE_COLUMNS]
    head = "".join(f"<th>{esc(name)}</th>" for name in names)
    body = []
    for row in rows:
        cells = []
        for name in names:
            value = row.get(name)
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            css = ' class="prodex-num"' if numeric else ""
            text = "NULL" if value is None else value_text(value)
            cells.append(f"<td{css}>{esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        '<div class="prodex-table-wrap"><table class="prodex-table"><thead><tr>'
        + head
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )


def columns_html(columns: Iterable[Mapping[str, Any]]) -> str:
    rows = []
    for col in columns:
        low, high = col.get("min"), col.get("max")
        span = "" if low is None and high is None else f"{value_text(low)} – {value_text(high)}"
        distinct = col.get("distinct_count")
        rows.append(
            {
                "column": col.get("name"),
                "type": col.get("type"),
                "nulls": col.get("null_count"),
                "range": span,
                "distinct": "" if distinct is None else distinct,
            }
        )
    return table_html(rows)
