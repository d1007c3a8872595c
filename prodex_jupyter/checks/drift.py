"""Drift: how this run's data differs from the last confirmed run of the same gate.

Every difference found is evidence; only those beyond a threshold are warnings (and so lower
confidence to medium). Temporal ranges are reported but never warned on: weekly data moves its
date range every week by design.
"""

from __future__ import annotations

from typing import Any

from prodex_jupyter.checks.evidence import ColumnProfile, Drift, DriftFinding, Evidence
from prodex_jupyter.checks.figures import fmt_count, fmt_span, plural, read_iso
from prodex_jupyter.checks.profile import kind_of

ROW_COUNT_PCT = 20.0  # row count change beyond this share of the baseline is a warning
CATEGORY_SHARE_PCT = 1.0  # a new (or vanished) category holding this share of rows is a warning
RANGE_SHIFT_PCT = 20.0  # a min or max moving by this share of the baseline's span is a warning


def compare(
    label: str,
    row_count: int,
    columns: tuple[ColumnProfile, ...],
    baseline: Evidence,
) -> Drift:
    """The findings, in a stable order: row count, schema, then column by column."""
    findings: list[DriftFinding] = []
    before = baseline.row_count
    if before != row_count:
        pct = (row_count - before) / before * 100 if before else float("inf")
        findings.append(
            DriftFinding(
                "row_count",
                f"{plural(row_count, 'row')} against {fmt_count(before)} on the last confirmed run"
                + (f" ({pct:+.1f}%)." if before else "."),
                before=before,
                after=row_count,
                warning=abs(pct) > ROW_COUNT_PCT,
            )
        )
    now = {c.name: c for c in columns}
    then = {c.name: c for c in baseline.columns}
    added = [n for n in now if n not in then]
    removed = [n for n in then if n not in now]
    if added or removed:
        parts = ([f"new columns {added}"] if added else []) + (
            [f"columns gone {removed}"] if removed else []
        )
        findings.append(
            DriftFinding(
                "schema",
                "Schema changed: " + "; ".join(parts) + ".",
                before=list(then),
                after=list(now),
                warning=True,
            )
        )
    for name, col in now.items():
        old = then.get(name)
        if old is None:
            continue
        if old.type != col.type:
            findings.append(
                DriftFinding(
                    "schema",
                    f"{name} was {old.type}, now {col.type}.",
                    column=name,
                    before=old.type,
                    after=col.type,
                    warning=True,
                )
            )
            continue
        findings.extend(_categories(name, col, old, row_count, before))
        shift = _range_shift(name, col, old)
        if shift is not None:
            findings.append(shift)
    return Drift(compared_to=baseline.label, findings=tuple(findings))


def _categories(
    name: str, col: ColumnProfile, old: ColumnProfile, rows: int, rows_before: int
) -> list[DriftFinding]:
    if col.categories is None or old.categories is None:
        return []  # one side has too many values to list: nothing exact to say
    now = dict((_key(v), n) for v, n in col.categories)
    then = dict((_key(v), n) for v, n in old.categories)
    out = []
    new = sorted((v for v in now if v not in then), key=lambda v: -now[v])
    gone = sorted((v for v in then if v not in now), key=lambda v: -then[v])
    if new:
        share = max(now[v] for v in new) / rows * 100 if rows else 0.0
        out.append(
            DriftFinding(
                "new_categories",
                f"New values of {name}: "
                + ", ".join(f"{v} ({plural(now[v], 'row')})" for v in new[:5])
                + (", …" if len(new) > 5 else "")
                + ".",
                column=name,
                before=None,
                after=[[v, now[v]] for v in new],
                warning=share >= CATEGORY_SHARE_PCT,
            )
        )
    if gone:
        share = max(then[v] for v in gone) / rows_before * 100 if rows_before else 0.0
        out.append(
            DriftFinding(
                "vanished_categories",
                f"Values of {name} no longer present: "
                + ", ".join(f"{v} (had {plural(then[v], 'row')})" for v in gone[:5])
                + (", …" if len(gone) > 5 else "")
                + ".",
                column=name,
                before=[[v, then[v]] for v in gone],
                after=None,
                warning=share >= CATEGORY_SHARE_PCT,
            )
        )
    return out


def _key(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool)) else str(value)


def _range_shift(name: str, col: ColumnProfile, old: ColumnProfile) -> DriftFinding | None:
    kind = kind_of(col.type)
    if kind not in ("numeric", "temporal"):
        return None
    if None in (col.min, col.max, old.min, old.max):
        return None
    if (col.min, col.max) == (old.min, old.max):
        return None
    message = (
        f"{name} ranges {fmt_span(read_iso(col.min), read_iso(col.max))}, was "
        f"{fmt_span(read_iso(old.min), read_iso(old.max))}."
    )
    warning = False
    numbers = (col.min, col.max, old.min, old.max)
    if kind == "numeric" and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers
    ):
        span = abs(old.max - old.min) or max(abs(old.max), abs(old.min)) or 1.0
        moved = max(abs(col.min - old.min), abs(col.max - old.max))
        warning = moved / span * 100 > RANGE_SHIFT_PCT
    return DriftFinding(
        "range_shift",
        message,
        column=name,
        before=[old.min, old.max],
        after=[col.min, col.max],
        warning=warning,
    )
