"""The run view driven through its traits and button clicks (no browser, no kernel).

Runs execute on the runtime's background loop; the view re-renders from the events it
observes, so each assertion about the view waits (briefly) for it to catch up.
"""

from __future__ import annotations

import asyncio
import html
import re

import pytest

import prodex_jupyter as px
from prodex_jupyter.widgets import RunView
from prodex_jupyter.widgets.gate_card import DecisionCard, GateCard
from prodex_jupyter.widgets.run_view import STATIC_INTERVAL

from .test_widgets_support import branches, chain, until, with_failure


def text(markup: str) -> str:
    """What a person reads in an HTML widget: tags dropped, entities decoded, spaces collapsed."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))).strip()


def gates_text(view: RunView) -> str:
    return text(view.info.gates.value)


def status_text(view: RunView) -> str:
    return text(view.info.status.value)


@pytest.fixture
def demo_view(demo_template, store):
    run = demo_template.run(store=store)
    view = RunView(run)
    run.wait(timeout=30)
    until(lambda: len(view.cards.prompt_cards) == 2, what="two prompt cards")
    yield run, view
    view.close()


def test_view_has_canvas_panel_cards_and_drawer(demo_view):
    run, view = demo_view
    for part, css in (
        (view.canvas.graph, "prodex-canvas"),
        (view.info, "prodex-run-info"),
        (view.cards, "prodex-gate-cards"),
        (view.drawer, "prodex-drawer"),
    ):
        assert css in part._dom_classes
    assert "prodex-run-view" in view._dom_classes
    assert not view.drawer.is_open
    # Run Information: status, gates resolved, nodes produced, inputs with short hashes, times.
    assert status_text(view).startswith("executing")
    assert "waiting for a decision on 2 gates" in status_text(view)
    assert gates_text(view) == "Gates resolved: 0 / 3"
    assert text(view.info.nodes.value) == "Nodes produced: 2 / 7"
    inputs = text(view.info.inputs.value)
    for record in run.inputs.values():
        assert record.sha256[:12] in inputs
        assert f"{record.rows:,} rows" in inputs
    assert "weekly_throughput.csv" in inputs and "recipes.csv" in inputs
    assert text(view.info.started.value).startswith("Started: ")
    assert "waiting since" in text(view.info.elapsed.value)


def test_one_card_per_prompt_with_evidence_and_confidence(demo_view):
    run, view = demo_view
    cards = view.cards.prompt_cards
    assert [c.gate_ids for c in cards] == [p.gate_ids for p in run.prompts]
    recipes = next(c for c in cards if c.gate_ids == ("recipes_shape",))
    markup = recipes.children[0].value
    gate = run.gates["recipes_shape"]
    assert gate.name in markup and gate.description in markup
    assert gate.summary in text(markup)
    assert "prodex-confidence-medium" in markup and "Confidence: medium" in markup
    # every check with its status, the sample rows as a table
    assert markup.count('class="prodex-check prodex-check-row-pass"') == 5
    assert "Required columns" in markup
    assert "<table" in markup and "Bracket, steel" in markup
    assert "Only 6 rows" in markup  # the warning
    assert recipes.confirm_button.description == "Confirm"
    assert "prodex-confirm" in recipes.confirm_button._dom_classes
    assert "prodex-reject" in recipes.reject_buttons["recipes_shape"]._dom_classes


def test_confirm_click_decides_the_gate_and_the_view_follows(demo_view):
    run, view = demo_view
    card = next(c for c in view.cards.prompt_cards if c.gate_ids == ("throughput_shape",))
    card.confirm_button.click()
    assert run.gates["throughput_shape"].status == "confirmed"
    until(lambda: gates_text(view) == "Gates resolved: 1 / 3", what="gates 1 / 3")
    classes = view.canvas.node_class_map["throughput"]
    assert "g-confirmed" in classes and "attention" not in classes
    decided = until(lambda: view.cards.decision_cards, what="a decided card")
    assert decided[0].gate_ids == ("throughput_shape",)
    summary = text(decided[0].summary.value)
    assert "Confirmed" in summary and "Throughput extract shape" in summary
    assert " by " in summary and re.search(r"at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", summary)
    assert decided[0].action.description == "Reopen…"
    assert [c.gate_ids for c in view.cards.prompt_cards] == [("recipes_shape",)]


def test_next_card_appears_when_the_current_is_decided(demo_view):
    run, view = demo_view
    for card in list(view.cards.prompt_cards):
        card.confirm_button.click()
    run.wait(timeout=30)
    # station_means_sanity sits below both source gates: it is asked only now.
    card = until(
        lambda: [c for c in view.cards.prompt_cards if c.gate_ids == ("station_means_sanity",)],
        what="the transform gate's card",
    )[0]
    assert len(view.cards.prompt_cards) == 1
    assert "attention" in view.canvas.node_class_map["station_cycle_times"]
    card.confirm_button.click()
    run.wait(timeout=30)
    until(lambda: status_text(view) == "completed", what="completed")
    assert gates_text(view) == "Gates resolved: 3 / 3"
    assert text(view.info.nodes.value) == "Nodes produced: 7 / 7"
    assert not view.cards.prompt_cards
    assert len(view.cards.decision_cards) == 3
    assert {run.node_state(n) for n in run.state.nodes} == {"produced"}
    assert all("st-produced" in c for c in view.canvas.node_class_map.values())


def test_reject_asks_for_a_reason_and_refuses_an_empty_one(demo_view):
    run, view = demo_view
    card = next(c for c in view.cards.prompt_cards if c.gate_ids == ("recipes_shape",))
    form = card.note_form
    assert not form.visible
    card.reject_buttons["recipes_shape"].click()
    assert form.visible and "prodex-note-reason" in form.reason._dom_classes
    assert form.submit_button.description == "Reject gate"
    form.submit_button.click()  # no reason typed
    assert "A reason is required" in form.error.value
    assert run.gates["recipes_shape"].status == "pending"
    form.reason.value = "codes R07 and R08 are missing from the master list"
    form.submit_button.click()
    assert run.gates["recipes_shape"].status == "rejected"
    assert run.gates["recipes_shape"].last_decision.note.startswith("codes R07")
    decided = until(
        lambda: [c for c in view.cards.decision_cards if c.gate_ids == ("recipes_shape",)],
        what="the rejected card",
    )[0]
    assert "Rejected" in text(decided.summary.value)
    assert "codes R07 and R08" in decided.summary.value
    assert decided.action.description == "Re-confirm…"
    assert "g-rejected" in view.canvas.node_class_map["recipes"]

    # Confirm the other source: the run finishes completed_partial, reachable values kept.
    next(
        c for c in view.cards.prompt_cards if c.gate_ids == ("throughput_shape",)
    ).confirm_button.click()
    run.wait(timeout=30)
    until(lambda: status_text(view).startswith("completed_partial"), what="completed_partial")
    assert "cycles" not in run.results
    assert "st-blocked" in view.canvas.node_class_map["plant_mean_cycle_time"]

    # Re-confirm from the decided card (a reason first): the same run goes on.
    decided = next(c for c in view.cards.decision_cards if c.gate_ids == ("recipes_shape",))
    decided.action.click()
    assert decided.note_form.visible
    assert "after its rejection" in text(decided.note_form.prompt.value)
    decided.note_form.submit_button.click()  # no reason: refused where it is typed
    assert "A reason is required to confirm" in decided.note_form.error.value
    assert run.gates["recipes_shape"].status == "rejected"
    decided.note_form.reason.value = "R07 and R08 were added to the master list since"
    decided.note_form.submit_button.click()
    assert run.gates["recipes_shape"].status == "confirmed"
    assert run.gates["recipes_shape"].last_decision.note.startswith("R07 and R08")
    run.wait(timeout=30)
    until(
        lambda: [c for c in view.cards.prompt_cards if c.gate_ids == ("station_means_sanity",)],
        what="the run to resume up to the next gate",
    )
    assert "cycles" in run.results


def test_reopen_puts_the_gate_back_in_front_of_a_person(demo_view):
    run, view = demo_view
    card = next(c for c in view.cards.prompt_cards if c.gate_ids == ("throughput_shape",))
    card.confirm_button.click()
    decided = until(lambda: view.cards.decision_cards, what="decided card")[0]
    assert decided.action.description == "Reopen…"
    decided.action.click()  # asks first, with a reason
    form = decided.note_form
    assert form.visible and run.gates["throughput_shape"].status == "confirmed"
    assert text(form.prompt.value).startswith("Reopen? Values already produced stay")
    form.cancel_button.click()
    assert not form.visible and run.gates["throughput_shape"].status == "confirmed"
    decided.action.click()
    form.submit_button.click()  # no reason
    assert "A reason is required to reopen" in form.error.value
    assert run.gates["throughput_shape"].status == "confirmed"
    form.reason.value = "the export was re-run at 10:00"
    assert form.error.value == ""  # typing a reason takes the refusal away
    form.submit_button.click()
    assert run.gates["throughput_shape"].status == "pending"
    assert run.gates["throughput_shape"].last_decision.note == "the export was re-run at 10:00"
    until(
        lambda: ("throughput_shape",) in [c.gate_ids for c in view.cards.prompt_cards],
        what="the reopened gate's card",
    )
    assert gates_text(view) == "Gates resolved: 0 / 3"
    assert "g-pending" in view.canvas.node_class_map["throughput"]


def test_a_card_decided_elsewhere_shows_the_refusal(demo_view):
    run, view = demo_view
    card = next(c for c in view.cards.prompt_cards if c.gate_ids == ("throughput_shape",))
    run.confirm("throughput_shape", by="someone-else")  # e.g. from another process
    card.confirm_button.click()  # a card still on screen a moment later
    assert "already confirmed" in card.message.value
    assert not card.confirm_button.disabled


def test_drawer_for_a_produced_output_and_for_a_blocked_node(tmp_path, store):
    run = chain(tmp_path).run(store=store)
    view = RunView(run)
    run.wait(timeout=30)
    run.confirm("t_shape", by="ana")
    run.wait(timeout=30)

    # A node waiting behind the pending sums_ok gate says so.
    view.canvas._clicked({"data": {"id": "grand_total"}})  # what ipycytoscape calls on a click
    assert view.drawer.is_open and view.drawer.node_id == "grand_total"
    body = view.drawer.body.value
    assert "waiting on gate 'Sums sane' (sums_ok) to be confirmed" in text(body)
    assert "Derivation (not run yet)" in body
    assert "selected" in view.canvas.node_class_map["grand_total"]

    # The drawer follows the run: confirming the gate produces the value under it.
    run.confirm("sums_ok", by="ana")
    run.wait(timeout=30)
    until(lambda: "Value" in view.drawer.body.value, what="the drawer to show the value")
    body = view.drawer.body.value
    assert f">{sum(range(10, 40)):,}<" in body
    assert "Derivation (SQL)" in body and '<span class="k">SELECT</span>' in body  # pygments
    # token classes coloured by the theme's editor colours, not fixed inline colours
    assert "style=" not in body.split('class="prodex-hl"')[1].split("</pre>")[0]
    assert ".prodex-hl .k," in view.children[0].value
    assert "var(--jp-mirror-editor-keyword-color" in view.children[0].value
    assert "sum" in text(body) and "grand" in text(body)
    assert "the grand total of a from 10 up" in body
    source = run.results["grand_total"].sources[0]
    assert "t.csv" in body and source["sha256"][:12] in body
    assert "T shape" in body and "Sums sane" in body  # the gates it passed
    assert "by ana" in text(body)

    # A table result: a preview with its row count; a python node: Python code.
    view.open_node("mean_a")
    assert "Derivation (Python)" in view.drawer.body.value
    view.open_node("sums")
    assert "3 rows × 2 columns" in text(view.drawer.body.value)
    view.drawer.close_button.click()
    assert not view.drawer.is_open
    assert "selected" not in view.canvas.node_class_map["sums"]
    view.close()


def test_drawer_says_upstream_failed(tmp_path, store):
    run = with_failure(tmp_path).run(store=store)
    view = RunView(run)
    run.wait(timeout=30)
    run.confirm("t_shape")
    run.wait(timeout=30)
    until(lambda: "st-failed" in view.canvas.node_class_map["explode"], what="failed style")
    assert "st-blocked" in view.canvas.node_class_map["after"]
    view.open_node("after")
    assert "not produced: upstream node 'explode' failed" in text(view.drawer.body.value)
    view.open_node("explode")
    assert "boom in a node" in view.drawer.body.value
    assert "Traceback" in view.drawer.body.value
    until(lambda: status_text(view).startswith("failed"), what="failed status")
    view.close()


def test_independent_branches_show_their_cards_together(tmp_path, store):
    run = branches(tmp_path, n=3).run(store=store)
    view = RunView(run)
    run.wait(timeout=30)
    until(lambda: len(view.cards.prompt_cards) == 3, what="three cards")
    assert "3 prompts need your decision" in view.cards.header.value
    assert all(not c.prompt.is_batch for c in view.cards.prompt_cards)  # medium: not batched
    view.close()


def test_clean_gates_posed_together_come_as_one_batch_card(tmp_path, store):
    run = branches(tmp_path, n=3, rows=40).run(store=store)  # 40 clean rows: high confidence
    view = RunView(run)
    run.wait(timeout=30)
    until(
        lambda: [c.gate_ids for c in view.cards.prompt_cards] == [p.gate_ids for p in run.prompts],
        what="the view to show the run's prompts",
    )
    [card] = view.cards.prompt_cards
    assert card.prompt.is_batch and set(card.gate_ids) == {"g0", "g1", "g2"}
    assert "prodex-batch" in card._dom_classes
    assert card.confirm_button.description == "Confirm all 3"
    # Reject one on its own from the batch, then confirm the rest.
    card.reject_buttons["g1"].click()
    card.note_form.reason.value = "wrong extract"
    card.note_form.submit_button.click()
    assert run.gates["g1"].status == "rejected"
    rest = until(lambda: view.cards.prompt_cards, what="the rest of the batch")[0]
    assert set(rest.gate_ids) == {"g0", "g2"}
    rest.confirm_button.click()
    run.wait(timeout=30)
    assert {g: run.gates[g].status for g in ("g0", "g1", "g2")} == {
        "g0": "confirmed",
        "g1": "rejected",
        "g2": "confirmed",
    }
    until(lambda: status_text(view).startswith("completed_partial"), what="completed_partial")
    view.close()


def test_loaded_run_view_and_decisions(demo_template, store):
    run = demo_template.run(store=store)
    run.wait(timeout=30)
    loaded = px.load_run(run.id, store=store)
    view = RunView(loaded)
    assert gates_text(view) == "Gates resolved: 0 / 3"
    card = next(c for c in view.cards.prompt_cards if c.gate_ids == ("throughput_shape",))
    card.confirm_button.click()
    assert run.refresh().gates["throughput_shape"].status == "confirmed"
    until(lambda: gates_text(view) == "Gates resolved: 1 / 3", what="1 / 3 on the loaded run")
    assert isinstance(view.cards.decision_cards[0], DecisionCard)
    assert all(isinstance(c, GateCard) for c in view.cards.prompt_cards)
    view.close()


def test_confirming_over_a_failing_check_asks_for_a_reason(tmp_path, store):
    from .test_widgets_support import FAILING, write_csv

    tpl = px.Template("failing", base_dir=tmp_path)
    tpl.source(
        "t",
        write_csv(tmp_path, "t.csv"),
        gate={"gate_id": "g", "name": "G", "instructions": FAILING},
    )
    tpl.output("n", sql="SELECT count(*) FROM t")
    run = tpl.run(store=store)
    view = RunView(run)
    run.wait(timeout=30)
    [card] = until(lambda: view.cards.prompt_cards, what="the gate's card")
    assert card.confirm_button.description == "Confirm…"
    card.confirm_button.click()
    assert run.gates["g"].status == "pending"  # not yet: a reason first
    form = card.note_form
    assert form.visible and form.submit_button.description == "Confirm gate"
    assert "a between 500 and 1000" in text(form.prompt.value)  # names the failing check
    form.submit_button.click()
    assert "A reason is required to confirm" in form.error.value
    assert run.gates["g"].status == "pending"
    form.reason.value = "the line was re-rated: values under 500 are fine now"
    form.submit_button.click()
    assert run.gates["g"].status == "confirmed"
    assert run.gates["g"].last_decision.note.startswith("the line was re-rated")
    view.close()


def test_manual_check_rows_name_their_bullets(tmp_path, store):
    from .test_widgets_support import CLEAN, write_csv

    bullets = CLEAN + "\n- compare with the plant dashboard\n- ask the shift lead"
    tpl = px.Template("manual", base_dir=tmp_path)
    tpl.source(
        "t",
        write_csv(tmp_path, "t.csv"),
        gate={"gate_id": "g", "name": "G", "instructions": bullets},
    )
    run = tpl.run(store=store)
    view = RunView(run)
    run.wait(timeout=30)
    [card] = until(lambda: view.cards.prompt_cards, what="the gate's card")
    rows = re.findall(r'prodex-check-row-manual">(.*?)</li>', card.children[0].value)
    assert [text(r) for r in rows] == [
        "look “compare with the plant dashboard”: not checked automatically; a person checks it.",
        "look “ask the shift lead”: not checked automatically; a person checks it.",
    ]
    view.close()


def test_pending_cards_come_in_the_templates_order_run_after_run(tmp_path, store):
    tpl = branches(tmp_path, n=4)  # 10 rows each: medium confidence, one card per gate
    for _ in range(3):
        run = tpl.run(store=store)
        view = RunView(run)
        run.wait(timeout=30)
        cards = until(lambda v=view: len(v.cards.prompt_cards) == 4 and v.cards.prompt_cards)
        assert [c.gate_ids[0] for c in cards] == ["g0", "g1", "g2", "g3"]
        view.close()


def test_in_a_kernel_the_static_copy_waits_while_the_browser_builds_the_view(demo_template, store):
    """With a running loop (a kernel), the first static copy is sent STATIC_INTERVAL s after
    the view, not at once: the browser would render each copy again while it builds the live
    view. Without a loop (scripts, the other tests) it is sent at once."""
    run = demo_template.run(store=store)
    run.wait(timeout=30)
    copies: list = []

    async def in_kernel() -> None:
        view = RunView(run)
        view.keep_static(copies.append)
        assert copies == []
        await asyncio.sleep(STATIC_INTERVAL + 0.5)
        view.close()

    asyncio.run(in_kernel())
    [copy] = copies
    assert run.id in copy["text/html"] and 'class="prodex-static-run"' in copy["text/html"]
    assert run.id in copy["text/plain"]
