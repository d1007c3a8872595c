"""Bad input gets a clear error, and nothing already recorded is lost (issue 9 §5)."""

from __future__ import annotations

import random
import string
import subprocess
import sys
from pathlib import Path

import pytest

import prodex_jupyter as px
from prodex_jupyter.checks import DataRef, gather_evidence
from prodex_jupyter.runtime.run import RunEngineError
from prodex_jupyter.template import TemplateError
from prodex_jupyter.template.nodes import Gate

PRODEX = [sys.executable, "-m", "prodex_jupyter.cli.main"]
GATE = {"gate_id": "g", "name": "G", "instructions": "- at least 1 rows"}


# ------------------------------------------------------------------ YAML duplicate keys
def test_a_key_given_twice_in_a_yaml_template_is_refused_naming_key_and_line(tmp_path):
    path = tmp_path / "dup.prodex.yaml"
    path.write_text(
        "id: dup\n"
        "nodes:\n"
        "  - id: t\n"
        "    kind: source\n"
        "    path: t.csv\n"
        "    gate:\n"
        "      gate_id: first\n"
        "      name: First\n"
        "    gate:\n"
        "      gate_id: second\n"
        "      name: Second\n"
    )
    with pytest.raises(TemplateError) as err:
        px.load_template(path)
    message = str(err.value)
    assert str(path) in message
    assert "duplicate key 'gate' at line 9 (first given at line 6)" in message


def test_a_duplicate_key_in_a_nested_mapping_is_refused_too(tmp_path):
    path = tmp_path / "dup.prodex.yaml"
    path.write_text(
        "id: dup\nnodes:\n  - id: t\n    kind: source\n    path: t.csv\n"
        "    gate: {gate_id: g, name: G, name: H}\n"
    )
    with pytest.raises(TemplateError, match="duplicate key 'name' at line 6"):
        px.load_template(path)


# ------------------------------------------------------------------------ CSV encodings
LATIN = "name,n\ncafe,1\ncafé,2\nbar,3\n".encode("latin-1")


def test_a_csv_that_is_not_utf8_fails_its_source_naming_file_row_and_byte(tmp_path, store):
    (tmp_path / "t.csv").write_bytes(LATIN)
    tpl = px.Template("enc", base_dir=tmp_path)
    tpl.source("t", "t.csv", gate=GATE)
    tpl.output("n", sql="SELECT count(*) FROM t")
    run = tpl.run(store=store)
    run.wait(timeout=60)
    node = store.state(run.id).nodes["t"]
    assert node.state == "failed"
    assert f"source 't': {(tmp_path / 't.csv').resolve()} is not UTF-8" in node.error
    assert "the byte at offset 17 (data row 2, line 3)" in node.error
    assert "encoding: latin-1" in node.error
    assert "caf" not in node.error  # where, not what


@pytest.mark.parametrize("how", ["python", "yaml"])
def test_a_source_with_its_encoding_reads_the_file(tmp_path, store, how):
    (tmp_path / "t.csv").write_bytes(LATIN)
    if how == "python":
        tpl = px.Template("enc", base_dir=tmp_path)
        tpl.source("t", "t.csv", encoding="latin-1", gate=GATE)
        tpl.output("names", sql="SELECT string_agg(name, ' ' ORDER BY n) AS names FROM t")
    else:
        (tmp_path / "enc.prodex.yaml").write_text(
            "id: enc\nnodes:\n"
            "  - {id: t, kind: source, path: t.csv, encoding: latin-1}\n"
            "  - id: names\n    kind: output\n"
            "    sql: SELECT string_agg(name, ' ' ORDER BY n) AS names FROM t\n"
        )
        tpl = px.load_template(tmp_path / "enc.prodex.yaml")
    run = tpl.run(store=store, policy=px.confirm_high)
    run.wait(timeout=60)
    if run.gates[next(iter(run.gates))].status == "pending":
        run.confirm(next(iter(run.gates)), note="3 rows")
        run.wait(timeout=60)
    assert run.value("names") == "cafe café bar"


