"""Evidence from real files and Arrow tables: the profile, each check's result with observed
figures and offending rows, and the one-pass cost."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

import prodex_jupyter.checks as checks_pkg
from prodex_jupyter.checks import DataRef, Evidence, gather_evidence
from prodex_jupyter.template.nodes import Gate

HEADER = "station,cycle_time,shift,recipe_code,ts\n"
ROWS = [
    "S01,12.0,A,R01,2024-01-01 06:00:00",
    "S02,94.0,B,R02,2024-01-02 07:00:00",
    "S03,50.5,C,R03,2024-01-03 08:00:00",
    "S01,40.0,A,R01,2024-01-04 09:00:00",
    "S02,60.0,B,R02,2024-01-05 10:00:00",
]


def write(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def gate(instructions: str = "", **kw) -> Gate:
    return Gate("g1", "Input shape", instructions=instructions, **kw)


def evidence(path: Path, instructions: str = "", **kw) -> Evidence:
    return gather_evidence(
        gate(instructions), DataRef(str(path)), label=f"Source: {path.name}", **kw
    )


def check(ev: Evidence, start: str):
    return next(c for c in ev.checks if c.bullet.startswith(start))


@pytest.fixture
def recipes(tmp_path: Path) -> Path:
    return write(tmp_path / "recipes.csv", ["R01,x", "R02,y", "R03,z"], header="code,label\n")


def test_profile_columns_types_nulls_ranges_top_values_and_sample(tmp_path: Path) -> None:
    rows = [*ROWS, "S03,,C,R03,2024-01-06 11:00:00"]
    ev = evidence(write(tmp_path / "w.csv", rows))
    assert ev.row_count == 6
    by = {c.name: c for c in ev.columns}
    assert [c.name for c in ev.columns] == ["station", "cycle_time", "shift", "recipe_code", "ts"]
    assert by["cycle_time"].type == "DOUBLE" and by["ts"].type == "TIMESTAMP"
    assert by["cycle_time"].null_count == 1 and by["station"].null_count == 0
    assert (by["cycle_time"].min, by["cycle_time"].max) == (12.0, 94.0)
    assert (by["ts"].min, by["ts"].max) == ("2024-01-01T06:00:00", "2024-01-06T11:00:00")
    assert by["shift"].top_values == (("A", 2), ("B", 2), ("C", 2))
    assert by["station"].distinct_count == 3
    assert by["cycle_time"].top_values == ()  # numbers get a range, not a value list
    assert len(ev.sample) == 5
    assert ev.sample[0] == {
        "station": "S01",
        "cycle_time": 12.0,
        "shift": "A",
        "recipe_code": "R01",
        "ts": "2024-01-01T06:00:00",
    }


def test_evidence_is_json_safe_and_round_trips(tmp_path: Path, recipes: Path) -> None:
    rows = [*ROWS, "S09,130.0,D,R77,2024-01-06 11:00:00"]
    ev = evidence(
        write(tmp_path / "w.csv", rows),
        "- cycle_time between 10 and 100\n- shift in {A, B, C}\n"
        "- recipe_code in known set from recipes.csv (code)\n"
        "- ts between 2024-01-01 and 2024-01-31",
        base_dir=tmp_path,
    )
    text = json.dumps(ev.to_dict())  # fails on dates, Decimals, NaN objects...
    assert Evidence.from_dict(json.loads(text)) == ev


def test_range_failure_reports_count_values_and_offending_rows(tmp_path: Path) -> None:
    rows = [*ROWS, "S04,7.2,A,R01,2024-01-06", "S04,101.5,B,R01,2024-01-07", "S05,130.0,C,R01,"]
    ev = evidence(write(tmp_path / "w.csv", rows), "- cycle_time between 10 and 100")
    res = check(ev, "cycle_time")
    assert res.status == "fail"
    assert res.message == "3 values of cycle_time outside [10, 100]: 7.2, 101.5, 130.0"
    assert res.unexpected_count == 3
    assert [r["cycle_time"] for r in res.unexpected_rows] == [7.2, 101.5, 130.0]
    assert res.unexpected_rows[0]["station"] == "S04"  # whole rows, as found
    assert res.observed == {"min": 7.2, "max": 130.0, "low": 10, "high": 100, "outside": 3}


def test_offending_rows_are_capped_at_five(tmp_path: Path) -> None:
    rows = [f"S{i:02d},{200 + i}.0,A,R01,2024-01-01" for i in range(12)]
    res = check(evidence(write(tmp_path / "w.csv", rows), "- cycle_time at most 100"), "cycle")
    assert res.unexpected_count == 12 and len(res.unexpected_rows) == 5
    assert res.message.endswith("204.0, …")


def test_range_on_dates_and_timestamps(tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", ROWS)
    inside = evidence(path, "- ts between 2023-12-01 and 2024-01-05")  # whole last day counts
    assert check(inside, "ts").unexpected_count == 0
    assert check(inside, "ts").status == "warn"  # 14 h from the end of a 36-day range: < 2%
    wide = evidence(path, "- ts between 2020-01-01 and 2025-12-31")
    assert check(wide, "ts").status == "pass"
    outside = evidence(path, "- ts between '2024-01-02 00:00' and '2024-01-31 00:00'")
    res = check(outside, "ts")
    assert res.status == "fail" and res.unexpected_count == 1
    assert res.unexpected_rows[0]["ts"] == "2024-01-01T06:00:00"


def test_range_on_text_column_counts_unreadable_values(tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", ["a,12", "b,unknown", "c,50"], header="k,v\n")
    res = check(evidence(path, "- v between 10 and 100"), "v")
    assert res.status == "fail" and res.unexpected_count == 1
    assert res.unexpected_rows == ({"k": "b", "v": "unknown"},)


def test_nulls_required_columns_row_counts(tmp_path: Path) -> None:
    rows = [*ROWS, "S03,,C,,2024-01-06"]
    ev = evidence(
        write(tmp_path / "w.csv", rows),
        "- required columns: station, cycle_time, operator\n"
        "- no nulls in station, cycle_time, recipe_code\n"
        "- at least 10 rows\n- between 1 and 100 rows",
    )
    req = check(ev, "required")
    assert req.status == "fail" and req.observed["missing"] == ["operator"]
    nulls = check(ev, "no nulls")
    assert nulls.status == "fail" and nulls.unexpected_count == 2
    assert nulls.observed == {"nulls": {"station": 0, "cycle_time": 1, "recipe_code": 1}}
    assert nulls.unexpected_rows[0]["station"] == "S03"
    assert check(ev, "at least").status == "fail"
    assert check(ev, "at least").message == "6 rows, fewer than the 10 required."
    assert check(ev, "between 1").status == "pass"


def test_inline_set_reports_unexpected_values_with_counts(tmp_path: Path) -> None:
    rows = [*ROWS, "S01,20,D,R01,2024-01-06", "S01,20,D,R01,2024-01-06", "S01,20,E,R01,"]
    res = check(evidence(write(tmp_path / "w.csv", rows), "- shift in {A, B, C}"), "shift")
    assert res.status == "fail" and res.unexpected_count == 3
    assert res.observed["unexpected_values"] == [["D", 2], ["E", 1]]
    assert "D ×2, E ×1" in res.message


def test_large_inline_set_and_numeric_set(tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", ["1,a", "2,b", "12,c"], header="line,x\n")
    many = "{" + ", ".join(str(i) for i in range(1, 11)) + "}"
    res = check(evidence(path, f"- line in {many}"), "line")
    assert res.status == "fail" and res.unexpected_count == 1
    assert res.unexpected_rows == ({"line": 12, "x": "c"},)
    assert check(evidence(path, "- line in {1, 2, 12}"), "line").status == "pass"


def test_known_set_from_file(tmp_path: Path, recipes: Path) -> None:
    rows = [*ROWS, "S01,20,A,R99,2024-01-06", "S01,20,A,,2024-01-06"]  # a null is not unknown
    ev = evidence(
        write(tmp_path / "w.csv", rows),
        "- recipe_code in known set from recipes.csv (code)",
        base_dir=tmp_path,
    )
    res = check(ev, "recipe_code")
    assert res.status == "fail" and res.unexpected_count == 1
    assert res.unexpected_rows[0]["recipe_code"] == "R99"
    assert res.observed["known_count"] == 3
    assert "R99" in res.message


def test_known_set_with_a_null_in_the_set_still_catches_unknowns(tmp_path: Path) -> None:
    write(tmp_path / "codes.csv", ["R01", "", "R02"], header="code\n")
    path = write(tmp_path / "w.csv", ["R01", "R05"], header="recipe_code\n")
    ev = evidence(path, "- recipe_code in known set from codes.csv (code)", base_dir=tmp_path)
    assert check(ev, "recipe_code").unexpected_count == 1


def test_known_set_from_an_upstream_node(tmp_path: Path) -> None:
    node = pa.table({"code": ["R01", "R02", "R03"]})
    asked: list[str] = []

    def resolve(name: str) -> DataRef | None:
        asked.append(name)
        return DataRef(table=node) if name == "recipes" else None

    ev = gather_evidence(
        gate("- recipe_code in known set from recipes (code)"),
        DataRef(str(write(tmp_path / "w.csv", ROWS))),
        label="Source: w.csv",
        resolve_node=resolve,
    )
    assert asked == ["recipes"]
    assert check(ev, "recipe_code").status == "pass"


def test_known_set_missing_source_or_column_fails(tmp_path: Path, recipes: Path) -> None:
    path = write(tmp_path / "w.csv", ROWS)
    ev = evidence(path, "- recipe_code in known set from nowhere.csv (code)", base_dir=tmp_path)
    assert check(ev, "recipe_code").status == "fail"
    assert "neither an upstream node nor a file" in check(ev, "recipe_code").message
    ev = evidence(path, "- recipe_code in known set from recipes.csv (id)", base_dir=tmp_path)
    assert "has no column id" in check(ev, "recipe_code").message


def test_unique_single_and_composite(tmp_path: Path) -> None:
    rows = ["S01,A", "S01,B", "S02,A", "S01,A", "S01,A"]
    path = write(tmp_path / "w.csv", rows, header="station,shift\n")
    ev = evidence(path, "- unique station\n- unique (station, shift)\n- unique shift")
    single = check(ev, "unique station")
    assert single.status == "fail" and single.unexpected_count == 3
    assert single.unexpected_rows[0] == {"station": "S01", "n": 4}
    pair = check(ev, "unique (station")
    assert pair.unexpected_count == 2
    assert pair.unexpected_rows == ({"station": "S01", "shift": "A", "n": 3},)
    assert "(S01, A) ×3" in pair.message
    ok = write(tmp_path / "ok.csv", ["S01,A", "S01,B"], header="station,shift\n")
    assert check(evidence(ok, "- unique (station, shift)"), "unique").status == "pass"


def test_matches(tmp_path: Path) -> None:
    rows = [*ROWS, "S01,20,A,R1,2024-01-06", "S01,20,A,X01,2024-01-06"]
    res = check(evidence(write(tmp_path / "w.csv", rows), "- recipe_code matches ^R[0-9]{2}$"), "r")
    assert res.status == "fail" and res.unexpected_count == 2
    assert [r["recipe_code"] for r in res.unexpected_rows] == ["R1", "X01"]


@pytest.mark.parametrize(
    ("bullet", "status", "figure"),
    [
        ("mean of cycle_time between 30 and 60", "pass", 51.3),
        ("median of cycle_time between 30 and 60", "pass", 50.5),
        ("min of cycle_time at least 20", "fail", 12.0),
        ("max of cycle_time at most 90", "fail", 94.0),
        ("sum of cycle_time between 0 and 1000", "pass", 256.5),
    ],
)
def test_aggregate_sanity_checks(tmp_path: Path, bullet: str, status: str, figure: float) -> None:
    res = evidence(write(tmp_path / "w.csv", ROWS), f"- {bullet}").checks[0]
    assert res.status == status
    func = bullet.split()[0]
    assert res.observed[func] == pytest.approx(figure)


def test_missing_column_in_a_check_fails_without_breaking_others(tmp_path: Path) -> None:
    ev = evidence(write(tmp_path / "w.csv", ROWS), "- speed between 1 and 2\n- at least 1 rows")
    assert check(ev, "speed").status == "fail"
    assert "speed not found" in check(ev, "speed").message
    assert check(ev, "at least").status == "pass"


def test_column_names_match_case_insensitively_like_duckdb(tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", ["1", "2"], header="Cycle_Time\n")
    ev = evidence(path, "- required columns: cycle_time\n- cycle_time between 0 and 5")
    assert [c.status for c in ev.checks] == ["pass", "pass"]


@pytest.mark.parametrize("fmt", ["parquet", "json", "ndjson"])
def test_other_file_formats(tmp_path: Path, fmt: str) -> None:
    src = write(tmp_path / "w.csv", ROWS)
    target = tmp_path / f"w.{fmt}"
    options = {
        "parquet": "FORMAT parquet",
        "json": "FORMAT json, ARRAY true",
        "ndjson": "FORMAT json",
    }
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{src}')) TO '{target}' ({options[fmt]})")
    ev = evidence(target, "- cycle_time between 10 and 100\n- shift in {A, B, C}")
    assert ev.row_count == 5
    assert [c.status for c in ev.checks] == ["pass", "pass"]


class OneStatement:
    """Stands in for `split_pass.ParquetPass`: the pass as the single statement it replaces."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *_: object) -> None:
        self.con = con

    def finish(self, exprs: list[tuple[str, str]], from_sql: str, **_: object) -> dict:
        from prodex_jupyter.checks.split_pass import aggregate_pass

        return aggregate_pass(self.con, exprs, from_sql)

    def close(self) -> None:
        pass


