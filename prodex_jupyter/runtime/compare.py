"""Comparing runs of one pipeline: outputs side by side, and what changed between them.

`compare(a, b, ...)` reads each run's record and answers the spec's question, "did the shift
come from updated source data or from a changed template?":

- every output side by side; scalars with the absolute and relative change (first run to last);
  tables with their row counts and a cell-level difference summary computed with DuckDB;
- between consecutive runs: the input files (per source node, by content hash) and the template
  (fingerprint, and per node whether its code, explanation or gate differ).

Table difference rule (per output table, between consecutive runs):
1. Key columns are the columns both tables share that look like keys: text, date/time, boolean
   and dictionary columns, and integer columns whose name is `id`/`key`/`code`/`no` or ends with
   `_id`/`_key`/`_code`/`_no`.
2. If there is a key and aligning on it (NULL matches NULL) pairs rows one to one (no row of
   either table meets two rows of the other), rows are aligned on it: rows only in A, only in B,
   and for rows in both, per shared non-key column the number of cells that differ
   (`IS DISTINCT FROM`; floating-point cells equal within 1e-9 relative are equal).
3. Otherwise (no key, or duplicate keys that meet) rows are compared whole, as multisets over the
   shared columns (EXCEPT ALL both ways): rows only in A and only in B; cell counts are not
   defined (None) and `rule` says "rows".
Identical artifacts (same content hash) are identical without reading them. Tables of one shape
are diffed in one DuckDB query together (helper columns are named `__prodex_*`).
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ..store import InputRecord, Result, RunState, RunStore, open_store

_KEY_NAME = re.compile(r"(^|_)(id|key|code|no)$", re.IGNORECASE)
_TEXTUAL = ("string", "large_string", "utf8", "bool", "date", "time", "dictionary")
_FLOATS = ("float", "double", "halffloat", "decimal")
_WORKERS = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class TableDiff:
    """How an output table differs between two runs (see the module docstring for the rule)."""

    node_id: str
    rows_a: int | None
    rows_b: int | None
    identical: bool
    rule: str  # "same artifact", "key", "rows", or "missing" (not produced in one run)
    key: tuple[str, ...] = ()
    only_in_a: int = 0
    only_in_b: int = 0
    changed_rows: int | None = None
    changed_cells: dict[str, int] | None = None
    columns_only_in_a: tuple[str, ...] = ()
    columns_only_in_b: tuple[str, ...] = ()

    def summary(self) -> str:
        if self.rule == "missing":
            return "produced in one run only"
        if self.identical:
            return f"identical ({self.rows_a} rows)"
        parts = [f"rows {self.rows_a} -> {self.rows_b}"]
        if self.rule == "key":
            parts.append(f"aligned on {', '.join(self.key)}")
        parts.append(f"{self.only_in_a} only in A, {self.only_in_b} only in B")
        if self.changed_cells:
            cells = ", ".join(f"{c}: {n}" for c, n in self.changed_cells.items() if n)
            parts.append(f"{self.changed_rows} rows changed ({cells})")
        elif self.rule == "key":
            parts.append("no cell changed in common rows")
        if self.columns_only_in_a or self.columns_only_in_b:
            parts.append(
                f"columns only in A: {list(self.columns_only_in_a)}, "
                f"only in B: {list(self.columns_only_in_b)}"
            )
        return "; ".join(parts)


@dataclass(frozen=True)
class InputChange:
    """One source node's input in two runs, by content hash."""

    node_id: str
    a: InputRecord | None
    b: InputRecord | None

    @property
    def changed(self) -> bool:
        return (self.a.sha256 if self.a else None) != (self.b.sha256 if self.b else None)

    def describe(self) -> str:
        def one(rec: InputRecord | None) -> str:
            if rec is None:
                return "not read"
            return f"{Path(rec.path).name} (sha256 {rec.sha256[:12]}, {rec.rows} rows)"

        verb = "changed" if self.changed else "same"
        return f"{self.node_id}: {verb}: {one(self.a)} -> {one(self.b)}"


@dataclass(frozen=True)
class TemplateChange:
    fingerprint_a: str
    fingerprint_b: str
    nodes: dict[str, tuple[str, ...]]  # node -> which of code / explanation / gate differ
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return self.fingerprint_a != self.fingerprint_b or bool(self.nodes)

    def describe(self) -> str:
        if not self.changed:
            return f"template unchanged (fingerprint {self.fingerprint_a[:12]})"
        parts = [f"template {self.fingerprint_a[:12]} -> {self.fingerprint_b[:12]}"]
        for node_id, aspects in self.nodes.items():
            parts.append(f"{node_id}: {', '.join(aspects)} changed")
        if self.added:
            parts.append(f"nodes added: {', '.join(self.added)}")
        if self.removed:
            parts.append(f"nodes removed: {', '.join(self.removed)}")
        return "; ".join(parts)


