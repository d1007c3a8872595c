"""Check specs to SQL aggregates that ride in the single pass over the data, and back to results.

Each check contributes a few aggregates (mostly `count(*) FILTER (WHERE <violation>)`) to one
SELECT that also computes the column profile, so the data is read once whatever the number of
checks. Only a failing check reads more: its first five offending rows in the source's row order
(see `Context.offending_rows`). Membership in a known set is a left join on a small temporary
table of distinct values, not a literal `NOT IN (...)` list, which DuckDB evaluates value by
value (measured 1.7x slower on 10M rows), nor a `NOT IN (SELECT ...)` subquery (also slower than
the join). A text column whose histogram rides in the pass needs neither: the values outside the
set are counted from the histogram, and their rows found by a list of those values (`_listed`).
An inline set of up to eight values is a chain of `<>` comparisons: a filter on every source, so
its offending rows are the first five without numbering the rows.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from prodex_jupyter.checks.evidence import CheckResult, ColumnProfile
from prodex_jupyter.checks.figures import (
    fmt_bounds,
    fmt_count,
    fmt_list,
    fmt_span,
    fmt_value,
    plural,
)
from prodex_jupyter.checks.json_values import json_safe
from prodex_jupyter.checks.profile import kind_of
from prodex_jupyter.checks.query import fetch_records
from prodex_jupyter.checks.source import (
    DataRef,
    SourceError,
    file_digest,
    known_set_file,
    open_source,
    quote_ident,
    sql_string,
)
from prodex_jupyter.template.instructions import (
    AggregateRange,
    CheckSpec,
    InKnownSet,
    InSet,
    ManualCheck,
    Matches,
    NoNulls,
    RequiredColumns,
    RowCount,
    RowCountDrift,
    Scalar,
    Unique,
    ValueRange,
)

NEAR_BOUND = 0.02  # a passing value this close to a bound (share of the range) is a warning
INLINE_SET_LIMIT = 8  # larger inline sets become a temporary table and a semi-join
UNEXPECTED_ROWS = 5
LISTED_LIMIT = 1000  # values outside a known set up to which their rows are found by a list
_ROW_NUMBER = "__prodex_row"  # source row order, for offending rows found through a join

_AGG_SQL = {"mean": "avg", "min": "min", "max": "max", "median": "median", "sum": "sum"}
_AGG_WORD = {"mean": "Mean", "min": "Minimum", "max": "Maximum", "median": "Median", "sum": "Sum"}


@dataclass
class Context:
    """What the checks read after the pass: the source, its profile, the raw aggregate row."""

    con: duckdb.DuckDBPyConnection
    source_sql: str
    columns: tuple[tuple[str, str], ...]
    row_count: int = 0
    profiles: tuple[ColumnProfile, ...] = ()
    row: dict[str, Any] = field(default_factory=dict)
    baseline_row_count: int | None = None
    histograms: frozenset[str] = frozenset()  # columns whose full histogram the pass gives
    extra_reads: int = 0
    joins: list[str] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)  # known sets read: path, sha256

    def profile(self, name: str) -> ColumnProfile | None:
        return next((p for p in self.profiles if p.name == name), None)

    def from_clause(self, joins: list[str] | None = None) -> str:
        """The data as `__d`, with the known-set joins the checks asked for (all by default)."""
        return " ".join([f"{self.source_sql} AS __d", *(self.joins if joins is None else joins)])

    def offending_rows(
        self, predicate: str, joins: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """The first five rows matching `predicate`, in the source's row order.

        Without a join, a filter under `LIMIT 5` keeps DuckDB's insertion order on every
        thread count and stops reading at the fifth match. A known-set join does not keep it:
        on several threads it returned some five offending rows, different from run to run.
        So with joins each row is numbered before the join (`row_number() OVER ()` is
        order-preserving, on any source: file, Arrow table, stream copy) and the five are the
        lowest numbers: the whole data is read, ~30 ms more on 1M rows here, only for a
        failing check.
        """
        self.extra_reads += 1
        if not joins:
            return fetch_records(
                self.con,
                f"SELECT __d.* FROM {self.source_sql} AS __d WHERE {predicate} "
                f"LIMIT {UNEXPECTED_ROWS}",
            )
        numbered = f"(SELECT *, row_number() OVER () AS {_ROW_NUMBER} FROM {self.source_sql})"
        return fetch_records(
            self.con,
            f"SELECT __d.* EXCLUDE ({_ROW_NUMBER}) FROM {numbered} AS __d {' '.join(joins)} "
            f"WHERE {predicate} ORDER BY __d.{_ROW_NUMBER} LIMIT {UNEXPECTED_ROWS}",
        )


@dataclass
class Compiled:
    """A check's share of the single pass and how to read its result afterwards."""

    spec: CheckSpec
    exprs: list[tuple[str, str]]
    finish: Callable[[Context], CheckResult]