@pytest.mark.parametrize("join", [False, True])
def test_a_small_parquet_files_pass_on_two_threads_is_the_single_statements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, join: bool
) -> None:
    """A small Parquet file's pass runs as statements on two threads (the profile's counts,
    minimums and maximums while the head is read, then the histograms and checks shared; with
    a known-set join, those on this thread): the record is the single statement's, sums,
    histograms and offending rows included."""
    import pyarrow.parquet as pq

    from prodex_jupyter.checks import gather as gather_module
    from prodex_jupyter.checks import split_pass

    n = 200_000
    table = pa.table(
        {
            "code": [f"C{i % 7}" if i % 9973 else "X1" for i in range(n)],
            "shift": ["ABC"[i % 3] for i in range(n)],
            "v": [((i * 7919) % 10007) / 3.0 if i % 101 else None for i in range(n)],
            "k": [i % 5 for i in range(n)],
            "ts": pa.array(range(0, n * 1_000_000, 1_000_000), pa.timestamp("us")),
        }
    )
    path = tmp_path / "d.parquet"
    pq.write_table(table, path, row_group_size=30_000)
    write(tmp_path / "codes.csv", [f"C{i}" for i in range(7)], header="code\n")
    write(tmp_path / "ks.csv", ["0", "1", "2", "3"], header="k\n")
    instructions = (
        "- code in known set from codes.csv (code)\n- shift in {A, B}\n- no nulls in v\n"
        "- mean of v between 1000 and 2000\n- sum of v between 0 and 1\n- v between 1 and 3000"
        + ("\n- k in known set from ks.csv (k)" if join else "")
    )
    fetched: list[list[str]] = []
    fetch = split_pass.ParquetPass._fetch

    def counted(self: split_pass.ParquetPass, exprs: list[tuple[str, str]]) -> dict:
        fetched.append([alias for alias, _ in exprs])
        return fetch(self, exprs)

    monkeypatch.setattr(split_pass.ParquetPass, "_fetch", counted)
    both = evidence(path, instructions, base_dir=tmp_path).to_dict()

    monkeypatch.setattr(gather_module, "ParquetPass", OneStatement)
    one = evidence(path, instructions, base_dir=tmp_path).to_dict()
    assert len(fetched) == (1 if join else 2)  # the early profile; a share of the rest
    assert any(alias.startswith("hist_") for alias in fetched[-1]) is not join
    assert both == one
    statuses = [c["status"] for c in one["checks"]]
    assert statuses == ["fail", "fail", "fail", "pass", "fail", "fail"] + ["fail"] * join