@dataclass(frozen=True)
class PairDiff:
    """What changed from one run to the next."""

    run_a: str
    run_b: str
    inputs: tuple[InputChange, ...]
    template: TemplateChange
    tables: dict[str, TableDiff]
    gates: dict[str, tuple[str, str]]  # gate -> (status in A, status in B), where they differ

    @property
    def inputs_changed(self) -> tuple[InputChange, ...]:
        return tuple(c for c in self.inputs if c.changed)

    def verdict(self) -> str:
        """One sentence: where a shift between the two runs came from."""
        inputs = self.inputs_changed
        what_inputs = ", ".join(f"'{c.node_id}'" for c in inputs)
        changed_nodes = ", ".join(self.template.nodes) or "structure"
        if inputs and self.template.changed:
            return f"both changed: source data of {what_inputs} and the template ({changed_nodes})"
        if inputs:
            return f"updated source data ({what_inputs}); template unchanged"
        if self.template.changed:
            return f"changed template ({changed_nodes}); same source data"
        if self.gates:
            return "same inputs and template; gate decisions differ"
        return "same inputs and template"


@dataclass
class Comparison:
    """`px.compare(...)`: outputs side by side and what changed between consecutive runs."""

    runs: list[RunState]
    outputs: pd.DataFrame  # one row per output node: kind, value per run, change
    pairs: list[PairDiff]
    store: RunStore = field(repr=False)

    @property
    def run_ids(self) -> list[str]:
        return [r.run_id for r in self.runs]

    @property
    def scalars(self) -> pd.DataFrame:
        """Numeric scalar outputs only: one column per run, plus the change first -> last."""
        frame = self.outputs[self.outputs["kind"] == "scalar"]
        numeric = frame[self.run_ids].apply(
            lambda row: all(_is_number(v) or v is None for v in row), axis=1
        )
        return frame[numeric] if len(frame) else frame

    def trend(self) -> pd.DataFrame:
        """Each numeric scalar output across the runs: rows are runs (in order), columns outputs."""
        scalars = self.scalars
        data = {
            node: [_number(v) for v in scalars.loc[node, self.run_ids]] for node in scalars.index
        }
        return pd.DataFrame(data, index=pd.Index(self.run_ids, name="run_id"))

    @property
    def tables(self) -> dict[str, TableDiff]:
        """Table diffs between the first two runs (see `pairs` for every consecutive pair)."""
        return self.pairs[0].tables if self.pairs else {}

    def verdict(self) -> str:
        return "; ".join(f"{p.run_a} -> {p.run_b}: {p.verdict()}" for p in self.pairs)

    def to_text(self) -> str:
        lines = [
            f"Compare {len(self.runs)} runs of {self.runs[0].template_id}: "
            + ", ".join(self.run_ids)
        ]
        for pair in self.pairs:
            lines.append(f"{pair.run_a} -> {pair.run_b}: {pair.verdict()}")
            for change in pair.inputs:
                lines.append(f"  input {change.describe()}")
            lines.append(f"  {pair.template.describe()}")
            for gate, (sa, sb) in pair.gates.items():
                lines.append(f"  gate {gate}: {sa} -> {sb}")
        lines.append("Outputs:")
        with pd.option_context("display.max_rows", 1000, "display.width", 160):
            lines.append(self.outputs.to_string())
        tables = [(p, d) for p in self.pairs for d in p.tables.values()]
        if tables:
            lines.append("Tables:")
            for pair, diff in tables:
                tag = f" [{pair.run_a} -> {pair.run_b}]" if len(self.pairs) > 1 else ""
                lines.append(f"  {diff.node_id}{tag}: {diff.summary()}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_text()


def compare(*runs: Any, store: RunStore | str | None = None) -> Comparison:
    """Compare two or more runs of one pipeline (Run objects or run ids), in the order given."""
    if len(runs) == 1 and isinstance(runs[0], (list, tuple)):
        runs = tuple(runs[0])
    if len(runs) < 2:
        raise ValueError("compare needs at least two runs")
    the_store = next((r.store for r in runs if hasattr(r, "store")), None) or open_store(store)
    states = [_state(the_store, r) for r in runs]
    ids = [s.run_id for s in states]
    if len(set(ids)) != len(ids):
        raise ValueError(f"compare got the same run twice: {', '.join(ids)}")
    pipelines = {s.template_id for s in states}
    if len(pipelines) > 1:
        named = ", ".join(f"{s.run_id} ({s.template_id})" for s in states)
        raise ValueError(f"compare runs of one pipeline; these are of {len(pipelines)}: {named}")
    outputs = _outputs(states)
    with _Differ(the_store) as differ:
        pairs = [_pair(a, b, differ) for a, b in itertools.pairwise(states)]
    return Comparison(states, outputs, pairs, the_store)


# ------------------------------------------------------------------ outputs
def _state(store: RunStore, run: Any) -> RunState:
    if hasattr(run, "state") and hasattr(run, "id"):
        return run.state
    return store.state(str(run))


def _output_ids(states: Sequence[RunState]) -> list[str]:
    seen: dict[str, None] = {}
    for state in states:
        for node_id, node in state.nodes.items():
            if node.kind == "output":
                seen[node_id] = None
    return list(seen)


def _outputs(states: Sequence[RunState]) -> pd.DataFrame:
    ids = [s.run_id for s in states]
    rows = []
    for node_id in _output_ids(states):
        results = [s.results.get(node_id) for s in states]
        kinds = {r.value_kind for r in results if r is not None}
        kind = kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "missing")
        row: dict[str, Any] = {"node": node_id, "kind": kind}
        for run_id, result in zip(ids, results, strict=True):
            row[run_id] = _cell(result)
        first, last = results[0], results[-1]
        change, rel = None, None
        if kind == "scalar" and first is not None and last is not None:
            if _is_number(first.value) and _is_number(last.value):
                change = _number(last.value) - _number(first.value)
                base = _number(first.value)
                rel = change / abs(base) if base else (0.0 if change == 0 else math.inf)
        elif kind == "table" and first is not None and last is not None:
            change = (last.rows or 0) - (first.rows or 0)
            rel = change / first.rows if first.rows else None
        row["change"] = change
        row["rel_change"] = rel
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["node", "kind", *ids, "change", "rel_change"])
    return frame.set_index("node")


