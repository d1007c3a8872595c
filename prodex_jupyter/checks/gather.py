"""gather_evidence: profile, checks, drift, grade and sentence for one gate on one dataset.

The data is read in one aggregate pass (profile and every check together), plus the first rows
for the sample; only failing checks read more (up to five offending rows each). Nothing is loaded
into pandas. A stream (a source the engine stores as it parses it) is read exactly once: its head
is kept for the sample, the aggregate consumes the rest as it goes by, and the later reads go to
the copy the engine stored. Called from worker threads: each call works in its own cursor on one
in-memory DuckDB database per process (a cursor costs microseconds; a new database about 20 ms).
A small Parquet file's pass is read by statements on two threads, each column in file order
(checks/split_pass.py): the same figures on both of the machine's cores.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from prodex_jupyter.checks.compile_sql import Compiled, Context, compile_check
from prodex_jupyter.checks.confidence import FEW_ROWS, grade
from prodex_jupyter.checks.csv_format import (
    invalid_utf8_message,
    is_conversion_error,
    is_invalid_utf8,
    is_straddling,
    straddling_message,
)
from prodex_jupyter.checks.custom import run_custom
from prodex_jupyter.checks.drift import compare
from prodex_jupyter.checks.evidence import CheckResult, Evidence
from prodex_jupyter.checks.figures import plural
from prodex_jupyter.checks.profile import (
    drop_wide_histograms,
    profile_expressions,
    read_head,
    read_profile,
    table_sample,
    text_columns,
)
from prodex_jupyter.checks.source import (
    DataRef,
    DataStream,
    SourceError,
    data_format,
    open_source,
    register_stream,
    resolve_path,
)
from prodex_jupyter.checks.split_pass import ParquetPass, aggregate_pass
from prodex_jupyter.checks.summary import summarize
from prodex_jupyter.template.instructions import (
    CheckSpec,
    InstructionError,
    parse_bullet,
    split_bullets,
)
from prodex_jupyter.template.nodes import Gate

HEAD_ROWS = 10_000  # first rows read to pick low-cardinality columns; the sample is their top 5
SAMPLE_ROWS = 5
SMALL_PARQUET_BYTES = 64 << 20  # read on the one-thread database (`_database`)


def gather_evidence(
    gate: Gate,
    data: DataRef,
    *,
    label: str,
    baseline: Evidence | None = None,
    resolve_node: Callable[[str], DataRef | None] | None = None,
    base_dir: str | Path | None = None,
) -> Evidence:
    """The evidence a person needs to confirm or reject `gate` on `data`.

    `baseline` is the evidence of the last run of the same template whose same gate was
    confirmed; drift is measured against it. `resolve_node` maps an upstream node's id to its
    output for known-set checks; other names are files relative to `base_dir`.
    """
    # a cursor: its own temp tables and settings, in a database shared by the process
    con = _database(one_thread=_one_thread(data, base_dir)).cursor()
    try:
        return _gather(con, gate, data, label, baseline, resolve_node, base_dir)
    finally:
        con.close()


@functools.cache
def _database(*, one_thread: bool = False) -> duckdb.DuckDBPyConnection:
    """The checker's in-memory DuckDB, created once per process (two: see `one_thread`).

    A CSV (streamed by pyarrow, or read by DuckDB with its options spelled out) gives the
    optimizer no row estimate (it guesses ~40 rows), so it would build the known-set join's
    hash table on the data instead of on the small set. Keeping the data on the probe side
    also lets `LIMIT 5` stop early.

    `one_thread`: for CSV files, which pyarrow parses on its own thread pool. DuckDB's worker
    threads would only compete with that parse for the same cores; one DuckDB thread consuming
    the stream is faster (10M rows here: 1.9 s against 2.1-2.5 s with two). A small CSV, read
    whole before DuckDB sees it, stays on this database too: one thread keeps its sums in one
    order, so its evidence is the stream's (offending rows are the first ones on any thread
    count: `Context.offending_rows`). A small Parquet file too: handing each statement's few
    row groups to worker threads costs more than it saves (1M rows here: 0.03 s of CPU and
    15 MiB more for no time saved).
    """
    config: dict[str, str | int] = {"disabled_optimizers": "build_side_probe_side"}
    if one_thread:
        config["threads"] = 1
    return duckdb.connect(config=config)


def _one_thread(data: DataRef, base_dir: str | Path | None) -> bool:
    """Whether the data is read on the one-thread database: a stream, a CSV file (opened as a
    pyarrow stream by `open_source`), a Parquet file of up to `SMALL_PARQUET_BYTES`."""
    if data.stream is not None or _small_parquet(data, base_dir):
        return True
    try:
        return data.table is None and bool(data.path) and data_format(data) == "csv"
    except SourceError:
        return False


def _small_parquet(data: DataRef, base_dir: str | Path | None) -> bool:
    """A Parquet file of up to `SMALL_PARQUET_BYTES`: read on the one-thread database, its pass
    on two threads (`split_pass`)."""
    if data.stream is not None or data.table is not None or not data.path:
        return False
    try:
        if data_format(data) != "parquet":
            return False
        return resolve_path(data.path, base_dir).stat().st_size <= SMALL_PARQUET_BYTES
    except (SourceError, OSError):
        return False


def _gather(
    con: duckdb.DuckDBPyConnection,
    gate: Gate,
    data: DataRef,
    label: str,
    baseline: Evidence | None,
    resolve_node: Callable[[str], DataRef | None] | None,
    base_dir: str | Path | None,
    warnings: list[str] | None = None,
) -> Evidence:
    full_sniff = warnings is not None
    notes = list(warnings or ())  # about reading the data; no check explains them
    warnings = list(notes)
    stream = data.stream
    if stream is not None:
        head, rest = _head_of(stream)
        if rest is None:  # the stream ended within the head: a table like any other
            stream, data = None, DataRef(table=head)
        else:
            data = DataRef(table=head)  # typed, and the sample and histograms chosen, from it
    try:
        source = open_source(con, data, base_dir=base_dir, full_sniff=full_sniff)
    except SourceError as exc:
        return _unreadable(gate, label, str(exc))

    ctx = Context(con=con, source_sql=source.sql, columns=source.columns)
    ctx.baseline_row_count = baseline.row_count if baseline is not None else None
    specs = _specs(gate.instructions)
    # A table in memory no longer than the head is its own head: its sample is a slice, and the
    # choice of histograms is made after the single pass, not by a statement of its own.
    small = data.table is not None and data.table.num_rows <= HEAD_ROWS
    both_cores = None  # a small Parquet file's pass starts on a second thread (`split_pass`)
    if _small_parquet(data, base_dir):
        early = profile_expressions(source.columns, frozenset())
        both_cores = ParquetPass(con, ctx.from_clause([]), early)
    try:
        if small:
            assert data.table is not None
            sample = table_sample(data.table, SAMPLE_ROWS)
            histograms = frozenset(text_columns(source.columns))
        else:
            sample, histograms = read_head(
                con, source.sql, source.columns, head_rows=HEAD_ROWS, sample_rows=SAMPLE_ROWS
            )
            ctx.histograms = histograms  # kept whole: checks may count from them
        outcomes: list[tuple[CheckSpec | None, Any]] = []
        for spec in specs:
            if isinstance(spec, CheckResult):  # a malformed bullet that slipped past validation
                outcomes.append((None, spec))
            else:
                outcomes.append(
                    (spec, compile_check(spec, ctx, resolve_node=resolve_node, base_dir=base_dir))
                )
        exprs = profile_expressions(source.columns, histograms)
        for _, out in outcomes:
            if isinstance(out, Compiled):
                exprs.extend(out.exprs)
        if stream is not None:  # the pass over the whole stream, its head first
            assert rest is not None
            whole = pa.RecordBatchReader.from_batches(stream.schema, rest)
            ctx.source_sql = register_stream(con, whole)
        if both_cores is not None:
            row = both_cores.finish(exprs, ctx.from_clause(), joins=bool(ctx.joins))
        else:
            row = aggregate_pass(con, exprs, ctx.from_clause())
        if small:
            drop_wide_histograms(row)
        if stream is not None:  # gone by: later reads go to the stored copy
            ctx.source_sql = open_source(con, stream.stored()).sql
            source = replace(source, sql=ctx.source_sql)
    except duckdb.Error as exc:
        if stream is not None:  # the stream's reader failed: it is the engine's to handle
            raise
        path = resolve_path(data.path, base_dir) if data.path else None
        if path and is_invalid_utf8(exc):  # past the block the file was typed from
            return _unreadable(gate, label, invalid_utf8_message(path))
        if path and is_straddling(exc):
            return _unreadable(gate, label, straddling_message(path))
        if not (source.guessed_types and is_conversion_error(exc)):
            return _unreadable(gate, label, f"cannot read {data.name}: {_first_line(exc)}")
        # The types guessed from the first rows do not hold further down: type the file from all
        # its rows, as pandas would, and say so (a warning, so confidence is at most medium).
        note = (
            "Column types guessed from the first rows did not hold for the whole file "
            f"({_conversion_error(exc)}); it was typed again from all its rows."
        )
        full = _database().cursor()  # DuckDB's own CSV reader: all its threads
        try:
            retyped = _gather(full, gate, data, label, baseline, resolve_node, base_dir, [note])
        finally:
            full.close()
        # the failed pass and the full sniff were reads of the data too
        return replace(retyped, data_passes=retyped.data_passes + 2)
    finally:
        if both_cores is not None:
            both_cores.close()
    ctx.row = row
    ctx.row_count, ctx.profiles = read_profile(source.columns, row)

    results: list[tuple[CheckSpec | None, CheckResult]] = []
    for spec, out in outcomes:
        results.append((spec, out.finish(ctx) if isinstance(out, Compiled) else out))
    if gate.custom_checks:
        rel = con.sql(f"SELECT * FROM {source.sql}")
        for ref in gate.custom_checks:
            results.append((None, run_custom(ref, rel)))

    drift = compare(label, ctx.row_count, ctx.profiles, baseline) if baseline else None
    checks = tuple(r for _, r in results)
    warnings.extend(r.message for r in checks if r.status == "warn")
    if drift is not None:
        warnings.extend(f.message for f in drift.warnings)
    if 0 < ctx.row_count < FEW_ROWS:
        warnings.append(f"Only {plural(ctx.row_count, 'row')} (fewer than {FEW_ROWS}).")
    profile_only = not specs and not gate.custom_checks
    confidence = grade(
        checks, row_count=ctx.row_count, warnings=warnings, profile_only=profile_only
    )
    summary = summarize(
        label,
        ctx.row_count,
        ctx.profiles,
        results,
        drift=drift,
        notes=notes,
        confidence=confidence,
        profile_only=profile_only,
    )
    return Evidence(
        label=label,
        row_count=ctx.row_count,
        columns=ctx.profiles,
        sample=sample,
        checks=checks,
        drift=drift,
        warnings=tuple(warnings),
        confidence=confidence,
        summary=summary,
        data_passes=1 + ctx.extra_reads,
        files=tuple(ctx.files),
    )


def _head_of(stream: DataStream) -> tuple[pa.Table, Any]:
    """The stream's first batches, at least `HEAD_ROWS` + 1 rows of them unless it ends first,
    as a table; and every batch, those first, as one iterator (None when the stream ended within
    the head, which then is the whole data)."""
    taken: list[pa.RecordBatch] = []
    rows = 0
    for batch in stream.batches:
        taken.append(batch)
        rows += batch.num_rows
        if rows > HEAD_ROWS:
            head = pa.Table.from_batches(taken, schema=stream.schema)
            return head, itertools.chain(taken, stream.batches)
    return pa.Table.from_batches(taken, schema=stream.schema), None


def _specs(instructions: str) -> list[CheckSpec | CheckResult]:
    out: list[CheckSpec | CheckResult] = []
    for bullet in split_bullets(instructions or ""):
        try:
            out.append(parse_bullet(bullet))
        except InstructionError as exc:
            out.append(CheckResult(bullet, "fail", f"Malformed instruction: {exc.reason}."))
    return out


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().split("\n")[0]


def _conversion_error(exc: BaseException) -> str:
    """pyarrow's words for it, without DuckDB's wrapping: 'In CSV column #0: Row #30002: ...'."""
    text = _first_line(exc)
    return text[text.index("In CSV") :] if "In CSV" in text else text


def _unreadable(gate: Gate, label: str, reason: str) -> Evidence:
    check = CheckResult("data can be read", "fail", reason)
    return Evidence(
        label=label,
        row_count=0,
        columns=(),
        sample=(),
        checks=(check,),
        drift=None,
        warnings=(),
        confidence="low",
        summary=f"{label.rstrip('.')}. {reason.rstrip('.')}. Confidence: low.",
        data_passes=0,
    )