def test_a_damaged_small_parquet_file_says_what_the_single_statement_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Damage past the head fails the statements on two threads elsewhere than the single
    statement (here a Snappy failure, not a Thrift one): the record keeps the single
    statement's message."""
    import pyarrow.parquet as pq

    from prodex_jupyter.checks import gather as gather_module

    n = 300_000
    table = pa.table(
        {"code": [f"C{i % 5}" for i in range(n)], "v": [float(i % 1000) for i in range(n)]}
    )
    path = tmp_path / "damaged.parquet"
    pq.write_table(table, path, row_group_size=50_000)
    data = bytearray(path.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 2000] = b"\xab" * 2000
    path.write_bytes(bytes(data))
    instructions = "- v between 0 and 500\n- no nulls in v"
    both = evidence(path, instructions).to_dict()

    monkeypatch.setattr(gather_module, "ParquetPass", OneStatement)
    one = evidence(path, instructions).to_dict()
    assert both == one
    assert one["checks"][0]["message"].startswith("cannot read damaged.parquet: ")


def test_an_empty_parquet_file_has_a_profile_and_no_sample(tmp_path: Path) -> None:
    """The head of a file without rows counts no distinct values (not NULL)."""
    import pyarrow.parquet as pq

    path = tmp_path / "empty.parquet"
    pq.write_table(
        pa.table({"code": pa.array([], pa.string()), "n": pa.array([], pa.int64())}), path
    )
    ev = evidence(path, "- at least 1 rows")
    assert (ev.row_count, ev.sample) == (0, ())
    assert [(c.name, c.null_count, c.distinct_count) for c in ev.columns] == [
        ("code", 0, 0),
        ("n", 0, None),
    ]
    assert ev.checks[0].status == "fail"