def _cell(result: Result | None) -> Any:
    if result is None:
        return None
    if result.value_kind == "scalar":
        return result.value
    return f"table: {result.rows} rows"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _number(value: Any) -> float | None:
    return float(value) if _is_number(value) else None


# -------------------------------------------------------------- what changed
def _pair(a: RunState, b: RunState, differ: _Differ) -> PairDiff:
    sources = [n for n, rec in a.nodes.items() if rec.kind == "source"]
    sources += [n for n, rec in b.nodes.items() if rec.kind == "source" and n not in a.nodes]
    inputs = tuple(InputChange(n, a.inputs.get(n), b.inputs.get(n)) for n in sources)
    nodes = {}
    for node_id in a.node_digests.keys() & b.node_digests.keys():
        da, db = a.node_digests[node_id], b.node_digests[node_id]
        aspects = tuple(k for k in ("code", "explanation", "gate") if da.get(k) != db.get(k))
        if aspects:
            nodes[node_id] = aspects
    ordered = {n: nodes[n] for n in a.nodes if n in nodes}
    template = TemplateChange(
        a.fingerprint,
        b.fingerprint,
        ordered,
        tuple(n for n in b.nodes if n not in a.nodes),
        tuple(n for n in a.nodes if n not in b.nodes),
    )
    gates = {
        g: (a.gates[g].status if g in a.gates else "absent", b.gates[g].status)
        for g in b.gates
        if g not in a.gates or a.gates[g].status != b.gates[g].status
    }
    items = []
    for node_id in _output_ids([a, b]):
        ra, rb = a.results.get(node_id), b.results.get(node_id)
        if (ra and ra.value_kind == "table") or (rb and rb.value_kind == "table"):
            items.append((node_id, ra, rb))
    tables = {d.node_id: d for d in differ.diff_all(items)}
    return PairDiff(a.run_id, b.run_id, inputs, template, tables, gates)


class _Shape:
    """What a table diff depends on besides the rows: columns and types on both sides, the key."""

    def __init__(self, a: Result, b: Result) -> None:
        self.types_a, self.types_b = dict(a.columns), dict(b.columns)
        self.shared = [c for c in self.types_a if c in self.types_b]
        self.only_a = tuple(c for c in self.types_a if c not in self.types_b)
        self.only_b = tuple(c for c in self.types_b if c not in self.types_a)
        self.key = [
            c
            for c in self.shared
            if _looks_like_key(c, self.types_a[c]) and _looks_like_key(c, self.types_b[c])
        ]
        self.values = [c for c in self.shared if c not in self.key]

    @staticmethod
    def of(a: Result, b: Result) -> tuple:
        return (a.columns, b.columns)