Outcome = Compiled | CheckResult

_ids = itertools.count()


def resolve_column(columns: tuple[tuple[str, str], ...], name: str) -> tuple[str, str] | None:
    """The (name, type) of a column named in an instruction, matched without regard to case as
    DuckDB matches identifiers."""
    for col in columns:
        if col[0] == name:
            return col
    lowered = name.lower()
    return next((c for c in columns if c[0].lower() == lowered), None)


def sql_literal(value: Scalar) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return sql_string(str(value))


def _missing(spec: CheckSpec, names: list[str]) -> CheckResult:
    cols = ", ".join(names)
    return CheckResult(
        spec.bullet,
        "fail",
        f"Column{'s' if len(names) > 1 else ''} {cols} not found in the data.",
        observed={"missing_columns": names},
    )


def compile_check(
    spec: CheckSpec,
    ctx: Context,
    *,
    resolve_node: Callable[[str], DataRef | None] | None = None,
    base_dir: str | Path | None = None,
) -> Outcome:
    """One spec to its aggregates, or straight to a result when no data pass is needed for it."""
    if isinstance(spec, ManualCheck):
        return CheckResult(
            spec.bullet,
            "manual",
            f"“{spec.bullet}”: not checked automatically; a person checks it.",
        )
    if isinstance(spec, RequiredColumns):
        return _required(spec, ctx)
    if isinstance(spec, RowCount):
        return Compiled(spec, [], lambda c: _row_count(spec, c))
    if isinstance(spec, RowCountDrift):
        return Compiled(spec, [], lambda c: _drift(spec, c))
    if isinstance(spec, NoNulls):
        return _no_nulls(spec, ctx)
    if isinstance(spec, ValueRange):
        return _value_range(spec, ctx)
    if isinstance(spec, InSet):
        return _in_set(spec, ctx)
    if isinstance(spec, InKnownSet):
        return _in_known_set(spec, ctx, resolve_node=resolve_node, base_dir=base_dir)
    if isinstance(spec, Unique):
        return _unique(spec, ctx)
    if isinstance(spec, Matches):
        return _matches(spec, ctx)
    if isinstance(spec, AggregateRange):
        return _aggregate(spec, ctx)
    return CheckResult(
        spec.bullet, "manual", f"“{spec.bullet}”: not checked automatically; a person checks it."
    )


# ---------------------------------------------------------------------------------------------


def _required(spec: RequiredColumns, ctx: Context) -> CheckResult:
    missing = [c for c in spec.columns if resolve_column(ctx.columns, c) is None]
    present = [c for c in spec.columns if c not in missing]
    if missing:
        return CheckResult(
            spec.bullet,
            "fail",
            f"Missing required columns {missing}; present: {present}.",
            observed={"missing": missing, "present": present},
            unexpected_count=len(missing),
        )
    return CheckResult(
        spec.bullet,
        "pass",
        f"Required columns {list(spec.columns)} all present.",
        observed={"missing": [], "present": present},
        unexpected_count=0,
    )


