"""Offending rows are the first ones in the source's row order, on every run, when DuckDB reads
the data on several threads (Parquet files, Arrow tables): the record shows the same evidence
for the same input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import prodex_jupyter.checks.gather as gather_module
from prodex_jupyter.checks import DataRef, gather_evidence
from prodex_jupyter.checks.gather import _database
from prodex_jupyter.template.nodes import Gate

ROWS = 300_000
REPEATS = 5
CODES = "{" + ", ".join(f"C{i}" for i in range(12)) + "}"  # over 8 values: a join, as a file's
GATE = (
    "- code in known set from codes.csv (code)\n"
    f"- code in {CODES}\n"
    "- n between 0 and 400\n"
    "- no nulls in n\n"
    "- code matches ^C[0-9]+$\n"
    "- unique id2"
)


def _table() -> pa.Table:
    """Unknown codes every 997th row, nulls every 1009th, out-of-range values every 1013th,
    duplicates of id2 every 1019th: offending rows spread over many row groups."""
    ids = range(ROWS)
    return pa.table(
        {
            "id": list(ids),
            "code": [f"C{i % 12}" if i % 997 else f"X{i % 7}" for i in ids],
            "n": [None if i % 1009 == 0 else (999 if i % 1013 == 0 else i % 400) for i in ids],
            "id2": [i - 1 if i % 1019 == 0 and i else i for i in ids],
        }
    )


@pytest.fixture
def several_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The checker's database on four threads (whatever the machine's cores), as on a larger
    machine, and every Parquet file read there, however small; its setting restored afterwards."""
    monkeypatch.setattr(gather_module, "SMALL_PARQUET_BYTES", 0)
    con = _database()
    before = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET threads TO 4")
    yield
    con.execute(f"SET threads TO {before}")


def _first(table: pa.Table, mask: list[bool]) -> list[int]:
    return [i for i, bad in zip(table["id"].to_pylist(), mask, strict=True) if bad][:5]


@pytest.mark.parametrize("kind", ["parquet", "arrow"])
def test_offending_rows_are_the_first_in_row_order_on_every_run(
    tmp_path: Path, several_threads: None, kind: str
) -> None:
    table = _table()
    (tmp_path / "codes.csv").write_text("code\n" + "\n".join(f"C{i}" for i in range(12)) + "\n")
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=10_000)
    data = DataRef(path=str(path)) if kind == "parquet" else DataRef(table=table)
    gate = Gate("g", "Rows", instructions=GATE)
    records = [
        gather_evidence(gate, data, label="Data", base_dir=tmp_path).to_dict()
        for _ in range(REPEATS)
    ]
    assert all(r == records[0] for r in records[1:])
    rows = {c["bullet"]: c["unexpected_rows"] for c in records[0]["checks"]}
    codes, ns = table["code"].to_pylist(), table["n"].to_pylist()
    unknown = _first(table, [not c.startswith("C") for c in codes])
    assert unknown == [0, 997, 1994, 2991, 3988]
    assert [r["id"] for r in rows["code in known set from codes.csv (code)"]] == unknown
    assert [r["id"] for r in rows[f"code in {CODES}"]] == unknown
    assert [r["id"] for r in rows["code matches ^C[0-9]+$"]] == unknown
    assert [r["id"] for r in rows["n between 0 and 400"]] == _first(
        table, [n is not None and n > 400 for n in ns]
    )
    assert [r["id"] for r in rows["no nulls in n"]] == _first(table, [n is None for n in ns])
    assert rows["unique id2"][0] == {"id2": 1018, "n": 2}  # the smallest key among ties


@pytest.mark.parametrize("listed_limit", [1000, 0])
def test_a_known_set_counted_from_the_histogram_finds_the_same_first_rows(
    tmp_path: Path, several_threads: None, monkeypatch: pytest.MonkeyPatch, listed_limit: int
) -> None:
    """The values outside a known set, counted from the histogram, find their rows by a list of
    those values (no join); past `LISTED_LIMIT` values, by the numbered join: the same first five
    rows either way, on four threads."""
    from prodex_jupyter.checks import compile_sql

    monkeypatch.setattr(compile_sql, "LISTED_LIMIT", listed_limit)
    table = _table()
    (tmp_path / "codes.csv").write_text("code\n" + "\n".join(f"C{i}" for i in range(12)) + "\n")
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=10_000)
    gate = Gate("g", "Rows", instructions="- code in known set from codes.csv (code)")
    for _ in range(3):
        ev = gather_evidence(gate, DataRef(path=str(path)), label="Data", base_dir=tmp_path)
        (check,) = ev.checks
        assert check.unexpected_count == len([c for c in table["code"].to_pylist() if c[0] == "X"])
        assert [r["id"] for r in check.unexpected_rows] == [0, 997, 1994, 2991, 3988]


SPREAD_ROWS = 1_500_000
SPREAD_EVERY = 49_999  # offending rows in every part of the input, whatever thread reads it
SIX = "{" + ", ".join(f"C{i}" for i in range(6)) + "}"
EIGHT = "{" + ", ".join(str(i) for i in range(8)) + "}"


def _spread_table() -> pa.Table:
    """1.5M rows in record batches of 100,000 (enough for DuckDB to scan on several threads):
    a code outside {C0..C5} and a number outside {0..7} every 49,999th row."""
    ids = pa.array(range(SPREAD_ROWS), pa.int64())
    code = pa.array(
        [f"X{i % 3}" if i % SPREAD_EVERY == 0 else f"C{i % 6}" for i in ids.to_pylist()]
    )
    n = pa.array([9 if i % SPREAD_EVERY == 0 else i % 8 for i in ids.to_pylist()], pa.int64())
    table = pa.table({"id": ids, "code": code, "n": n})
    return pa.Table.from_batches(table.to_batches(max_chunksize=100_000))


@pytest.mark.parametrize("kind", ["parquet", "arrow"])
def test_a_small_inline_set_finds_the_first_rows_on_every_run(
    tmp_path: Path, several_threads: None, kind: str
) -> None:
    """An inline set of six to eight values (text and numbers) is a plain filter, never a join:
    DuckDB plans `NOT IN (...)` of six values or more as a join, which on four threads returned
    some five offending rows of an Arrow table rather than the first five."""
    table = _spread_table()
    path = tmp_path / "data.parquet"
    pq.write_table(table, path, row_group_size=100_000)
    data = DataRef(path=str(path)) if kind == "parquet" else DataRef(table=table)
    gate = Gate("g", "Rows", instructions=f"- code in {SIX}\n- n in {EIGHT}")
    first = [i * SPREAD_EVERY for i in range(5)]
    for _ in range(REPEATS):
        ev = gather_evidence(gate, data, label="Data", base_dir=tmp_path)
        for check in ev.checks:
            assert check.unexpected_count == len(range(0, SPREAD_ROWS, SPREAD_EVERY))
            assert [r["id"] for r in check.unexpected_rows] == first, check.bullet