_NODE, _FILE, _IN_A, _IN_B = "__prodex_node", "__prodex_file", "__prodex_in_a", "__prodex_in_b"


class _Differ:
    """Cell-level table differences with DuckDB (see the module docstring).

    Tables of the same shape (same columns and types in A, and in B) are diffed together in one
    query over all their Parquet files, grouped by node; shapes run concurrently in cursors of one
    in-memory database. So 500 outputs of one shape cost a few queries, not 500.
    """

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> _Differ:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.con is not None:
            self.con.close()

    def diff_all(self, items: list[tuple[str, Result | None, Result | None]]) -> list[TableDiff]:
        diffs = [self._without_reading(*item) for item in items]
        groups: dict[tuple, list[tuple[str, Result, Result]]] = {}
        for diff, (node_id, a, b) in zip(diffs, items, strict=True):
            if diff is None:
                assert a is not None and b is not None
                groups.setdefault(_Shape.of(a, b), []).append((node_id, a, b))
        found: dict[str, TableDiff] = {}
        if groups:
            self.con = self.con or duckdb.connect()
            batches = list(groups.values())
            workers = min(len(batches), _WORKERS)
            if workers > 1:
                with ThreadPoolExecutor(workers, thread_name_prefix="prodex-compare") as pool:
                    for done in pool.map(self._batch, batches):
                        found.update(done)
            else:
                for batch in batches:
                    found.update(self._batch(batch))
        return [
            d if d is not None else found[item[0]] for d, item in zip(diffs, items, strict=True)
        ]

    def diff(self, node_id: str, a: Result | None, b: Result | None) -> TableDiff:
        return self.diff_all([(node_id, a, b)])[0]

    @staticmethod
    def _without_reading(node_id: str, a: Result | None, b: Result | None) -> TableDiff | None:
        rows_a = a.rows if a is not None else None
        rows_b = b.rows if b is not None else None
        if a is None or b is None or a.value_kind != "table" or b.value_kind != "table":
            return TableDiff(node_id, rows_a, rows_b, False, "missing")
        if a.artifact == b.artifact:
            return TableDiff(node_id, rows_a, rows_b, True, "same artifact")
        return None

    def _batch(self, batch: list[tuple[str, Result, Result]]) -> dict[str, TableDiff]:
        assert self.con is not None
        con = self.con.cursor()
        try:
            return self._diff_batch(con, batch)
        finally:
            con.close()

    def _sides(self, batch: list[tuple[str, Result, Result]], select_a: str, select_b: str) -> str:
        """CTEs `a` and `b`: every table of the batch, each row tagged with its node."""
        return (
            f"WITH pairs AS (SELECT unnest($nodes) AS node, unnest($fa) AS fa, unnest($fb) AS fb), "
            f"a AS (SELECT p.node AS {_NODE}, {select_a}, true AS {_IN_A} FROM "
            f"read_parquet($la, filename='{_FILE}') x JOIN pairs p ON p.fa = x.{_FILE}), "
            f"b AS (SELECT p.node AS {_NODE}, {select_b}, true AS {_IN_B} FROM "
            f"read_parquet($lb, filename='{_FILE}') x JOIN pairs p ON p.fb = x.{_FILE}) "
        )

    def _params(self, batch: list[tuple[str, Result, Result]]) -> dict[str, Any]:
        fa = [str(self.store.artifacts.path(a.artifact or "")) for _, a, _ in batch]
        fb = [str(self.store.artifacts.path(b.artifact or "")) for _, _, b in batch]
        return {
            "nodes": [node_id for node_id, _, _ in batch],
            "fa": fa,
            "fb": fb,
            "la": list(dict.fromkeys(fa)),  # a file listed twice would be read twice
            "lb": list(dict.fromkeys(fb)),
        }

    def _diff_batch(
        self, con: duckdb.DuckDBPyConnection, batch: list[tuple[str, Result, Result]]
    ) -> dict[str, TableDiff]:
        shape = _Shape(batch[0][1], batch[0][2])
        q = _quote
        out: dict[str, TableDiff] = {}
        by_rows = batch
        if shape.key:
            cond = [_differs(c, shape.types_a[c], shape.types_b[c]) for c in shape.values]
            both = f"a.{_IN_A} AND b.{_IN_B}"
            selects = [
                f"coalesce(a.{_NODE}, b.{_NODE})",
                f"count(*) FILTER (WHERE b.{_IN_B} IS NULL)",
                f"count(*) FILTER (WHERE a.{_IN_A} IS NULL)",
                f"count(*) FILTER (WHERE {both})",
                f"count(*) FILTER (WHERE {both} AND ({' OR '.join(cond) or 'false'}))",
                *(f"count(*) FILTER (WHERE {both} AND {c})" for c in cond),
            ]
            on = " AND ".join(f"a.{q(k)} IS NOT DISTINCT FROM b.{q(k)}" for k in shape.key)
            cols_a = ", ".join(f"x.{q(c)}" for c in shape.types_a)
            cols_b = ", ".join(f"x.{q(c)}" for c in shape.types_b)
            rows = con.execute(
                self._sides(batch, cols_a, cols_b)
                + f"SELECT {', '.join(selects)} FROM a FULL OUTER JOIN b "
                f"ON a.{_NODE} = b.{_NODE} AND {on} GROUP BY 1",
                self._params(batch),
            ).fetchall()
            counts = {row[0]: row[1:] for row in rows}
            zero = (0,) * (4 + len(shape.values))
            by_rows = []
            for node_id, a, b in batch:
                only_in_a, only_in_b, matched, changed, *cells = counts.get(node_id, zero)
                rows_a, rows_b = a.rows or 0, b.rows or 0
                # the key pairs rows one to one: no row of either table met two of the other
                if matched + only_in_a == rows_a and matched + only_in_b == rows_b:
                    identical = not (
                        only_in_a or only_in_b or changed or shape.only_a or shape.only_b
                    )
                    out[node_id] = TableDiff(
                        node_id, rows_a, rows_b, identical, "key", tuple(shape.key),
                        only_in_a, only_in_b, changed, dict(zip(shape.values, cells, strict=True)),
                        shape.only_a, shape.only_b,
                    )  # fmt: skip
                else:
                    by_rows.append((node_id, a, b))
        if by_rows:
            out.update(self._by_rows(con, by_rows, shape))
        return out

    def _by_rows(
        self, con: duckdb.DuckDBPyConnection, batch: list[tuple[str, Result, Result]], shape: _Shape
    ) -> dict[str, TableDiff]:
        """Whole rows as multisets over the shared columns (no usable key)."""

        def col(c: str) -> str:
            same = shape.types_a[c] == shape.types_b[c]
            return f"x.{_quote(c)}" if same else f"CAST(x.{_quote(c)} AS VARCHAR) AS {_quote(c)}"

        cols = ", ".join(col(c) for c in shape.shared) or "1 AS one"
        names = ", ".join(_quote(c) for c in shape.shared) or "one"
        rows = con.execute(
            self._sides(batch, cols, cols)
            + f"SELECT {_NODE}, 'a', count(*) FROM (SELECT {_NODE}, {names} FROM a EXCEPT ALL "
            f"SELECT {_NODE}, {names} FROM b) GROUP BY 1 UNION ALL "
            f"SELECT {_NODE}, 'b', count(*) FROM (SELECT {_NODE}, {names} FROM b EXCEPT ALL "
            f"SELECT {_NODE}, {names} FROM a) GROUP BY 1",
            self._params(batch),
        ).fetchall()
        counts = {(node, side): n for node, side, n in rows}
        out = {}
        for node_id, a, b in batch:
            only_in_a, only_in_b = counts.get((node_id, "a"), 0), counts.get((node_id, "b"), 0)
            identical = not (only_in_a or only_in_b or shape.only_a or shape.only_b)
            out[node_id] = TableDiff(
                node_id, a.rows, b.rows, identical, "rows", (), only_in_a, only_in_b, None, None,
                shape.only_a, shape.only_b,
            )  # fmt: skip
        return out


def _looks_like_key(name: str, arrow_type: str) -> bool:
    t = arrow_type.lower()
    if t.startswith(_TEXTUAL) or t.startswith("timestamp"):
        return True
    return t.startswith(("int", "uint")) and bool(_KEY_NAME.search(name))


def _differs(column: str, type_a: str, type_b: str) -> str:
    a, b = f"a.{_quote(column)}", f"b.{_quote(column)}"
    if type_a.lower().startswith(_FLOATS) and type_b.lower().startswith(_FLOATS):
        return (
            f"({a} IS DISTINCT FROM {b} AND NOT coalesce(abs({a} - {b}) <= "
            f"1e-9 * greatest(abs({a}), abs({b})), false))"
        )
    if type_a != type_b:
        return f"CAST({a} AS VARCHAR) IS DISTINCT FROM CAST({b} AS VARCHAR)"
    return f"{a} IS DISTINCT FROM {b}"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