def _near(value: Any, low: Any, high: Any) -> tuple[str, str] | None:
    """(side, words) when a passing value sits near a bound, the words true as they read:
    ("lower", "within 2% of the lower bound") means |value - bound| < 2% of the bound.

    The margin is 2% of the bound's own size, and for a two-sided range never more than 2% of
    its width either: `between 100 and 100000` warns at 101, not at 202, and a narrow range
    does not warn on every value. A bound of zero, or a date, has no size of its own: there the
    margin is 2% of the width, said so ("within 2% of the range's width from the lower bound");
    a one-sided bound of zero (or a date) gives no warning, since 'at least 0' on a count is
    met at the bound all the time.
    """
    if value is None or isinstance(value, str):
        return None
    value, low, high = _num(value), _num(low), _num(high)
    try:
        return _near_bound(value, low, high)
    except TypeError:  # e.g. a zone-aware timestamp against a naive bound: no proximity warning
        return None


def _near_bound(value: Any, low: Any, high: Any) -> tuple[str, str] | None:
    width = high - low if low is not None and high is not None else None
    if width is not None and not width:
        return None
    for side, bound in (("lower", low), ("upper", high)):
        if bound is None:
            continue
        sized = isinstance(bound, (int, float)) and bound != 0
        if sized:
            margin = abs(bound) * NEAR_BOUND
            if width is not None:
                margin = min(margin, width * NEAR_BOUND)
            words = f"within 2% of the {side} bound"
        elif width is not None:
            margin = width * NEAR_BOUND
            words = f"within 2% of the range's width from the {side} bound"
        else:
            continue
        if abs(value - bound) < margin:
            return side, words
    return None


def _row_count(spec: RowCount, ctx: Context) -> CheckResult:
    n = ctx.row_count
    observed = {"row_count": n, "low": spec.low, "high": spec.high}
    rows = f"{fmt_count(n)} row{'s' if n != 1 else ''}"
    if spec.low is not None and n < spec.low:
        msg = f"{rows}, fewer than the {fmt_count(spec.low)} required."
        return CheckResult(spec.bullet, "fail", msg, observed, unexpected_count=None)
    if spec.high is not None and n > spec.high:
        msg = f"{rows}, more than the {fmt_count(spec.high)} allowed."
        return CheckResult(spec.bullet, "fail", msg, observed, unexpected_count=None)
    near = _near(n, spec.low, spec.high)
    if near:
        bound = spec.low if near[0] == "lower" else spec.high
        msg = f"{rows}, {near[1]} {fmt_count(bound or 0)}."
        return CheckResult(spec.bullet, "warn", msg, observed)
    return CheckResult(spec.bullet, "pass", f"{rows}, as expected.", observed)


def _drift(spec: RowCountDrift, ctx: Context) -> CheckResult:
    before, n = ctx.baseline_row_count, ctx.row_count
    if before is None:
        return CheckResult(
            spec.bullet,
            "skipped",
            "No earlier confirmed run of this gate to compare the row count with.",
            {"row_count": n, "baseline_row_count": None},
        )
    change = 0.0 if before == n else (float("inf") if before == 0 else (n - before) / before * 100)
    observed = {"row_count": n, "baseline_row_count": before, "change_pct": json_safe(change)}
    what = (
        f"{plural(n, 'row')} against {fmt_count(before)} on the last confirmed run ({change:+.1f}%)"
        if before
        else f"{plural(n, 'row')} against none on the last confirmed run"
    )
    if abs(change) > spec.percent:
        return CheckResult(
            spec.bullet, "fail", f"{what}: beyond the allowed {spec.percent:g}%.", observed
        )
    return CheckResult(spec.bullet, "pass", f"{what}: within {spec.percent:g}%.", observed)


def _no_nulls(spec: NoNulls, ctx: Context) -> Outcome:
    resolved = [resolve_column(ctx.columns, c) for c in spec.columns]
    missing = [c for c, r in zip(spec.columns, resolved, strict=True) if r is None]
    if missing:
        return _missing(spec, missing)
    names = [r[0] for r in resolved if r is not None]

    def finish(c: Context) -> CheckResult:
        nulls = {n: (c.profile(n).null_count if c.profile(n) else 0) for n in names}
        total = sum(nulls.values())
        observed = {"nulls": nulls}
        if not total:
            return CheckResult(spec.bullet, "pass", f"0 nulls in {', '.join(names)}.", observed, 0)
        bad = [n for n in names if nulls[n]]
        pred = " OR ".join(f"{quote_ident(n)} IS NULL" for n in bad)
        rows = c.offending_rows(pred)
        detail = ", ".join(f"{fmt_count(nulls[n])} in {n}" for n in bad)
        return CheckResult(
            spec.bullet, "fail", f"Nulls found: {detail}.", observed, total, tuple(rows)
        )

    return Compiled(spec, [], finish)