def test_encoding_is_part_of_the_template_dict_and_fingerprint(tmp_path):
    def build(encoding):
        tpl = px.Template("enc", base_dir=tmp_path)
        tpl.source("t", "t.csv", encoding=encoding)
        tpl.output("n", sql="SELECT count(*) FROM t")
        return tpl

    plain, latin = build(None), build("latin-1")
    assert latin.to_dict()["nodes"][0]["encoding"] == "latin-1"
    assert "encoding" not in plain.to_dict()["nodes"][0]
    assert plain.fingerprint != latin.fingerprint
    saved = latin.save(tmp_path / "enc.prodex.yaml")
    assert px.load_template(saved).fingerprint == latin.fingerprint
    with pytest.raises(TemplateError, match="node 't', field 'encoding': unknown encoding"):
        build("klingon-8")


def test_the_checker_reads_an_encoded_csv_and_refuses_a_bad_one_in_words(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(LATIN)
    gate = Gate("g", "G", instructions="- name in {cafe, café, bar}")
    good = gather_evidence(gate, DataRef(path=str(path), encoding="latin-1"), label="t")
    assert [c.status for c in good.checks] == ["pass"] and good.row_count == 3
    bad = gather_evidence(gate, DataRef(path=str(path)), label="t")
    assert bad.confidence == "low"
    assert "the byte at offset 17 (data row 2, line 3) is not valid UTF-8" in bad.checks[0].message


def test_invalid_utf8_past_the_first_block_is_found_when_streamed(tmp_path):
    path = tmp_path / "t.csv"
    rows = "".join(f"r{i},{i}\n" for i in range(200_000))  # about 2 MB: several blocks
    path.write_bytes(b"name,n\n" + rows.encode() + "café,1\n".encode("latin-1"))
    ev = gather_evidence(
        Gate("g", "G", instructions="- at least 1 rows"), DataRef(path=str(path)), label="t"
    )
    message = ev.checks[0].message
    assert "offset 2777790 (data row 200001, line 200002) is not valid UTF-8" in message


# ------------------------------------------------------------------------ rows too long
def test_a_csv_row_longer_than_the_reader_block_is_read(tmp_path, store):
    long_value = "y" * (3 << 20)
    (tmp_path / "t.csv").write_text(f"a,b\n1,x\n2,{long_value}\n3,z\n")
    tpl = px.Template("long", base_dir=tmp_path)
    tpl.source("t", "t.csv", gate=GATE)
    tpl.output("longest", sql="SELECT max(length(b)) FROM t")
    run = tpl.run(store=store)
    run.wait(timeout=60)
    run.confirm("g", note="three rows")
    run.wait(timeout=60)
    assert run.value("longest") == 3 << 20


def test_the_checker_says_in_words_what_a_row_longer_than_its_block_is(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,x\n2," + "y" * (3 << 20) + "\n")
    ev = gather_evidence(Gate("g", "G"), DataRef(path=str(path)), label="t")
    message = ev.checks[0].message
    assert "a row is longer than the CSV reader's block (1 MiB)" in message
    assert "straddling" not in message


# ------------------------------------------------------------------- python returns None
def test_a_python_node_returning_none_fails_saying_so(tmp_path, store):
    (tmp_path / "t.csv").write_text("a\n1\n2\n")
    tpl = px.Template("none", base_dir=tmp_path)
    tpl.source("t", "t.csv", gate=GATE)

    @tpl.python("forgot_return")
    def forgot_return(t):
        t["a"].sum()  # no return

    tpl.output("out", of="forgot_return")
    tpl.output("fine", sql="SELECT count(*) FROM t")
    run = tpl.run(store=store)
    run.wait(timeout=60)
    run.confirm("g", note="two rows")
    run.wait(timeout=60)
    assert run.status == "failed"
    error = store.state(run.id).nodes["forgot_return"].error
    assert "python node 'forgot_return' returned None" in error
    assert "must return its value, a DataFrame" in error
    assert run.value("fine") == 2


# ---------------------------------------------------------------------------- disk full
@pytest.fixture
def small_disk(tmp_path):
    """A real 4 MB filesystem (tmpfs) this test fills: no mock."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _random_csv(path: Path, seed: int) -> None:
    rng = random.Random(seed)
    lines = (f"{i},{''.join(rng.choices(string.ascii_letters, k=20))}\n" for i in range(40_000))
    path.write_text("a,s\n" + "".join(lines))


def _prodex(*args: str, store: Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*PRODEX, "--store", str(store), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def _fill(folder: Path) -> None:
    """Take every byte left on the filesystem."""
    with (folder / "filler").open("wb", buffering=0) as f:
        for size in (65536, 4096, 1):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                continue


def test_a_full_disk_says_so_keeps_the_record_and_delete_then_resume_continue(tmp_path, small_disk):
    """Run A fits, run B fills the disk: a short message, not a traceback; on a disk filled to
    the last byte `prodex delete A` frees space; `prodex resume B` then completes B."""
    work = tmp_path / "work"
    work.mkdir()
    _random_csv(work / "a.csv", 1)
    _random_csv(work / "b.csv", 2)
    (work / "fill.prodex.yaml").write_text(
        "id: fill\nnodes:\n"
        "  - id: t\n    kind: source\n    path: a.csv\n"
        "    gate: {gate_id: g, name: G, instructions: '- at least 1 rows'}\n"
        "  - {id: n0, kind: sql, sql: \"SELECT a + 1 AS a, s || 'x' AS s FROM t\"}\n"
        "  - {id: n1, kind: sql, sql: \"SELECT a + 2 AS a, s || 'y' AS s FROM n0\"}\n"
        "  - {id: total, kind: output, sql: SELECT sum(a) FROM n1}\n"
    )
    store = small_disk / "store"
    first = _prodex("run", "fill.prodex.yaml", "--confirm-high", store=store, cwd=work)
    assert first.returncode == 0, first.stderr
    (run_a,) = px.RunStore(store).run_ids()

    second = _prodex(
        "run", "fill.prodex.yaml", "--confirm-high", "--input", "t=b.csv", store=store, cwd=work
    )
    (run_b,) = set(px.RunStore(store).run_ids()) - {run_a}
    assert second.returncode == 3
    assert "Traceback" not in second.stdout + second.stderr
    assert f"the disk of the run store {store.resolve()} is full" in second.stderr
    assert f"then continue with `prodex resume {run_b}`" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    assert px.load_run(run_a, store).status == "completed"  # nothing recorded is lost
    assert px.verify_run(px.RunStore(store), run_a) == []
    assert px.verify_run(px.RunStore(store), run_b) == []

    _fill(small_disk)
    deleted = _prodex("delete", run_a, "--yes", store=store, cwd=work)
    assert deleted.returncode == 0, deleted.stderr
    assert f"deleted run {run_a}" in deleted.stdout
    assert px.RunStore(store).run_ids() == [run_b]

    resumed = _prodex("resume", run_b, store=store, cwd=work)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    done = px.load_run(run_b, store)
    assert done.status == "completed"
    assert done.value("total") == sum(range(40_000)) + 3 * 40_000


def test_a_full_disk_in_python_says_so_and_records_no_node_as_failed(tmp_path, small_disk):
    """The engine stops on a full disk: no node is marked failed for it (a resume redoes what
    was not recorded), and `run.wait()` says what happened and how to go on."""
    _random_csv(tmp_path / "t.csv", 3)
    tpl = px.Template("fill", base_dir=tmp_path)
    tpl.source("t", "t.csv", gate=GATE)
    for i in range(8):
        tpl.sql(f"n{i}", f"SELECT a + {i} AS a, s || '{i}' AS s FROM t")
    store = px.RunStore(small_disk / "store")
    run = tpl.run(store=store, policy=px.confirm_high)
    with pytest.raises(RunEngineError) as err:
        run.wait(timeout=120)
    message = str(err.value)
    assert f"the disk of the run store {store.root} is full" in message
    assert f"px.load_run('{run.id}').resume()" in message
    state = px.RunStore(small_disk / "store").state(run.id)
    assert state.status == "executing"  # stopped, not failed: it waits for a resume
    assert not [n for n, rec in state.nodes.items() if rec.state == "failed"]
    assert "t" in state.results  # what was recorded stays