def test_in_memory_arrow_table(tmp_path: Path) -> None:
    table = pa.table({"station": ["S1", "S2", None], "mean_cycle": [40.0, 55.0, 61.0]})
    ev = gather_evidence(
        gate("- mean of mean_cycle between 30 and 60\n- no nulls in station"),
        DataRef(table=table),
        label="Node: station_means",
    )
    assert ev.row_count == 3
    assert check(ev, "mean of").status == "pass"
    assert check(ev, "no nulls").status == "fail"
    assert ev.summary.startswith("Node: station_means.")


def test_unreadable_source_gives_low_confidence_evidence(tmp_path: Path) -> None:
    ev = evidence(tmp_path / "absent.csv", "- at least 1 rows")
    assert ev.confidence == "low"
    assert ev.checks[0].status == "fail" and "not found" in ev.checks[0].message


def test_types_that_break_after_the_sniffed_rows_are_retyped(tmp_path: Path) -> None:
    rows = [str(i % 50) for i in range(400_000)] + ["unknown"]  # past the first block typed
    path = write(tmp_path / "w.csv", rows, header="v\n")
    assert path.stat().st_size > 1 << 20
    ev = evidence(path, "- v between 0 and 100")
    assert ev.columns[0].type == "VARCHAR"
    assert check(ev, "v").unexpected_count == 1  # 'unknown' cannot be read as a number
    assert any("did not hold" in w for w in ev.warnings)
    assert "did not hold" in ev.summary
    assert ev.data_passes == 4  # failed pass, full sniff, the pass, the offending row