def _typed_expr(name: str, type_name: str, bound: Scalar | None) -> tuple[str, str] | None:
    """The expression to compare with bounds of the bound's kind, and the kind; None when the
    column's type cannot be compared with such bounds at all."""
    q = quote_ident(name)
    col_kind = kind_of(type_name)
    temporal_bound = isinstance(bound, (dt.date, dt.datetime))
    if temporal_bound:
        if col_kind == "temporal":
            return q, "temporal"
        if col_kind == "text":
            target = "TIMESTAMP" if isinstance(bound, dt.datetime) else "DATE"
            return f"TRY_CAST({q} AS {target})", "temporal"
        return None
    if col_kind == "numeric":
        return q, "numeric"
    if col_kind == "text":
        return f"TRY_CAST({q} AS DOUBLE)", "numeric"
    return None


def _violation(expr: str, value: Scalar, type_name: str, *, upper: bool) -> str:
    """The comparison that puts a value beyond one bound. A date as the upper bound of a timestamp
    column covers its whole day, as a person writing 'ts between 2024-01-01 and 2024-01-31'
    means."""
    edge = _upper_edge(value, type_name) if upper else value
    if edge is not value:
        return f"{expr} >= {sql_literal(edge)}"
    return f"{expr} {'>' if upper else '<'} {sql_literal(value)}"


def _range_predicate(expr: str, raw: str, low: Any, high: Any, type_name: str) -> str:
    parts = []
    if low is not None:
        parts.append(_violation(expr, low, type_name, upper=False))
    if high is not None:
        parts.append(_violation(expr, high, type_name, upper=True))
    pred = " OR ".join(parts)
    if expr != raw:  # a text column read as numbers: an unreadable value is out of range too
        pred = f"({pred}) OR ({raw} IS NOT NULL AND {expr} IS NULL)"
    return f"({pred})"


def _value_range(spec: ValueRange, ctx: Context) -> Outcome:
    col = resolve_column(ctx.columns, spec.column)
    if col is None:
        return _missing(spec, [spec.column])
    name, type_name = col
    bound = spec.low if spec.low is not None else spec.high
    typed = _typed_expr(name, type_name, bound)
    if typed is None:
        return CheckResult(
            spec.bullet,
            "fail",
            f"{name} is {type_name}, which cannot be compared with {fmt_value(bound)}.",
            observed={"type": type_name},
        )
    expr, _ = typed
    q = quote_ident(name)
    pred = _range_predicate(expr, q, spec.low, spec.high, type_name)
    k = next(_ids)
    exprs = [(f"c{k}_bad", f"count(*) FILTER (WHERE {pred})")]
    if expr != q:
        exprs += [(f"c{k}_min", f"min({expr})"), (f"c{k}_max", f"max({expr})")]
    bounds = fmt_bounds(spec.low, spec.high, spec.unit)

    def finish(c: Context) -> CheckResult:
        bad = int(c.row[f"c{k}_bad"] or 0)
        if expr != q:
            lo, hi = c.row[f"c{k}_min"], c.row[f"c{k}_max"]
        else:
            i = [n for n, _ in c.columns].index(name)
            lo, hi = c.row.get(f"min_{i}"), c.row.get(f"max_{i}")
        observed = {
            "min": json_safe(lo),
            "max": json_safe(hi),
            "low": json_safe(spec.low),
            "high": json_safe(spec.high),
            "outside": bad,
        }
        if bad:
            rows = c.offending_rows(pred)
            values = [r.get(name) for r in rows]
            msg = (
                f"{fmt_count(bad)} value{'s' if bad != 1 else ''} of {name} outside {bounds}: "
                f"{fmt_list(values, bad)}"
            )
            return CheckResult(spec.bullet, "fail", msg, observed, bad, tuple(rows))
        if lo is None:
            return CheckResult(
                spec.bullet, "pass", f"No values of {name} to compare with {bounds}.", observed, 0
            )
        span = fmt_span(lo, hi, spec.unit)
        high_edge = _upper_edge(spec.high, type_name)
        near_low = _near(lo, spec.low, high_edge)
        near_high = _near(hi, spec.low, high_edge)
        near = (near_low if near_low and near_low[0] == "lower" else None) or (
            near_high if near_high and near_high[0] == "upper" else None
        )
        if near:
            b = spec.low if near[0] == "lower" else spec.high
            msg = f"{name} ranges {span}, {near[1]} {fmt_value(b, spec.unit)}."
            return CheckResult(spec.bullet, "warn", msg, observed, 0)
        return CheckResult(
            spec.bullet, "pass", f"{name} ranges {span}, within {bounds}.", observed, 0
        )

    return Compiled(spec, exprs, finish)


