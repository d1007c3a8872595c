"""The engine: run records, gates pausing and resuming, spec statuses, lineage, policies."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import hashlib
import time
import weakref
from pathlib import Path

import pandas as pd
import pytest

import prodex_jupyter as px
from prodex_jupyter.store import RunFold
from tests import nodes_for_tests

CLEAN = "- required columns: a, b\n- no nulls in a\n- a between -100 and 1000\n- at least 1 rows"


def _csv(tmp_path: Path, name: str = "t.csv", rows: int = 40) -> Path:
    path = tmp_path / name
    lines = ["a,b"] + [f"{i},{i % 3}" for i in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def chain(tmp_path: Path) -> px.Template:
    """source (gated) -> sql -> gated sql -> output; plus a python branch off the source."""
    tpl = px.Template("chain", base_dir=tmp_path)
    tpl.source(
        "t",
        _csv(tmp_path).name,
        explanation="raw rows",
        gate={"gate_id": "t_shape", "name": "T shape", "instructions": CLEAN},
    )
    tpl.sql("big", "SELECT * FROM t WHERE a >= 10", explanation="rows from 10 up")
    tpl.sql(
        "sums",
        "SELECT b, sum(a) AS total FROM big GROUP BY b ORDER BY b",
        gate={"gate_id": "sums_ok", "name": "Sums sane", "instructions": "- at least 1 rows"},
    )
    tpl.output("grand_total", sql="SELECT sum(total) AS grand FROM sums")

    @tpl.python("mean_a", explanation="mean of a")
    def mean_a(t):
        return float(t["a"].mean())

    tpl.output("mean_out", of="mean_a")
    return tpl


def test_run_record_is_created_at_start_empty_and_pending(tmp_path, store):
    run = chain(tmp_path).run(store=store)
    first = store.events(run.id)[0]
    assert first.kind == "run_created"
    fold = RunFold()
    fold.apply(first)
    state = fold.snapshot()
    assert state.status == "pending"
    assert state.results == {} and state.inputs == {}
    assert {g.status for g in state.gates.values()} == {"not_reached"}
    assert set(state.gates) == {"t_shape", "sums_ok"}
    run.wait(timeout=30)


def test_run_pauses_at_each_gate_and_completes_when_all_confirmed(tmp_path, store):
    run = chain(tmp_path).run(store=store)
    run.wait(timeout=30)
    assert run.status == "executing"
    assert run.gates["t_shape"].status == "pending"
    assert set(run.results) == {"t"}  # nothing downstream of the pending gate ran
    run.confirm("t_shape", note="looks right", by="ana")
    run.wait(timeout=30)
    assert {"big", "sums", "mean_a", "mean_out"} <= set(run.results)
    assert "grand_total" not in run.results
    assert run.gates["sums_ok"].status == "pending"
    run.confirm("sums_ok", by="ana")
    run.wait(timeout=30)
    assert run.status == "completed"
    assert run.value("grand_total") == sum(range(10, 40))
    assert run.value("mean_out") == pytest.approx(19.5)
    assert run.state.gates_resolved == (2, 2)


def test_reject_gives_completed_partial_keeping_reachable_values(tmp_path, store):
    run = chain(tmp_path).run(store=store)
    run.wait(timeout=30)
    run.confirm("t_shape").wait(timeout=30)
    run.reject("sums_ok", note="totals look doubled", by="ana").wait(timeout=30)
    assert run.status == "completed_partial"
    assert "grand_total" not in run.results
    assert run.value("mean_out") == pytest.approx(19.5)  # other branch kept
    assert "rejected" in run.why_not_produced("grand_total")
    with pytest.raises(LookupError, match=r"sums_ok.*rejected"):
        run.value("grand_total")
    decision = run.gates["sums_ok"].last_decision
    assert (decision.decision, decision.by, decision.note) == (
        "rejected",
        "ana",
        "totals look doubled",
    )


def test_reconfirming_a_rejected_gate_resumes_the_same_run_to_completed(tmp_path, store):
    run = chain(tmp_path).run(store=store)
    run.wait(timeout=30)
    run.confirm("t_shape").wait(timeout=30)
    run.reject("sums_ok", note="check later").wait(timeout=30)
    assert run.status == "completed_partial"
    run.confirm("sums_ok", note="was fine after all").wait(timeout=30)
    assert run.status == "completed"
    statuses = [e.event.status for e in store.events(run.id) if e.kind == "run_status"]
    assert statuses[-3:] == ["completed_partial", "executing", "completed"]


def test_reopening_keeps_produced_values_and_blocks_new_downstream_work(tmp_path, store):
    data = _csv(tmp_path)
    tpl = px.Template("reopen", base_dir=tmp_path)
    tpl.source("x", data.name, gate={"gate_id": "gx", "name": "X", "instructions": CLEAN})
    tpl.source("w", data.name, gate={"gate_id": "gw", "name": "W", "instructions": CLEAN})
    tpl.sql("y", "SELECT count(*) AS n FROM x")
    tpl.sql("z", "SELECT count(*) AS n FROM x JOIN w USING (a)")
    run = tpl.run(store=store)
    run.wait(timeout=30)
    run.confirm("gx").wait(timeout=30)
    assert "y" in run.results and "z" not in run.results
    run.reopen("gx", note="second look").wait(timeout=30)
    assert run.gates["gx"].status == "pending"
    assert "y" in run.results  # not rolled back
    run.confirm("gw").wait(timeout=30)
    assert "z" not in run.results  # new downstream work waits for gx again
    assert "gx" in run.why_not_produced("z")
    run.confirm("gx").wait(timeout=30)
    assert run.status == "completed"
    produced = [e.event.node_id for e in store.events(run.id) if e.kind == "node_produced"]
    assert produced.count("y") == 1  # y was not recomputed


def test_decisions_that_the_gate_state_does_not_allow_are_refused(tmp_path, store):
    run = chain(tmp_path).run(store=store)
    run.wait(timeout=30)
    with pytest.raises(px.GateStateError, match="has not been reached"):
        run.confirm("sums_ok")
    with pytest.raises(ValueError, match="needs a note"):
        run.reject("t_shape")
    run.confirm("t_shape").wait(timeout=30)
    with pytest.raises(px.GateStateError, match="already confirmed"):
        run.confirm("t_shape")
    with pytest.raises(KeyError, match="no gate 'nope'"):
        run.confirm("nope")


def test_independent_branches_run_concurrently(tmp_path, store):
    tpl = px.Template("branches", base_dir=tmp_path)
    tpl.source("t", _csv(tmp_path).name, gate={"gate_id": "g", "name": "G", "instructions": CLEAN})
    tpl.python_node("left", function=nodes_for_tests.left)  # both wait on one barrier
    tpl.python_node("right", function=nodes_for_tests.right)
    run = tpl.run(store=store, policy=px.confirm_high)
    run.wait(timeout=30)
    assert run.status == "completed", run.why_not_produced("left")
    assert (run.value("left"), run.value("right")) == (1, 2)


def test_a_failing_node_fails_the_run_keeping_its_traceback_and_other_branches(tmp_path, store):
    tpl = px.Template("fails", base_dir=tmp_path)
    tpl.source("t", _csv(tmp_path).name, gate={"gate_id": "g", "name": "G", "instructions": CLEAN})

    @tpl.python("broken")
    def broken(t):
        return t["no_such_column"].sum()

    tpl.sql("after_broken", "SELECT * FROM broken")
    tpl.sql("fine", "SELECT count(*) AS n FROM t")
    run = tpl.run(store=store, policy=px.confirm_high)
    run.wait(timeout=30)
    assert run.status == "failed"
    node = run.state.nodes["broken"]
    assert node.state == "failed" and "KeyError" in node.error
    assert "no_such_column" in node.traceback and "Traceback" in node.traceback
    assert "fine" in run.results
    assert run.why_not_produced("after_broken") == "not produced: upstream node 'broken' failed"


def test_confirm_high_policy_decides_and_says_so(tmp_path, store):
    run = chain(tmp_path).run(store=store, policy=px.confirm_high)
    run.wait(timeout=30)
    gate = run.gates["t_shape"]
    assert gate.confidence == "high"
    assert gate.status == "confirmed"
    assert gate.last_decision.by == "policy:confirm_high"
    assert gate.last_decision.confidence_shown == "high"


def test_policy_leaves_lower_confidence_gates_to_a_person(tmp_path, store):
    tpl = px.Template("default_gate", base_dir=tmp_path)
    tpl.source("t", _csv(tmp_path).name)  # default gate: profile only, so medium at best
    tpl.output("n", sql="SELECT count(*) FROM t")
    run = tpl.run(store=store, policy=px.confirm_high)
    run.wait(timeout=30)
    assert run.gates["t_input"].status == "pending"
    assert run.gates["t_input"].confidence == "medium"


def test_results_carry_lineage(tmp_path, store):
    run = chain(tmp_path).run(store=store, policy=px.confirm_high)
    run.wait(timeout=30)
    run.confirm("sums_ok", by="ana").wait(timeout=30)
    result = run.results["grand_total"]
    assert result.derivation_code == "SELECT sum(total) AS grand FROM sums"
    data = tmp_path / "t.csv"
    assert [dict(s) for s in result.sources] == [
        {
            "node_id": "t",
            "path": str(data.resolve()),
            "size": data.stat().st_size,
            "sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
        }
    ]
    assert {g["gate_id"]: g["by"] for g in result.gates_passed} == {
        "t_shape": "policy:confirm_high",
        "sums_ok": "ana",
    }
    mean = run.results["mean_a"]
    assert mean.derivation_code.startswith("def mean_a(t):")
    assert mean.derivation_explanation == "mean of a"
    table = run.results["big"]
    assert table.value_kind == "table" and table.rows == 30
    assert run.store.artifacts.path(table.artifact).exists()
    assert list(run.value("big").columns) == ["a", "b"]


def test_results_are_read_only(tmp_path, store):
    run = chain(tmp_path).run(store=store, policy=px.confirm_high)
    run.wait(timeout=30)
    result = run.results["mean_a"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.value = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        run.results["mean_a"] = result  # type: ignore[index]
    public = [n for n in dir(run) if not n.startswith("_")]
    assert not [n for n in public if n.startswith("set")]


def test_inputs_consumed_record_path_size_hash_rows(tmp_path, store):
    run = chain(tmp_path).run(store=store)
    run.wait(timeout=30)
    data = tmp_path / "t.csv"
    consumed = run.inputs["t"]
    assert consumed.path == str(data.resolve())
    assert consumed.size == data.stat().st_size
    assert consumed.sha256 == hashlib.sha256(data.read_bytes()).hexdigest()
    assert consumed.rows == 40


def test_inputs_override_files_and_dataframes_are_snapshotted(tmp_path, store):
    tpl = chain(tmp_path)
    other = _csv(tmp_path, "other.csv", rows=25)
    run = tpl.run({"t": str(other)}, store=store, policy=px.confirm_high)
    run.wait(timeout=30)
    assert run.inputs["t"].rows == 25 and run.inputs["t"].path == str(other)

    frame = pd.DataFrame({"a": [5, 6, 7], "b": [1, 1, 2]})
    run2 = tpl.run({"t": frame}, store=store, policy=px.confirm_high)
    run2.wait(timeout=30)
    snap = run2.inputs["t"]
    assert snap.snapshot and snap.rows == 3
    stored = store.artifacts.path(snap.sha256)
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == snap.sha256
    assert store.load_table(snap.sha256).to_pandas().equals(frame)
    assert px.verify_run(store, run2.id) == []


def test_bad_inputs_fail_before_any_record_naming_node_and_file(tmp_path, store):
    tpl = chain(tmp_path)
    with pytest.raises(px.InputError, match=r"source 't': file not found: .*missing\.csv"):
        tpl.run({"t": str(tmp_path / "missing.csv")}, store=store)
    with pytest.raises(px.InputError, match=r"\['nope'\].*not source nodes"):
        tpl.run({"nope": "x.csv"}, store=store)
    needs_df = px.Template("df").source("frame")
    needs_df.output("n", sql="SELECT count(*) FROM frame")
    with pytest.raises(px.InputError, match=r"source 'frame'.*inputs=\{'frame': df\}"):
        needs_df.run(store=store)
    assert store.run_ids() == []


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("bad.parquet", "this is not parquet", "bad.parquet"),
        ("ragged.csv", "a,b\n1,2\n3,4,5\n", "Expected 2 columns"),  # the row at fault
    ],
)
def test_an_unreadable_source_fails_its_node_naming_source_and_file(
    tmp_path, store, name, content, says
):
    (tmp_path / name).write_text(content)
    tpl = px.Template("bad", base_dir=tmp_path)
    tpl.source("p", name)
    tpl.output("n", sql="SELECT count(*) FROM p")
    run = tpl.run(store=store)
    run.wait(timeout=30)
    assert run.status == "failed"
    error = run.state.nodes["p"].error
    assert "source 'p'" in error and name in error and says in error


def test_csv_sources_read_as_pandas_reads_them(tmp_path, store):
    """Null markers, a delimiter other than the comma, timestamps: python nodes see what
    pd.read_csv would give them."""
    path = tmp_path / "semi.csv"
    path.write_text("k;v;ts\na;1.5;2024-01-01 06:00:00\nNA;N/A;2024-01-02 07:00:00\nc;;\n")
    tpl = px.Template("pandas_like", base_dir=tmp_path)
    tpl.source("s", "semi.csv")

    @tpl.python("frame")
    def frame(s):
        return s

    run = tpl.run(store=store)
    run.wait(timeout=30)
    run.confirm("s_input")
    run.wait(timeout=30)
    got = run.value("frame")
    expected = pd.read_csv(path, sep=";", parse_dates=["ts"])
    assert got.isna().to_dict() == expected.isna().to_dict()
    assert got["v"].tolist()[0] == 1.5 and got["k"].tolist()[0] == "a"
    assert str(got["ts"].dtype).startswith("datetime64") and got["ts"][0] == expected["ts"][0]


def _chain_of(n: int, tmp_path: Path) -> px.Template:
    tpl = px.Template("long_chain", base_dir=tmp_path)
    tpl.source("t", _csv(tmp_path).name, gate={"gate_id": "g", "name": "G", "instructions": CLEAN})
    tpl.python_node("n0", code="def n0(t):\n    return len(t)\n")
    for i in range(1, n):
        tpl.python_node(f"n{i}", code=f"def n{i}(n{i - 1}):\n    return n{i - 1} + 1\n")
    return tpl


def test_node_events_of_successive_steps_share_transactions(tmp_path, store):
    """A chain of 200 trivial nodes is 200 scheduler steps; their events are written in a few
    transactions (one `at` each), not one per step."""
    tpl = _chain_of(200, tmp_path)
    run = tpl.run(store=store, policy=px.confirm_high)
    run.wait(timeout=60)
    assert run.status == "completed" and run.value("n199") == 40 + 199
    produced = [e for e in store.events(run.id) if e.kind == "node_produced"]
    assert len(produced) == 201
    assert len({e.at for e in produced}) < 50
    assert px.verify_run(store, run.id) == []


def test_a_long_node_is_recorded_as_started_while_it_runs(tmp_path, store):
    import time as _time

    tpl = px.Template("slow", base_dir=tmp_path)
    tpl.source("t", _csv(tmp_path).name, gate={"gate_id": "g", "name": "G", "instructions": CLEAN})

    @tpl.python("slow")
    def slow(t):
        _time.sleep(1.5)
        return len(t)

    run = tpl.run(store=store, policy=px.confirm_high)
    deadline = _time.monotonic() + 1.0
    while _time.monotonic() < deadline:
        if px.load_run(run.id, store=store).state.nodes["slow"].state == "running":
            break
        _time.sleep(0.02)
    else:
        pytest.fail("the slow node was not recorded as running within a second")
    assert px.load_run(run.id, store=store).state.nodes["slow"].state == "running"
    run.wait(timeout=30)
    assert run.value("slow") == 40


def test_until_idle_inside_a_running_loop_does_not_block_it(tmp_path, store):
    tpl = chain(tmp_path)

    async def scenario():
        run = tpl.run(store=store)  # runs as a task on this loop
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        ticking = asyncio.ensure_future(ticker())
        with pytest.raises(RuntimeError, match="until_idle"):
            run.wait()
        prompt = await asyncio.wait_for(run.next_prompt(), 30)
        assert prompt.gate_ids == ("t_shape",)
        run.confirm("t_shape")
        await asyncio.wait_for(run.until_idle(), 30)
        ticking.cancel()
        return run, ticks

    run, ticks = asyncio.run(scenario())
    assert ticks > 5  # the loop kept turning while the run worked and waited
    assert run.gates["sums_ok"].status == "pending"


def test_decisions_record_who_when_note_and_confidence(tmp_path, store, monkeypatch):
    monkeypatch.setenv("PRODEX_USER", "maria")
    run = chain(tmp_path).run(store=store)
    run.wait(timeout=30)
    run.confirm("t_shape", note="ranges fine").wait(timeout=30)
    d = run.gates["t_shape"].last_decision
    assert (d.by, d.note, d.confidence_shown, d.decision) == (
        "maria",
        "ranges fine",
        "high",
        "confirmed",
    )
    assert d.at.startswith("20")


def test_load_run_reads_and_decides_a_stored_run(tmp_path, store):
    run = chain(tmp_path).run(store=store)
    run.wait(timeout=30)
    loaded = px.load_run(run.id, store=store)
    assert loaded.status == "executing" and loaded.gates["t_shape"].status == "pending"
    with pytest.raises(LookupError, match="no run"):
        px.load_run("run-nope", store=store)


def test_evidence_drifts_against_the_last_run_whose_gate_was_confirmed(tmp_path, store):
    rules = CLEAN + "\n- row count within 20% of last confirmed run"
    tpl = px.Template("drift", base_dir=tmp_path)
    tpl.source("t", _csv(tmp_path).name, gate={"gate_id": "g", "name": "G", "instructions": rules})
    tpl.output("n", sql="SELECT count(*) FROM t")
    first = tpl.run(store=store).wait(timeout=30)
    assert first.gates["g"].evidence["drift"] is None  # nothing to compare with yet
    first.reject("g", note="not yet").wait(timeout=30)
    second = tpl.run(store=store).wait(timeout=30)
    assert second.gates["g"].evidence["drift"] is None  # a rejected gate is no baseline
    second.confirm("g").wait(timeout=30)

    bigger = _csv(tmp_path, "bigger.csv", rows=80)
    third = tpl.run({"t": str(bigger)}, store=store).wait(timeout=30)
    gate = third.gates["g"]
    drift_check = next(c for c in gate.evidence["checks"] if "within 20%" in c["bullet"])
    assert drift_check["status"] == "fail"
    assert "40" in drift_check["message"] and "80" in drift_check["message"]
    assert gate.confidence == "low"
    assert gate.evidence["drift"] is not None


def test_objects_older_than_a_working_run_are_left_out_of_full_collections(tmp_path):
    """While a run works, what existed before it is frozen (runtime/collector.py), so the
    collector's full passes walk only what the run made; once it is quiet it is given back. A
    process that froze objects itself keeps them frozen."""
    tpl = px.Template("collector", base_dir=tmp_path)
    tpl.source("t", _csv(tmp_path).name, gate={"gate_id": "g", "name": "G", "instructions": CLEAN})
    tpl.python_node(
        "frozen", code="def frozen(t):\n    import gc\n    return gc.get_freeze_count()\n"
    )
    run = tpl.run(store=tmp_path / "store", policy=px.confirm_high).wait(timeout=30)
    assert run.status == "completed" and run.value("frozen") > 1000
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        mine = gc.get_freeze_count()
        run = tpl.run(store=tmp_path / "store", policy=px.confirm_high).wait(timeout=30)
        # nothing more frozen (objects freed meanwhile leave the frozen set), nothing given back
        assert 0 < run.value("frozen") <= mine and 0 < gc.get_freeze_count() <= mine
    finally:
        gc.unfreeze()


def test_a_finished_run_goes_when_its_caller_drops_it_and_a_decision_still_drives_it(tmp_path):
    """The executor keeps a run's execution while it works or waits for a decision, not after
    it ended: a kernel running many runs does not keep them all. Its Run still hears a decision
    (re-confirming a rejected gate) and is driven on by it."""
    tpl = chain(tmp_path)
    run = tpl.run(store=tmp_path / "store").wait(timeout=30)
    run.confirm("t_shape").wait(timeout=30)
    run.reject("sums_ok", note="not yet").wait(timeout=30)
    assert run.status == "completed_partial" and "grand_total" not in run.state.results
    run.confirm("sums_ok", note="checked again").wait(timeout=30)
    assert run.status == "completed" and run.value("grand_total") is not None
    gone = weakref.ref(run)
    del run
    for _ in range(100):  # the loop thread may still be returning from the run's last step
        gc.collect()
        if gone() is None:
            break
        time.sleep(0.05)
    assert gone() is None
