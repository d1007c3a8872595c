"""Notes on overrides: reject, reopen, re-confirm after a rejection and confirm over a failing
check are refused without a note, naming the gate and why; the note is kept in the record."""

from __future__ import annotations

from pathlib import Path

import pytest

import prodex_jupyter as px

CLEAN = "- required columns: a, b\n- a between -100 and 1000\n- at least 1 rows"
FAILING = "- required columns: a, b\n- a between 0 and 5\n- at least 1 rows"


def _template(tmp_path: Path, instructions: str) -> px.Template:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)))
    tpl = px.Template("notes", base_dir=tmp_path)
    tpl.source("t", path.name, gate={"gate_id": "g", "name": "G", "instructions": instructions})
    tpl.output("n", sql="SELECT count(*) FROM t")
    return tpl


def _started(tmp_path: Path, store: px.RunStore, instructions: str = CLEAN) -> px.Run:
    run = _template(tmp_path, instructions).run(store=store)
    return run.wait(timeout=30)


@pytest.mark.parametrize("note", [None, "", "   "])
def test_reject_without_a_note_is_refused_naming_the_gate(tmp_path, store, note):
    run = _started(tmp_path, store)
    with pytest.raises(px.GateStateError, match="rejecting gate 'g' needs a note"):
        run.reject("g", note=note)
    assert run.gates["g"].status == "pending" and run.gates["g"].decisions == ()


def test_reopen_needs_a_note_and_keeps_it(tmp_path, store):
    run = _started(tmp_path, store)
    run.confirm("g").wait(timeout=30)  # a clean confirm needs no note
    with pytest.raises(px.GateStateError, match="reopening gate 'g' needs a note saying why"):
        run.reopen("g")
    assert run.gates["g"].status == "confirmed"
    run.reopen("g", note="the export was re-run").wait(timeout=30)
    assert run.gates["g"].last_decision.note == "the export was re-run"
    assert run.value("n") == 40  # values already produced stay


def test_reconfirming_after_a_rejection_needs_a_note(tmp_path, store):
    run = _started(tmp_path, store)
    run.reject("g", note="looks short").wait(timeout=30)
    with pytest.raises(px.GateStateError, match="re-confirming gate 'g' after its rejection"):
        run.confirm("g")
    assert run.gates["g"].status == "rejected"
    run.confirm("g", note="row count checked with the plant").wait(timeout=30)
    assert run.gates["g"].status == "confirmed"
    assert run.gates["g"].last_decision.note == "row count checked with the plant"


def test_confirming_over_a_failing_check_needs_a_note_naming_the_check(tmp_path, store):
    run = _started(tmp_path, store, FAILING)
    assert run.gates["g"].confidence == "low"
    with pytest.raises(px.GateStateError) as refused:
        run.confirm("g")
    message = str(refused.value)
    assert "confirming gate 'g' needs a note" in message
    assert "a between 0 and 5" in message  # the failing bullet, by name
    run.confirm("g", note="values above 5 are valid since the line change").wait(timeout=30)
    assert run.status == "completed"


def test_note_required_says_when_a_decision_needs_none(tmp_path, store):
    run = _started(tmp_path, store)
    gate = run.gates["g"]
    assert px.runtime.note_required(gate, "confirmed") == ""
    assert "needs a note" in px.runtime.note_required(gate, "rejected")