def _upper_edge(high: Any, type_name: str) -> Any:
    """The upper bound as compared: a date bound on a timestamp column ends at the next midnight."""
    if (
        isinstance(high, dt.date)
        and not isinstance(high, dt.datetime)
        and type_name.upper().startswith("TIMESTAMP")
    ):
        return dt.datetime.combine(high + dt.timedelta(days=1), dt.time())
    return high


def _num(value: Any) -> Any:
    """Bounds comparable with observed values: dates against timestamps read as midnight."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _set_membership(
    ctx: Context, name: str, type_name: str, values: tuple[Scalar, ...]
) -> tuple[str, str]:
    """(predicate for a value outside the set, how the set is shown) for an inline set."""
    q = quote_ident(name)
    numeric = kind_of(type_name) == "numeric" and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in values
    )
    lhs = q if numeric or type_name.upper() == "VARCHAR" else f"CAST({q} AS VARCHAR)"
    lits = [sql_literal(v) if numeric else sql_string(_text(v)) for v in values]
    if len(values) <= INLINE_SET_LIMIT:
        # `x <> a AND x <> b ...` is `x NOT IN (a, b, ...)` (same NULL logic, same counts), but
        # stays a filter: DuckDB plans an IN list of six values or more over an Arrow table as
        # a mark join, which on several threads returned some five offending rows, not the first.
        outside = " AND ".join(f"{lhs} <> {lit}" for lit in lits)
        return f"({outside})", "{" + ", ".join(_text(v) for v in values) + "}"
    table = f"__prodex_set_{next(_ids)}"
    rows = ", ".join(f"({lit})" for lit in lits)
    ctx.con.execute(
        f"CREATE TEMP TABLE {table} AS "
        f"SELECT DISTINCT __prodex_v FROM (VALUES {rows}) t(__prodex_v)"
    )
    shown = "{" + ", ".join(_text(v) for v in values[:5]) + ", …}"
    pred, join = _membership_join(lhs, table)
    ctx.joins.append(join)
    return pred, shown


def _membership_join(lhs: str, table: str) -> tuple[str, str]:
    """The predicate for a value outside `table` (distinct non-null values), and the join of
    `table` to the data it needs."""
    alias = f"{table}_j"
    return (
        f"({lhs} IS NOT NULL AND {alias}.__prodex_v IS NULL)",
        f"LEFT JOIN {table} AS {alias} ON {lhs} = {alias}.__prodex_v",
    )


def _listed(column: str, values: list[Any]) -> str:
    """The predicate for a row whose text `column` is one of `values` (not null), as a list
    lookup: DuckDB rewrites an IN list of six values or more (and `list_contains`) into a join,
    which on several threads returns some five matching rows rather than the first five;
    `list_position` stays a filter, so `LIMIT 5` keeps the source's row order and stops early."""
    lits = ", ".join(sql_string(str(v)) for v in values)
    return f"(list_position([{lits}]::VARCHAR[], {column}) IS NOT NULL)"


def _text(value: Any) -> str:
    return fmt_value(value) if isinstance(value, float) else str(value)


