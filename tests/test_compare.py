"""Comparing runs: outputs side by side, table cell differences by DuckDB, and whether a shift came
from updated source data or from a changed template."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import prodex_jupyter as px

REPO = Path(__file__).resolve().parents[1]


def _write(path: Path, rows: list[tuple[str, int, int]]) -> Path:
    path.write_text("k,a,b\n" + "".join(f"{k},{a},{b}\n" for k, a, b in rows))
    return path


BASE = [(f"k{i}", i, i % 3) for i in range(10)]


def template(
    tmp_path: Path, *, sql: str = "SELECT k, a, b FROM t", explanation: str = ""
) -> px.Template:
    tpl = px.Template("kpis", base_dir=tmp_path)
    tpl.source(
        "t", "t.csv", gate={"gate_id": "g", "name": "G", "instructions": "- at least 1 rows"}
    )
    tpl.sql("per_key", sql, explanation=explanation)
    tpl.output("table", of="per_key")
    tpl.output("total", sql="SELECT sum(a) AS total FROM per_key")
    tpl.output("label", sql="SELECT 'kpis' AS label FROM per_key LIMIT 1")  # text output
    tpl.sql("numbers", "SELECT a, b FROM t")  # no key-like column: compared as whole rows
    tpl.output("numbers_out", of="numbers")
    return tpl


def run(tpl: px.Template, store, rows=None, path=None) -> px.Run:
    if rows is not None:
        _write(path, rows)
    r = tpl.run(store=store).wait(timeout=30)
    r.confirm("g").wait(timeout=30)
    assert r.status == "completed"
    return r


def test_updated_source_data_shows_as_changed_inputs_with_cell_level_table_differences(
    tmp_path, store
):
    path = tmp_path / "t.csv"
    first = run(template(tmp_path), store, BASE, path)
    changed = [(k, a * 10 if k in ("k1", "k2") else a, b) for k, a, b in BASE if k != "k9"]
    second = run(template(tmp_path), store, [*changed, ("k10", 10, 1)], path)

    cmp = px.compare(first, second)
    pair = cmp.pairs[0]
    assert pair.verdict() == "updated source data ('t'); template unchanged"
    (change,) = pair.inputs_changed
    assert change.node_id == "t"
    assert (change.a.sha256, change.b.sha256) == (
        first.inputs["t"].sha256,
        second.inputs["t"].sha256,
    )
    assert not pair.template.changed

    # scalars: both values, absolute and relative change
    total = cmp.outputs.loc["total"]
    before, after = sum(range(10)), sum(range(10)) - 9 + 9 + 18 + 10
    assert (total[first.id], total[second.id]) == (before, after)
    assert total["change"] == after - before
    assert total["rel_change"] == pytest.approx((after - before) / before)
    label = cmp.outputs.loc["label"]
    assert (label[first.id], label[second.id]) == ("kpis", "kpis")
    assert pd.isna(label["change"])  # no arithmetic on text

    # tables: row counts and a cell-level summary aligned on the key column k
    diff = cmp.tables["table"]
    assert (diff.rows_a, diff.rows_b, diff.rule, diff.key) == (10, 10, "key", ("k",))
    assert (diff.only_in_a, diff.only_in_b, diff.changed_rows) == (1, 1, 2)
    assert diff.changed_cells == {"a": 2, "b": 0}
    assert not diff.identical
    assert cmp.outputs.loc["table", "change"] == 0

    # no key-like column: rows compared whole
    rows = cmp.tables["numbers_out"]
    assert (rows.rule, rows.changed_cells, rows.key) == ("rows", None, ())
    assert (rows.only_in_a, rows.only_in_b) == (3, 3)  # k1, k2, k9 out; k1, k2, k10 in


def test_a_changed_template_names_the_nodes_and_what_changed_in_them(tmp_path, store):
    path = tmp_path / "t.csv"
    first = run(template(tmp_path), store, BASE, path)
    edited = template(tmp_path, sql="SELECT k, a * 2 AS a, b FROM t", explanation="doubled")
    second = run(edited, store)

    cmp = px.compare(first.id, second.id, store=store)
    pair = cmp.pairs[0]
    assert pair.inputs_changed == ()
    assert pair.template.changed
    assert pair.template.nodes == {"per_key": ("code", "explanation")}
    assert pair.verdict() == "changed template (per_key); same source data"
    assert (pair.template.fingerprint_a, pair.template.fingerprint_b) == (
        first.state.fingerprint,
        second.state.fingerprint,
    )
    assert cmp.tables["table"].changed_cells == {"a": 9, "b": 0}  # k0 doubles to 0: unchanged
    assert cmp.tables["numbers_out"].identical and cmp.tables["numbers_out"].rule == "same artifact"

    gated = template(tmp_path)
    gated = px.Template.from_dict(
        {
            **gated.to_dict(),
            "nodes": [
                {**n, "gate": {**n["gate"], "instructions": "- at least 2 rows"}}
                if n["id"] == "t"
                else n
                for n in gated.to_dict()["nodes"]
            ],
        },
        base_dir=tmp_path,
    )
    third = run(gated, store)
    assert px.compare(first, third).pairs[0].template.nodes == {"t": ("gate",)}


def test_both_changed_and_three_runs_give_a_trend_per_scalar_output(tmp_path, store):
    path = tmp_path / "t.csv"
    runs = [run(template(tmp_path), store, BASE, path)]
    runs.append(run(template(tmp_path), store, [(k, a + 1, b) for k, a, b in BASE], path))
    edited = template(tmp_path, sql="SELECT k, a * 2 AS a, b FROM t")
    runs.append(run(edited, store, [(k, a + 2, b) for k, a, b in BASE], path))

    cmp = px.compare(*runs)
    assert [p.verdict() for p in cmp.pairs] == [
        "updated source data ('t'); template unchanged",
        "both changed: source data of 't' and the template (per_key)",
    ]
    trend = cmp.trend()
    assert list(trend.index) == [r.id for r in runs]
    assert list(trend.columns) == ["total"]  # numeric scalar outputs only
    assert list(trend["total"]) == [45.0, 55.0, 130.0]
    assert cmp.outputs.loc["total", "change"] == 85  # first -> last


def test_runs_of_different_pipelines_or_fewer_than_two_are_refused(tmp_path, store):
    path = tmp_path / "t.csv"
    one = run(template(tmp_path), store, BASE, path)
    other = px.Template("other", base_dir=tmp_path)
    other.source(
        "t", "t.csv", gate={"gate_id": "g", "name": "G", "instructions": "- at least 1 rows"}
    )
    two = run(other, store)
    with pytest.raises(ValueError, match=rf"one pipeline.*{one.id} \(kpis\), {two.id} \(other\)"):
        px.compare(one, two)
    with pytest.raises(ValueError, match="at least two runs"):
        px.compare(one)
    with pytest.raises(LookupError, match="no run 'run-nope'"):
        px.compare(one.id, "run-nope", store=store)


def test_prodex_compare_prints_outputs_and_what_changed(tmp_path, store):
    path = tmp_path / "t.csv"
    first = run(template(tmp_path), store, BASE, path)
    second = run(template(tmp_path), store, [(k, a + 1, b) for k, a, b in BASE], path)
    out = subprocess.run(
        [
            sys.executable, "-m", "prodex_jupyter.cli.main", "--store", str(store.root),
            "compare", first.id, second.id,
        ],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert f"{first.id} -> {second.id}: updated source data ('t'); template unchanged" in text
    sha_a, sha_b = first.inputs["t"].sha256[:12], second.inputs["t"].sha256[:12]
    assert f"input t: changed: t.csv (sha256 {sha_a}, 10 rows) -> t.csv (sha256 {sha_b}" in text
    assert "template unchanged" in text
    total = next(line for line in text.splitlines() if line.startswith("total"))
    assert total.split()[1:] == ["scalar", "45", "55", "10.0", "0.222222"]
    assert (
        "table: rows 10 -> 10; aligned on k; 0 only in A, 0 only in B; 10 rows changed (a: 10)"
        in text
    )


def test_duplicate_keys_that_meet_fall_back_to_comparing_whole_rows(tmp_path, store):
    path = tmp_path / "t.csv"
    first = run(template(tmp_path), store, [("k1", 1, 0), ("k1", 2, 0), ("k2", 3, 0)], path)
    second = run(template(tmp_path), store, [("k1", 1, 0), ("k1", 5, 0), ("k3", 3, 0)], path)
    diff = px.compare(first, second).tables["table"]
    assert (diff.rule, diff.key, diff.changed_cells) == ("rows", (), None)
    assert (diff.only_in_a, diff.only_in_b) == (2, 2)  # (k1, 2) and (k2, 3) vs (k1, 5) and (k3, 3)


def test_tables_of_one_shape_diffed_together_each_get_their_own_counts(tmp_path, store):
    tpl = px.Template("shapes", base_dir=tmp_path)
    tpl.source(
        "t", "t.csv", gate={"gate_id": "g", "name": "G", "instructions": "- at least 1 rows"}
    )
    tpl.output("t1", sql="SELECT k, a AS v FROM t")
    tpl.output("t2", sql="SELECT k, a * 2 AS v FROM t WHERE a > 3")
    tpl.output("t3", sql="SELECT k, b AS v FROM t")  # b does not change: only rows come and go
    path = tmp_path / "t.csv"
    first = run(tpl, store, BASE, path)
    rows = [(k, a + (k in ("k4", "k7")), b) for k, a, b in BASE if k != "k0"] + [("k11", 11, 2)]
    second = run(tpl, store, rows, path)
    diffs = px.compare(first, second).tables

    for node in ("t1", "t2"):  # the same counts pandas finds, node by node
        a, b = first.value(node), second.value(node)
        merged = a.merge(b, on="k", how="outer", suffixes=("_a", "_b"), indicator=True)
        both = merged[merged["_merge"] == "both"]
        expected = (
            int((merged["_merge"] == "left_only").sum()),
            int((merged["_merge"] == "right_only").sum()),
            int((both["v_a"] != both["v_b"]).sum()),
        )
        diff = diffs[node]
        assert (diff.only_in_a, diff.only_in_b, diff.changed_cells["v"]) == expected, node
        assert diff.rule == "key" and not diff.identical
    assert diffs["t1"].changed_cells == {"v": 2} and diffs["t2"].changed_cells == {"v": 2}
    assert (diffs["t1"].only_in_a, diffs["t2"].only_in_a) == (1, 0)  # k0 is not in t2 (a > 3)
    t3 = diffs["t3"]
    assert (t3.rule, t3.only_in_a, t3.only_in_b, t3.changed_cells) == ("key", 1, 1, {"v": 0})
