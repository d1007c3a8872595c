"""The one line a person reads first, in the spec's voice:

"Source: weekly_throughput.csv. Required columns ['station', 'cycle_time', 'shift'] all present.
487 rows, 0 nulls in cycle_time. Cycle times range 12s–94s — within expected bounds.
Confidence: high."

Order: what was read; the columns; rows and nulls; ranges and computed figures; every failure;
what else passed; what a person must verify; drift warnings; the grade.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prodex_jupyter.checks.evidence import CheckResult, ColumnProfile, Drift
from prodex_jupyter.checks.figures import (
    capitalize,
    fmt_bounds,
    fmt_count,
    fmt_list,
    fmt_span,
    fmt_value,
    humanize,
    plural,
    pluralize,
    read_iso,
    unit_from_name,
)
from prodex_jupyter.template.instructions import (
    AggregateRange,
    CheckSpec,
    InKnownSet,
    InSet,
    Matches,
    NoNulls,
    RequiredColumns,
    RowCount,
    RowCountDrift,
    Unique,
    ValueRange,
)

_AGG_WORD = {"mean": "Mean", "min": "Minimum", "max": "Maximum", "median": "Median", "sum": "Total"}


def summarize(
    label: str,
    row_count: int,
    columns: Sequence[ColumnProfile],
    results: Sequence[tuple[CheckSpec | None, CheckResult]],
    *,
    drift: Drift | None,
    notes: Sequence[str],
    confidence: str,
    profile_only: bool,
) -> str:
    """The sentence; `notes` are warnings about reading the data, which no check explains."""
    parts: list[str] = [label.rstrip(".") + "."]

    def by_kind(kind: type) -> list[tuple[Any, CheckResult]]:
        return [(s, r) for s, r in results if isinstance(s, kind)]

    for _, r in by_kind(RequiredColumns):
        parts.append(_sentence(r.message))

    parts.append(_rows_and_nulls(row_count, columns, by_kind(NoNulls), by_kind(RowCount)))

    for s, r in results:
        if isinstance(s, ValueRange):
            parts.append(_range_phrase(s, r))
        elif isinstance(s, AggregateRange):
            parts.append(_aggregate_phrase(s, r))

    handled = (RequiredColumns, NoNulls, RowCount, ValueRange, AggregateRange)
    others = [(s, r) for s, r in results if not isinstance(s, handled) and r.status != "manual"]
    parts.extend(_sentence(r.message) for _, r in others if r.status == "fail")
    passed = [_pass_phrase(s, r) for s, r in others if r.status == "pass"]
    if passed:
        parts.append(capitalize("; ".join(passed)) + ".")
    for s, r in others:
        if r.status == "skipped" and isinstance(s, RowCountDrift):
            parts.append("No earlier confirmed run to compare the row count with.")

    manual = [r for _, r in results if r.status == "manual"]
    if manual:
        quoted = "; ".join(f"“{r.bullet}”" for r in manual[:3]) + ("; …" if len(manual) > 3 else "")
        parts.append(
            f"{len(manual)} instruction{'s' if len(manual) != 1 else ''} the checker could not"
            f" verify, for you to check: {quoted}."
        )
    if profile_only:
        parts.append("The gate lists no checks: profile only.")
    if drift is not None:
        for f in drift.warnings:
            parts.append("Drift: " + _sentence(f.message))
    if 0 < row_count < 30:
        parts.append(f"Only {plural(row_count, 'row')}: too few to judge the data by.")
    parts.extend(_sentence(n) for n in notes)
    parts.append(f"Confidence: {confidence}.")
    return " ".join(p for p in parts if p)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _rows_and_nulls(
    n: int,
    columns: Sequence[ColumnProfile],
    nulls: list[tuple[Any, CheckResult]],
    counts: list[tuple[Any, CheckResult]],
) -> str:
    if n == 0:
        return "0 rows: the data is empty."
    text = f"{fmt_count(n)} row{'s' if n != 1 else ''}"
    for s, r in counts:
        if r.status == "fail":
            low, high = s.low, s.high
            if low is not None and n < low:
                text += f" (fewer than the {fmt_count(low)} required)"
            elif high is not None and n > high:
                text += f" (more than the {fmt_count(high)} allowed)"
        elif r.status == "warn":
            text += f" (close to {fmt_bounds(s.low, s.high)} rows)"
    phrases = []
    for _, r in nulls:
        per = r.observed.get("nulls", {})
        if not per:
            continue
        total = sum(per.values())
        if total == 0:
            phrases.append(f"0 nulls in {', '.join(per)}")
        else:
            phrases.append(", ".join(f"{plural_nulls(v)} in {k}" for k, v in per.items() if v))
    if not nulls:
        with_nulls = [c for c in columns if c.null_count]
        if columns and not with_nulls:
            phrases.append("no nulls")
        elif with_nulls:
            phrases.append(
                ", ".join(f"{plural_nulls(c.null_count)} in {c.name}" for c in with_nulls[:3])
                + (", …" if len(with_nulls) > 3 else "")
            )
    return text + (", " + ", ".join(phrases) if phrases else "") + "."


def plural_nulls(n: int) -> str:
    return f"{fmt_count(n)} null{'s' if n != 1 else ''}"


def _range_phrase(s: ValueRange, r: CheckResult) -> str:
    unit = s.unit or unit_from_name(s.column)
    words = capitalize(pluralize(humanize(s.column)))
    lo, hi = r.observed.get("min"), r.observed.get("max")
    if r.status == "fail" and r.unexpected_count:
        values = [row.get(s.column) for row in r.unexpected_rows]
        n = r.unexpected_count
        listed = fmt_list(values, n)
        return _sentence(
            f"{fmt_count(n)} {pluralize(humanize(s.column)) if n != 1 else humanize(s.column)}"
            f" outside {fmt_bounds(s.low, s.high, unit)}: {listed}"
        )
    if r.status == "fail":
        return _sentence(r.message)
    if lo is None:
        return f"No {pluralize(humanize(s.column))} to compare with the bounds."
    span = fmt_span(read_iso(lo), read_iso(hi), unit)
    if r.status == "warn":
        return f"{words} range {span} — close to a bound of {fmt_bounds(s.low, s.high, unit)}."
    return f"{words} range {span} — within expected bounds."


def _aggregate_phrase(s: AggregateRange, r: CheckResult) -> str:
    unit = s.unit or unit_from_name(s.column)
    value = r.observed.get(s.func)
    words = humanize(s.column)
    # 'mean of mean_cycle_s' reads 'Mean cycle', not 'Mean mean cycle'
    first = words.split(" ")[0].lower()
    if first in ("mean", "avg", "average", "min", "max", "median", "sum", "total") and " " in words:
        what = capitalize(words)
    else:
        what = f"{_AGG_WORD[s.func]} {words}"
    if value is None:
        return _sentence(r.message)
    shown = fmt_value(read_iso(value), unit)
    if r.status == "fail":
        return f"{what} {shown} — outside {fmt_bounds(s.low, s.high, unit)}."
    if r.status == "warn":
        return f"{what} {shown} — close to a bound of {fmt_bounds(s.low, s.high, unit)}."
    return f"{what} {shown} — within expected bounds."


def _pass_phrase(s: CheckSpec | None, r: CheckResult) -> str:
    if isinstance(s, InSet):
        return f"{pluralize(humanize(s.column))} all in {{{', '.join(map(str, s.values))}}}"
    if isinstance(s, InKnownSet):
        return f"{pluralize(humanize(s.column))} all in the known set from {s.source}"
    if isinstance(s, Matches):
        return f"{pluralize(humanize(s.column))} all match {s.pattern}"
    if isinstance(s, Unique):
        cols = s.columns[0] if len(s.columns) == 1 else "(" + ", ".join(s.columns) + ")"
        return f"no duplicate {cols}"
    if isinstance(s, RowCountDrift):
        return f"row count within {s.percent:g}% of the last confirmed run"
    return r.bullet.rstrip(".")