def _outside_values(c: Context, name: str, inside: Callable[[Any], bool]) -> list[list[Any]]:
    """Values outside the set with their counts, read from the histogram when there is one."""
    prof = c.profile(name)
    if prof is None or prof.categories is None:
        return []
    return [[v, n] for v, n in prof.categories if not inside(v)]


def _in_set(spec: InSet, ctx: Context) -> Outcome:
    col = resolve_column(ctx.columns, spec.column)
    if col is None:
        return _missing(spec, [spec.column])
    name, type_name = col
    before = len(ctx.joins)
    pred, shown = _set_membership(ctx, name, type_name, spec.values)
    join = ctx.joins[before:]
    k = next(_ids)
    allowed = {_text(v) for v in spec.values} | {v for v in spec.values}

    def finish(c: Context) -> CheckResult:
        bad = int(c.row[f"c{k}_bad"] or 0)
        observed: dict[str, Any] = {"outside": bad, "set": [json_safe(v) for v in spec.values]}
        if not bad:
            msg = f"All values of {name} in {shown}."
            return CheckResult(spec.bullet, "pass", msg, observed, 0)
        rows = c.offending_rows(pred, join)
        counts = _outside_values(c, name, lambda v: v in allowed or _text(v) in allowed)
        observed["unexpected_values"] = counts
        msg = _values_outside(name, f"outside {shown}", bad, counts, rows)
        return CheckResult(spec.bullet, "fail", msg, observed, bad, tuple(rows))

    return Compiled(spec, [(f"c{k}_bad", f"count(*) FILTER (WHERE {pred})")], finish)


def _in_known_set(
    spec: InKnownSet,
    ctx: Context,
    *,
    resolve_node: Callable[[str], DataRef | None] | None,
    base_dir: str | Path | None,
) -> Outcome:
    col = resolve_column(ctx.columns, spec.column)
    if col is None:
        return _missing(spec, [spec.column])
    name, type_name = col
    ref = resolve_node(spec.source) if resolve_node is not None else None
    read: dict[str, Any] = {}
    if ref is None:
        try:
            path = known_set_file(spec.source, base_dir)
        except SourceError as exc:
            return CheckResult(spec.bullet, "fail", f"{exc}.", observed={"source": spec.source})
        if not path.is_file():
            return CheckResult(
                spec.bullet,
                "fail",
                f"The known set '{spec.source}' is neither an upstream node nor a file"
                f" ({path} not found).",
                observed={"source": spec.source},
            )
        read = {"path": spec.source, "resolved": str(path), **file_digest(path)}
        ctx.files.append({"bullet": spec.bullet, **read})
        ref, base_dir = DataRef(path=str(path)), None
    try:
        known = open_source(ctx.con, ref, base_dir=base_dir)
    except SourceError as exc:
        return CheckResult(spec.bullet, "fail", f"Cannot read the known set: {exc}", {})
    kcol = resolve_column(known.columns, spec.source_column)
    if kcol is None:
        return CheckResult(
            spec.bullet,
            "fail",
            f"The known set '{spec.source}' has no column {spec.source_column}.",
            observed={"source": spec.source, "columns": [n for n, _ in known.columns]},
        )
    same_kind = kind_of(type_name) == kind_of(kcol[1]) and kind_of(type_name) != "other"
    kq = quote_ident(kcol[0])
    table = f"__prodex_known_{next(_ids)}"
    kexpr = kq if same_kind else f"CAST({kq} AS VARCHAR)"
    # NULLs are left out: one NULL in a NOT IN list would make every comparison unknown.
    ctx.con.execute(
        f"CREATE TEMP TABLE {table} AS SELECT DISTINCT {kexpr} AS __prodex_v "
        f"FROM {known.sql} WHERE {kq} IS NOT NULL"
    )
    known_values = {
        json_safe(r[0]) for r in ctx.con.execute(f"SELECT __prodex_v FROM {table}").fetchall()
    }
    q = quote_ident(name)
    lhs = q if same_kind else f"CAST({q} AS VARCHAR)"
    pred, join = _membership_join(lhs, table)
    # Text against text, with the column's histogram in the pass: the values outside are counted
    # from it, as the join would count them (both compare the strings as they are), and the pass
    # joins nothing (a hash probe per row, a fifth of the pass on 1M rows here).
    i = [n for n, _ in ctx.columns].index(name)
    from_histogram = (
        name in ctx.histograms and type_name.upper() == "VARCHAR" and kcol[1].upper() == "VARCHAR"
    )
    if not from_histogram:
        ctx.joins.append(join)
    k = next(_ids)
    where = f"the known set from {spec.source} ({spec.source_column}, {len(known_values)} values)"

    def finish(c: Context) -> CheckResult:
        hist = (c.row[f"hist_{i}"] or {}) if from_histogram else {}
        if from_histogram:
            bad = sum(int(n) for v, n in hist.items() if v not in known_values)
        else:
            bad = int(c.row[f"c{k}_bad"] or 0)
        observed: dict[str, Any] = {
            "outside": bad,
            "source": spec.source,
            "known_count": len(known_values),
        }
        if read:
            observed["file"] = read
        if not bad:
            return CheckResult(
                spec.bullet, "pass", f"All values of {name} in {where}.", observed, 0
            )
        outside = [v for v in hist if v not in known_values] if from_histogram else []
        if 0 < len(outside) <= LISTED_LIMIT:  # no join: the read stops at the fifth row
            rows = c.offending_rows(_listed(q, outside))
        else:
            rows = c.offending_rows(pred, [join])
        counts = _outside_values(
            c, name, lambda v: v in known_values or str(v) in {str(x) for x in known_values}
        )
        observed["unexpected_values"] = counts
        msg = _values_outside(name, f"not in {where}", bad, counts, rows)
        return CheckResult(spec.bullet, "fail", msg, observed, bad, tuple(rows))

    exprs = [] if from_histogram else [(f"c{k}_bad", f"count(*) FILTER (WHERE {pred})")]
    return Compiled(spec, exprs, finish)