def test_pandas_null_markers_are_nulls_in_every_column(tmp_path: Path) -> None:
    """Files are read as pandas reads them: NA, N/A, null, NaN and empty fields are missing."""
    rows = ["S01,12.0,A", "NA,N/A,", "null,NaN,B", ",,C"]
    ev = evidence(write(tmp_path / "w.csv", rows, header="station,cycle_time,shift\n"))
    by = {c.name: c for c in ev.columns}
    assert by["cycle_time"].type == "DOUBLE"
    assert (by["station"].null_count, by["cycle_time"].null_count, by["shift"].null_count) == (
        3,
        3,
        1,
    )


def test_header_only_file_has_text_columns_and_no_rows(tmp_path: Path) -> None:
    ev = evidence(write(tmp_path / "w.csv", [], header="station,cycle_time\n"), "- at least 1 rows")
    assert ev.row_count == 0 and ev.confidence == "low"
    assert [(c.name, c.type) for c in ev.columns] == [
        ("station", "VARCHAR"),
        ("cycle_time", "VARCHAR"),
    ]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("semi.csv", "k;v\na;1\nb;2\nc;3\n"),
        ("tabs.tsv", "k\tv\na\t1\nb\t2\nc\t3\n"),
        ("quoted.csv", 'k,v\n"a, with comma",1\n"b ""quoted""",2\n"c\nspanning lines",3\n'),
    ],
)
def test_csv_dialects_delimiters_quotes_and_multiline_fields(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    ev = evidence(path, "- v between 0 and 10\n- required columns: k, v")
    assert ev.row_count == 3 and [c.status for c in ev.checks] == ["pass", "pass"]
    assert [c.name for c in ev.columns] == ["k", "v"]


def test_gzipped_csv(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "w.csv.gz"
    path.write_bytes(gzip.compress((HEADER + "\n".join(ROWS) + "\n").encode()))
    ev = evidence(path, "- cycle_time between 10 and 100")
    assert ev.row_count == 5 and ev.checks[0].status == "pass"


def test_one_scan_when_everything_passes_and_five_rows_per_failure(tmp_path: Path) -> None:
    path = write(tmp_path / "w.csv", ROWS)
    write(tmp_path / "recipes.csv", ["R01", "R02", "R03"], header="code\n")
    clean = evidence(
        path,
        "- required columns: station\n- no nulls in station\n- cycle_time between 10 and 100\n"
        "- shift in {A, B, C}\n- recipe_code in known set from recipes.csv (code)\n"
        "- at least 2 rows\n- recipe_code matches ^R\n- mean of cycle_time between 10 and 90",
        base_dir=tmp_path,
    )
    assert {c.status for c in clean.checks} == {"pass"}
    assert clean.data_passes == 1
    failing = evidence(path, "- cycle_time between 50 and 60\n- shift in {A}")
    assert failing.data_passes == 3  # the pass, then one LIMIT 5 read per failing check


def test_checker_never_imports_pandas() -> None:
    """Sources are profiled by DuckDB; no module of the checker may import pandas."""
    package = Path(checks_pkg.__file__).parent
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not name.startswith(
                    ("pandas", "prodex_jupyter.store", "prodex_jupyter.runtime")
                ), (
                    module.name,
                    name,
                )


def test_gather_evidence_runs_in_worker_threads(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    path = write(tmp_path / "w.csv", ROWS)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: evidence(path, "- at least 5 rows"), range(8)))
    assert {r.confidence for r in results} == {"medium"}  # 5 rows: fewer than 30
    assert {r.row_count for r in results} == {5}


def _several_blocks(path: Path, tail: str = "") -> Path:
    """A CSV of about 3 MiB (three of pyarrow's blocks): a text column of 30 codes plus rare
    unknown ones, a number with nulls and a timestamp; `tail` rows appended after the first
    block."""
    rows = [
        (f"R{i % 30:02d}," if i % 997 else f"X{i % 7},")
        + f"{'' if i % 101 == 0 else i % 500},2024-01-{i % 28 + 1:02d} 10:{i % 60:02d}:00"
        for i in range(90_000)
    ]
    path.write_text("code,n,ts\n" + "\n".join(rows) + "\n" + tail)
    assert path.stat().st_size > 2 << 20
    return path


GATE_SEVERAL = (
    "- code in known set from codes.csv (code)\n- n between 0 and 400\n"
    "- mean of n between 0 and 300\n- code is unique\n- no nulls in n"
)


@pytest.mark.parametrize("tail", ["", "R01,unknown,2024-02-01 00:00:00\n"])
def test_a_small_csv_read_whole_gives_the_evidence_of_the_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tail: str
) -> None:
    """A file of up to 64 MiB is parsed whole rather than streamed: the same types (from the
    first block, even where pyarrow's table reader would type a column from all its rows), the
    same figures, offending rows in the same order, and the same retyping when a value past the
    first block does not fit."""
    from prodex_jupyter.checks import csv_format

    path = _several_blocks(tmp_path / "w.csv", tail)
    write(tmp_path / "codes.csv", [f"R{i:02d}" for i in range(30)], header="code\n")
    whole = evidence(path, GATE_SEVERAL, base_dir=tmp_path)
    # read whole (unless a value does not fit), the code column (37 values) is dictionary-encoded
    table = csv_format.small_csv_table(path)
    assert table is None if tail else table.schema.field("code").type.value_type == "string"
    monkeypatch.setattr(csv_format, "WHOLE_FILE_BYTES", 0)  # every file streamed
    streamed = evidence(path, GATE_SEVERAL, base_dir=tmp_path)
    assert whole.to_dict() == streamed.to_dict()
    assert check(whole, "code in").unexpected_count == 91  # X0..X6, every 997th row
    assert any("did not hold" in w for w in whole.warnings) == bool(tail)


