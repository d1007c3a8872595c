"""One pass per CSV source: read, hashed, stored as Parquet and profiled for its gate reading the
file once; the record is what reading it whole gave (same artifact, hash, evidence)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

import pytest

import prodex_jupyter as px
import prodex_jupyter.runtime.compute as compute
import prodex_jupyter.runtime.source_pass as source_pass
import prodex_jupyter.store.artifacts as artifacts
from prodex_jupyter.checks import DataRef, gather_evidence
from prodex_jupyter.checks import source as checks_source
from prodex_jupyter.checks.csv_format import read_csv_table
from prodex_jupyter.runtime.sql_sandbox import SqlSandbox, SqlSandboxError
from prodex_jupyter.store.artifacts import encode_table, file_sha256
from prodex_jupyter.template.nodes import Gate

ROWS = 90_000  # about 1.7 MiB: two 1 MiB blocks, and more rows than the checker's head
GATE = """- required columns: id, station, cycle, shift
- no nulls in station
- cycle between 0 and 90
- station in known set from stations.csv (code)
- at least 100 rows"""


def _write(tmp_path: Path, rows: int = ROWS, tail: str = "") -> Path:
    path = tmp_path / "big.csv"
    lines = ["id,station,cycle,shift"]
    for i in range(rows):
        station = "" if i % 997 == 5 else f"S{i % 7}"
        lines.append(f"{i},{station},{(i * 37) % 101}.5,{'ABC'[i % 3]}")
    path.write_text("\n".join(lines) + "\n" + tail)
    (tmp_path / "stations.csv").write_text("code\n" + "\n".join(f"S{i}" for i in range(6)) + "\n")
    return path


def _template(tmp_path: Path) -> px.Template:
    tpl = px.Template("pass", base_dir=tmp_path)
    tpl.source("big", "big.csv", gate={"gate_id": "g", "name": "Big", "instructions": GATE})
    tpl.sql("per_shift", "SELECT shift, count(*) AS n FROM big GROUP BY shift ORDER BY shift")
    tpl.output("stations", sql="SELECT count(DISTINCT station) FROM big")

    @tpl.python("mean_cycle")
    def mean_cycle(big):
        return float(big["cycle"].mean())

    tpl.output("mean", of="mean_cycle")
    tpl.output("shifts", of="per_shift")
    return tpl


@pytest.fixture
def small_row_groups(monkeypatch):
    """Row groups of 25,000 rows, for the streamed writer and the whole-table encoder alike, so
    a small file crosses row groups in the middle of a block."""
    monkeypatch.setattr(artifacts, "ROW_GROUP_ROWS", 25_000)
    monkeypatch.setattr(source_pass, "ROW_GROUP_ROWS", 25_000)


def _expected_evidence(path: Path, tmp_path: Path) -> dict:
    whole = read_csv_table(path)
    gate = Gate(gate_id="g", name="Big", instructions=GATE)
    return gather_evidence(
        gate, DataRef(table=whole), label=f"Source: {path.name}", base_dir=tmp_path
    ).to_dict()


def _plain(value):
    """The record's read-only mappings as dicts, to compare with evidence gathered here."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def test_a_gated_csv_source_is_read_once_and_recorded_as_if_read_whole(
    tmp_path, monkeypatch, small_row_groups
):
    path = _write(tmp_path)
    whole = read_csv_table(path)
    expected_artifact = hashlib.sha256(encode_table(whole)).hexdigest()
    expected_evidence = _expected_evidence(path, tmp_path)

    def refusing(read):
        def read_again(file, *args, **kwargs):
            assert Path(file) != path, "the source file was read a second time"
            return read(file, *args, **kwargs)

        return read_again

    # the whole-file reader, the separate file hash and the checker's own CSV reader (which
    # reads the known set) do not touch the source
    monkeypatch.setattr(compute, "read_csv_table", refusing(read_csv_table))
    monkeypatch.setattr(compute, "file_sha256", refusing(file_sha256))
    monkeypatch.setattr(checks_source, "csv_dataset", refusing(checks_source.csv_dataset))

    store = px.RunStore(tmp_path / "store")
    run = _template(tmp_path).run(store=store)
    run.wait(timeout=120)
    gate = run.gates["g"]
    assert gate.status == "pending"
    evidence = _plain(gate.evidence)
    unknown = next(c for c in evidence["checks"] if "known set" in c["bullet"])
    assert [r["id"] for r in unknown["unexpected_rows"]] == [6, 13, 20, 27, 34]  # S6, in order
    assert evidence == expected_evidence
    failing = {c["bullet"] for c in evidence["checks"] if c["status"] == "fail"}
    assert failing == {  # their offending rows come from the stored copy
        "no nulls in station",
        "cycle between 0 and 90",
        "station in known set from stations.csv (code)",
    }
    assert run.inputs["big"].sha256 == file_sha256(path)
    assert run.inputs["big"].rows == ROWS
    assert run.results["big"].artifact == expected_artifact
    assert store.artifacts.path(expected_artifact).is_file()
    assert not list(store.artifacts.root.glob("*.tmp"))  # nothing half-written left behind

    run.confirm("g", note="known gaps")
    run.wait(timeout=120)
    assert run.status == "completed"
    assert run.value("stations") == whole["station"].unique().drop_null().__len__()
    assert run.value("mean") == pytest.approx(whole["cycle"].to_pandas().mean())
    assert run.value("shifts").to_dict("list") == {"shift": ["A", "B", "C"], "n": [ROWS // 3] * 3}


@pytest.mark.parametrize("tail", ["", f"{ROWS},S1,n/a-ish,A\n"])
def test_a_small_file_parsed_whole_is_recorded_as_a_streamed_one(
    tmp_path, monkeypatch, small_row_groups, tail
):
    """A file of up to 64 MiB is parsed at once (its Parquet encoded beside the checker's pass),
    a larger one streamed: the same artifact bytes, file hash, rows, values and evidence, and
    the same fallback to reading it whole when a value past the first block does not fit."""
    path = _write(tmp_path, tail=tail)

    def record(store_dir: str) -> dict:
        store = px.RunStore(tmp_path / store_dir)
        run = _template(tmp_path).run(store=store)
        run.wait(timeout=120)
        evidence = _plain(run.gates["g"].evidence)
        run.confirm("g", note="known gaps")
        run.wait(timeout=120)
        assert not list(store.artifacts.root.glob("*.tmp"))
        return {
            "status": run.status,  # 'failed' with the tail: the mean of a text column
            "artifact": run.results["big"].artifact,
            "input": (run.inputs["big"].sha256, run.inputs["big"].rows),
            "values": (run.value("stations"), run.value("shifts").to_dict()),
            "evidence": evidence,
        }

    whole = record("whole")
    monkeypatch.setattr(source_pass, "WHOLE_FILE_BYTES", 0)  # every file streamed
    assert record("streamed") == whole
    assert whole["input"] == (file_sha256(path), ROWS + bool(tail))


def test_a_quoted_field_spanning_lines_across_a_block_boundary_is_one_value(
    tmp_path, monkeypatch, small_row_groups
):
    """A file without a quote is cut into blocks without looking for quoted newlines (the
    faster chunker); one whose only quoted field holds newlines across the first block's end
    still reads that field as one value, parsed whole, streamed, and by the checker alike."""
    path = _write(tmp_path)
    lines = path.read_text().splitlines(keepends=True)
    at, size = 0, 0
    while size < (1 << 20) - 200:  # the field starts 200 bytes before the first block ends
        size += len(lines[at])
        at += 1
    field = "S1" + "\nmore" * 80  # 480 bytes: over the block's end
    lines.insert(at, f'{ROWS},"{field}",1.5,A\n')
    path.write_text("".join(lines))

    def record(store_dir: str) -> tuple:
        run = _template(tmp_path).run(store=px.RunStore(tmp_path / store_dir))
        run.wait(timeout=120)
        evidence = _plain(run.gates["g"].evidence)
        return run.results["big"].artifact, run.inputs["big"].rows, evidence

    whole = record("whole")
    monkeypatch.setattr(source_pass, "WHOLE_FILE_BYTES", 0)  # every file streamed
    assert record("streamed") == whole
    assert whole[1] == ROWS + 1
    assert read_csv_table(path)["station"][at - 1].as_py() == field
    assert whole[2]["row_count"] == ROWS + 1
    assert whole[2] == _expected_evidence(path, tmp_path)


def test_types_not_holding_past_the_first_block_are_read_whole(tmp_path, monkeypatch):
    """`cycle` looks numeric in the first block and holds text at the end: the pass stops, the
    file is typed from all its rows, and nothing of the stopped pass is kept."""
    path = _write(tmp_path, tail=f"{ROWS},S1,n/a-ish,A\n")
    whole = read_csv_table(path)
    assert str(whole.schema.field("cycle").type) == "string"
    streams = []
    real = compute.CsvPass

    def counted(*args, **kwargs):
        streams.append(real(*args, **kwargs))
        return streams[-1]

    monkeypatch.setattr(compute, "CsvPass", counted)
    store = px.RunStore(tmp_path / "store")
    run = _template(tmp_path).run(store=store)
    run.wait(timeout=120)
    assert len(streams) == 1 and streams[0].error is not None  # the pass was tried, and stopped
    assert run.results["big"].artifact == hashlib.sha256(encode_table(whole)).hexdigest()
    assert ["cycle", "string"] in [list(c) for c in run.results["big"].columns]
    evidence = _plain(run.gates["g"].evidence)
    assert evidence == _expected_evidence(path, tmp_path)
    assert not list(store.artifacts.root.glob("*.tmp"))


def test_a_column_empty_in_the_first_block_is_typed_from_all_rows(tmp_path):
    """A first block that gives a column no value gives it no type: read whole, the column is
    typed from the rows further down, as before."""
    path = tmp_path / "t.csv"
    lines = ["a,b"] + [f"{i}," for i in range(80_000)] + ["80000,7"]
    path.write_text("\n".join(lines) + "\n")
    tpl = px.Template("late", base_dir=tmp_path)
    tpl.source("t", "t.csv")
    tpl.output("total", sql="SELECT sum(b) FROM t")
    run = tpl.run(store=px.RunStore(tmp_path / "store"))
    run.wait(timeout=120)
    run.confirm("t_input", note="one value")
    run.wait(timeout=120)
    assert run.value("total") == 7
    assert ["b", "int64"] in [list(c) for c in run.results["t"].columns]


def test_sql_reads_a_stored_artifact_lazily_and_nothing_outside_the_store(tmp_path):
    store = px.RunStore(tmp_path / "store")
    sha = store.artifacts.put_bytes(encode_table(read_csv_table(_write(tmp_path, rows=50))))
    sandbox = SqlSandbox(store.artifacts.root)
    got = sandbox.query(
        "n", "sql", "SELECT count(*) AS n FROM big", {"big": store.artifacts.path(sha)}
    )
    assert got.to_pylist() == [{"n": 50}]
    outside = tmp_path / "elsewhere.parquet"
    outside.write_bytes(store.artifacts.path(sha).read_bytes())
    with pytest.raises(SqlSandboxError, match="refused by the SQL sandbox"):
        sandbox.query("n", "sql", "SELECT count(*) FROM big", {"big": outside})


def test_a_pass_given_up_early_stops_its_parse_and_keeps_nothing(tmp_path, monkeypatch):
    """The parse runs ahead in a thread of its own; a consumer that stops after one batch (a
    failing gather) leaves it blocked on a full queue: discarding the pass stops it."""
    monkeypatch.setattr(source_pass, "WHOLE_FILE_BYTES", 0)  # every file streamed
    monkeypatch.setattr(source_pass, "PARSE_AHEAD", 1)
    path = _write(tmp_path, rows=300_000)  # about six blocks
    one = source_pass.CsvPass(path, None, px.RunStore(tmp_path / "store"), "run")
    assert next(one.batches).num_rows > 0
    one.discard()
    assert one._parse_thread is not None and not one._parse_thread.is_alive()
    assert not one._write_thread.is_alive()
    assert not one._tmp.exists()