def _unique(spec: Unique, ctx: Context) -> Outcome:
    resolved = [resolve_column(ctx.columns, c) for c in spec.columns]
    missing = [c for c, r in zip(spec.columns, resolved, strict=True) if r is None]
    if missing:
        return _missing(spec, missing)
    names = [r[0] for r in resolved if r is not None]
    qs = [quote_ident(n) for n in names]
    k = next(_ids)
    if len(qs) == 1:
        some = f"{qs[0]} IS NOT NULL"
        expr = f"count({qs[0]}) - count(DISTINCT {qs[0]})"
        key = qs[0]
    else:
        some = "(" + " OR ".join(f"{q} IS NOT NULL" for q in qs) + ")"
        key = "(" + ", ".join(qs) + ")"
        expr = f"count(*) FILTER (WHERE {some}) - count(DISTINCT {key}) FILTER (WHERE {some})"
    label = names[0] if len(names) == 1 else "(" + ", ".join(names) + ")"

    def finish(c: Context) -> CheckResult:
        dup = int(c.row[f"c{k}_dup"] or 0)
        observed: dict[str, Any] = {"duplicate_rows": dup}
        if not dup:
            return CheckResult(spec.bullet, "pass", f"{label} is unique.", observed, 0)
        c.extra_reads += 1
        keys = ", ".join(qs)
        rows = fetch_records(
            c.con,
            f"SELECT {keys}, count(*) AS n FROM {c.from_clause([])} WHERE {some} "
            f"GROUP BY ALL HAVING count(*) > 1 ORDER BY n DESC, {keys} LIMIT {UNEXPECTED_ROWS}",
        )
        shown = ", ".join(
            (
                fmt_value(r[names[0]])
                if len(names) == 1
                else "(" + ", ".join(fmt_value(r[n]) for n in names) + ")"
            )
            + f" ×{r['n']}"
            for r in rows
        )
        msg = f"{fmt_count(dup)} duplicate row{'s' if dup != 1 else ''} of {label}: {shown}"
        return CheckResult(spec.bullet, "fail", msg, observed, dup, tuple(rows))

    return Compiled(spec, [(f"c{k}_dup", expr)], finish)