@pytest.mark.parametrize(("newline", "quoted"), [("\n", False), ("\r\n", True), ("\n", True)])
def test_the_first_block_read_from_the_head_of_the_file_is_the_streams(
    tmp_path: Path, newline: str, quoted: bool
) -> None:
    """The file's types and first block come from its first two blocks of bytes (pyarrow's
    stream reader would read the whole file ahead): the same schema and rows as the stream
    opened on the file, with quoted fields spanning lines and CRLF line ends too."""
    import pyarrow.csv as pa_csv

    from prodex_jupyter.checks import csv_format

    path = tmp_path / "w.csv"
    with path.open("w", newline="") as f:
        f.write("id,txt,x,when" + newline)
        for i in range(120_000):
            txt = f'"line {i}\nmore, ""quoted"""' if quoted and i % 7 == 0 else f"t{i % 13}"
            x = "" if i % 100 == 0 else str(i * 0.5)
            f.write(f"{i},{txt},{x},2024-01-{i % 28 + 1:02d} 10:00:00{newline}")
    assert path.stat().st_size > 2 * csv_format.BLOCK_BYTES
    parse, convert = csv_format.csv_options(path)
    read = pa_csv.ReadOptions(block_size=csv_format.BLOCK_BYTES)
    with pa_csv.open_csv(
        path, read_options=read, parse_options=parse, convert_options=convert
    ) as stream:
        expected = stream.schema, next(iter(stream))
    schema, first = csv_format.first_block(path, None, parse, convert)
    assert schema.equals(expected[0]) and first is not None and first.equals(expected[1])
    assert 0 < first.num_rows < 120_000


def test_values_outside_a_known_set_counted_from_the_histogram_as_sql_counts_them(
    tmp_path: Path, recipes: Path
) -> None:
    """A text column whose histogram rides in the pass has its values outside a known set counted
    from it: the same count as DuckDB's own NOT IN over the file, nulls and case kept apart."""
    rows = [f"{c},1,2024-01-01 00:00:00" for c in ["R01", "r01", "R02", "", "R04", "R03 "] * 3000]
    path = write(tmp_path / "w.csv", rows, header="code,n,ts\n")
    ev = evidence(path, "- code in known set from recipes.csv (code)", base_dir=tmp_path)
    expected = duckdb.execute(
        f"SELECT count(*) FROM read_csv('{path}', all_varchar=true) "
        "WHERE code IS NOT NULL AND code NOT IN ('R01', 'R02', 'R03')"
    ).fetchall()[0][0]
    assert expected == 9000
    result = check(ev, "code in")
    assert result.unexpected_count == expected and result.observed["outside"] == expected
    assert ev.column("code").categories is not None  # the histogram was there to count from
    assert [r["code"] for r in result.unexpected_rows] == ["r01", "R04", "R03 ", "r01", "R04"]
