"""The prompt queue: one gate at a time along a chain, independent branches together,
trivially clean gates batched (up to three), each still decided on its own."""

from __future__ import annotations

from pathlib import Path

import prodex_jupyter as px
from prodex_jupyter.runtime.prompts import BATCH_MAX

CLEAN = "- required columns: a, b\n- no nulls in a\n- a between -100 and 1000\n- at least 1 rows"


def _csv(tmp_path: Path) -> str:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)))
    return path.name


def sources(tmp_path: Path, clean: int, plain: int = 0) -> px.Template:
    tpl = px.Template("many", base_dir=tmp_path)
    name = _csv(tmp_path)
    for i in range(clean):
        tpl.source(
            f"c{i}", name, gate={"gate_id": f"c{i}_ok", "name": f"C{i}", "instructions": CLEAN}
        )
    for i in range(plain):
        tpl.source(f"p{i}", name)  # default gate: profile only -> medium
    tables = [f"c{i}" for i in range(clean)] + [f"p{i}" for i in range(plain)]
    tpl.output("n", sql=" UNION ALL ".join(f"SELECT count(*) AS n FROM {t}" for t in tables))
    return tpl


def test_clean_gates_pending_together_are_batched_up_to_three(tmp_path, store):
    run = sources(tmp_path, clean=4).run(store=store)
    run.wait(timeout=30)
    prompts = run.prompts
    assert [len(p.gates) for p in prompts] == [BATCH_MAX, 1]
    assert all(g.confidence == "high" for p in prompts for g in p.gates)
    batch = prompts[0]
    assert batch.is_batch
    for gate_id in batch.gate_ids:  # a batch still records one decision per gate
        run.confirm(gate_id, by="ana")
    decided = [e.event.gate_id for e in store.events(run.id) if e.kind == "gate_decided"]
    assert decided == list(batch.gate_ids)
    assert [p.gate_ids for p in run.prompts] == [prompts[1].gate_ids]


def test_gates_that_are_not_clean_get_their_own_prompt(tmp_path, store):
    run = sources(tmp_path, clean=2, plain=1).run(store=store)
    run.wait(timeout=30)
    shapes = sorted((len(p.gates), p.confidence) for p in run.prompts)
    assert shapes == [(1, "medium"), (2, "high")]


def test_independent_branches_are_prompted_at_once_each_on_its_own(tmp_path, store):
    run = sources(tmp_path, clean=0, plain=2).run(store=store)
    run.wait(timeout=30)
    assert sorted(p.gate_ids for p in run.prompts) == [("p0_input",), ("p1_input",)]


def test_along_a_chain_one_gate_at_a_time(tmp_path, store):
    tpl = px.Template("chain", base_dir=tmp_path)
    tpl.source("t", _csv(tmp_path), gate={"gate_id": "t_ok", "name": "T", "instructions": CLEAN})
    tpl.sql(
        "s",
        "SELECT b, count(*) AS n FROM t GROUP BY b",
        gate={"gate_id": "s_ok", "name": "S", "instructions": "- at least 1 rows"},
    )
    tpl.output("o", sql="SELECT sum(n) FROM s")
    run = tpl.run(store=store)
    run.wait(timeout=30)
    assert [p.gate_ids for p in run.prompts] == [("t_ok",)]
    run.confirm("t_ok").wait(timeout=30)
    assert [p.gate_ids for p in run.prompts] == [("s_ok",)]
    # reopening the upstream gate: decide it first, the downstream prompt waits behind it
    run.reopen("t_ok", note="second look").wait(timeout=30)
    assert {g.gate_id for g in run.state.pending_gates} == {"t_ok", "s_ok"}
    assert [p.gate_ids for p in run.prompts] == [("t_ok",)]


def test_prompt_text_shows_name_description_and_summary(tmp_path, store):
    tpl = px.Template("txt", base_dir=tmp_path)
    tpl.source(
        "t",
        _csv(tmp_path),
        gate={
            "gate_id": "t_ok",
            "name": "T shape",
            "description": "Why this matters.",
            "instructions": CLEAN,
        },
    )
    tpl.output("o", sql="SELECT count(*) FROM t")
    run = tpl.run(store=store)
    run.wait(timeout=30)
    text = run.prompts[0].text()
    assert "[t_ok] T shape" in text and "Why this matters." in text
    assert "Confidence: high" in text


def test_prompts_come_in_the_templates_topological_order_not_the_posed_order(tmp_path, store):
    import dataclasses

    from prodex_jupyter.runtime import prompt_queue

    run = sources(tmp_path, clean=0, plain=5).run(store=store)
    run.wait(timeout=30)
    state = run.state
    listed = [f"p{i}_input" for i in range(5)]
    # Posed in reverse (as racing branches may be): the queue still follows the template.
    gates = {
        gate_id: dataclasses.replace(gate, posed_seq=100 - listed.index(gate_id))
        for gate_id, gate in state.gates.items()
    }
    reversed_state = dataclasses.replace(state, gates=gates)
    assert [p.gate_ids[0] for p in prompt_queue(reversed_state)] == listed
    assert [p.gate_ids[0] for p in prompt_queue(state)] == listed


def test_topological_rank_puts_upstream_first_and_keeps_the_listed_order(tmp_path, store):
    from prodex_jupyter.runtime.prompts import topological_rank

    tpl = px.Template("topo", base_dir=tmp_path)
    name = _csv(tmp_path)
    tpl.source("b", name)
    tpl.source("a", name)
    tpl.sql("from_a", "SELECT * FROM a")
    tpl.sql("joined", "SELECT * FROM b JOIN from_a USING (a)")
    tpl.output("o", sql="SELECT count(*) FROM joined")
    run = tpl.run(store=store)
    run.wait(timeout=30)
    rank = topological_rank(run.state)
    assert sorted(rank, key=rank.get) == ["b", "a", "from_a", "joined", "o"]