def _matches(spec: Matches, ctx: Context) -> Outcome:
    col = resolve_column(ctx.columns, spec.column)
    if col is None:
        return _missing(spec, [spec.column])
    name, type_name = col
    try:
        ctx.con.execute("SELECT regexp_matches('', ?)", [spec.pattern]).fetchall()
    except duckdb.Error as exc:
        return CheckResult(
            spec.bullet, "fail", f"DuckDB cannot use the pattern {spec.pattern}: {exc}", {}
        )
    q = quote_ident(name)
    text = q if type_name.upper() == "VARCHAR" else f"CAST({q} AS VARCHAR)"
    pred = f"(NOT regexp_matches({text}, {sql_string(spec.pattern)}))"
    k = next(_ids)

    def finish(c: Context) -> CheckResult:
        bad = int(c.row[f"c{k}_bad"] or 0)
        observed = {"not_matching": bad, "pattern": spec.pattern}
        if not bad:
            msg = f"All values of {name} match {spec.pattern}."
            return CheckResult(spec.bullet, "pass", msg, observed, 0)
        rows = c.offending_rows(pred)
        msg = (
            f"{fmt_count(bad)} value{'s' if bad != 1 else ''} of {name} do not match "
            f"{spec.pattern}: {fmt_list([r.get(name) for r in rows], bad)}"
        )
        return CheckResult(spec.bullet, "fail", msg, observed, bad, tuple(rows))

    return Compiled(spec, [(f"c{k}_bad", f"count(*) FILTER (WHERE {pred})")], finish)


def _aggregate(spec: AggregateRange, ctx: Context) -> Outcome:
    col = resolve_column(ctx.columns, spec.column)
    if col is None:
        return _missing(spec, [spec.column])
    name, type_name = col
    bound = spec.low if spec.low is not None else spec.high
    typed = _typed_expr(name, type_name, bound)
    kind = kind_of(type_name)
    if typed is None or (kind == "temporal" and spec.func in ("mean", "sum")):
        return CheckResult(
            spec.bullet,
            "fail",
            f"Cannot take the {spec.func} of {name} ({type_name}) and compare it with "
            f"{fmt_value(bound)}.",
            {"type": type_name},
        )
    expr, _ = typed
    k = next(_ids)
    word = f"{_AGG_WORD[spec.func]} of {name}"
    bounds = fmt_bounds(spec.low, spec.high, spec.unit)

    def finish(c: Context) -> CheckResult:
        value = c.row[f"c{k}_agg"]
        observed = {
            spec.func: json_safe(value),
            "low": json_safe(spec.low),
            "high": json_safe(spec.high),
        }
        if value is None:
            return CheckResult(
                spec.bullet, "fail", f"{word}: no values to compute it from.", observed
            )
        shown = fmt_value(value, spec.unit)
        low, high, v = _num(spec.low), _num(spec.high), _num(value)
        if (low is not None and v < low) or (high is not None and v > high):
            return CheckResult(spec.bullet, "fail", f"{word} {shown}, outside {bounds}.", observed)
        near = _near(value, low, high)
        if near:
            b = spec.low if near[0] == "lower" else spec.high
            msg = f"{word} {shown}, {near[1]} {fmt_value(b, spec.unit)}."
            return CheckResult(spec.bullet, "warn", msg, observed)
        return CheckResult(spec.bullet, "pass", f"{word} {shown}, within {bounds}.", observed)

    return Compiled(spec, [(f"c{k}_agg", f"{_AGG_SQL[spec.func]}({expr})")], finish)


def _values_outside(
    name: str, where: str, bad: int, counts: list[list[Any]], rows: list[dict[str, Any]]
) -> str:
    """'3 values of shift outside {A, B, C}: D ×2, E ×1': the offenders with their counts."""
    listed = (
        ", ".join(f"{fmt_value(v)} ×{fmt_count(n)}" for v, n in counts[:5])
        + (", …" if len(counts) > 5 else "")
        if counts
        else fmt_list([r.get(name) for r in rows], bad)
    )
    return f"{fmt_count(bad)} value{'s' if bad != 1 else ''} of {name} {where}: {listed}"
