"""What the run view says is readable and true: rejected gates apart from confirmed ones,
inputs named by their source node, grammar, drift once per card, one timestamp format, and a
source node's drawer saying what it read (widgets driven through traits and clicks)."""

from __future__ import annotations

import re

import prodex_jupyter as px
from prodex_jupyter.widgets import RunView

from .test_widgets_run_view import text
from .test_widgets_support import CLEAN, until, write_csv

STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def one_source(tmp_path, instructions=CLEAN, rows=40, name="t.csv") -> px.Template:
    tpl = px.Template("one", base_dir=tmp_path)
    tpl.source(
        "t",
        write_csv(tmp_path, name, rows=rows),
        gate={"gate_id": "g", "name": "G", "instructions": instructions},
    )
    tpl.output("n", sql="SELECT count(*) FROM t")
    return tpl


def test_a_rejected_gate_is_counted_apart_with_a_red_segment(tmp_path, store):
    run = one_source(tmp_path).run(store=store)
    view = RunView(run)
    run.wait(timeout=30)
    run.reject("g", note="short extract").wait(timeout=30)
    until(lambda: "rejected" in view.info.gates_text, what="the gates row to update")
    assert view.info.gates_text == "Gates resolved: 1 / 1 · 1 rejected"
    assert text(view.info.gates.value) == "Gates resolved: 1 / 1 · 1 rejected"
    bar = view.info.gates.value
    assert 'class="prodex-progress-rejected" style="width:100%"' in bar
    assert "prodex-progress-confirmed" not in bar  # no green for a rejection
    run.confirm("g", note="the extract is complete after all").wait(timeout=30)
    until(lambda: view.info.gates_text == "Gates resolved: 1 / 1", what="re-confirmed")
    assert 'class="prodex-progress-confirmed" style="width:100%"' in view.info.gates.value
    view.close()


def test_inputs_name_the_source_node_beside_the_file(tmp_path, store):
    tpl = px.Template("same_file", base_dir=tmp_path)
    name = write_csv(tmp_path, "line.csv")
    for node in ("north", "south"):
        tpl.source(node, name)
    tpl.output("n", sql="SELECT (SELECT count(*) FROM north) + (SELECT count(*) FROM south)")
    run = tpl.run(store=store)
    view = RunView(run)
    run.wait(timeout=30)
    until(lambda: len(run.inputs) == 2, timeout=30, what="both inputs")

    def shown() -> str:  # the view renders on its coalescer's thread, maybe a while later
        return text(view.info.inputs.value).replace(" :", ":")

    until(
        lambda: "north: line.csv" in shown() and "south: line.csv" in shown(),
        timeout=30,
        what="both inputs shown with their source node",
    )
    assert "north: line.csv" in shown() and "south: line.csv" in shown()
    view.close()


def test_one_offending_row_is_singular(tmp_path, store):
    run = one_source(tmp_path, "- a between 0 and 38").run(store=store)  # a runs 0..39
    view = RunView(run)
    run.wait(timeout=30)
    [card] = until(lambda: view.cards.prompt_cards, what="the card")
    markup = text(card.children[0].value)
    assert "1 offending row " in markup + " " and "1 offending rows" not in markup
    view.close()


def test_drift_reads_once_per_card(tmp_path, store):
    first = one_source(tmp_path, rows=40).run(store=store)
    first.wait(timeout=30)
    first.confirm("g").wait(timeout=30)
    run = one_source(tmp_path, rows=80).run(store=store)  # +100% rows: a drift warning
    view = RunView(run)
    run.wait(timeout=30)
    [card] = until(lambda: view.cards.prompt_cards, what="the card")
    finding = next(f for f in run.gates["g"].evidence["drift"]["findings"] if f["warning"])
    message = finding["message"]
    assert message in run.gates["g"].summary  # the checker's sentence says it ...
    assert message in run.gates["g"].evidence["warnings"]  # ... and its warnings list too,
    assert text(card.children[0].value).count(message) == 1  # but the card shows it once
    view.close()


def test_cards_drawer_and_run_information_use_one_timestamp_format(tmp_path, store):
    run = one_source(tmp_path).run(store=store)
    view = RunView(run)
    run.wait(timeout=30)
    run.confirm("g").wait(timeout=30)
    [decided] = until(lambda: view.cards.decision_cards, what="decided card")
    view.open_node("n")
    until(lambda: "Produced at" in view.drawer.body.value, what="the drawer")
    shown = {
        "card": text(decided.summary.value),
        "drawer": text(view.drawer.body.value),
        "started": text(view.info.started.value),
    }
    for where, words in shown.items():
        stamps = re.findall(r"\d[\d:-]*\d(?: \d\d:\d\d:\d\d)?", words)
        times = [s for s in stamps if ":" in s]
        assert times, where
        assert all(STAMP.fullmatch(t) for t in times), (where, times)
    view.close()


def test_a_source_nodes_drawer_says_what_it_read(tmp_path, store):
    run = one_source(tmp_path).run(store=store)
    view = RunView(run)
    run.wait(timeout=30)
    view.open_node("t")
    until(lambda: "What it read" in view.drawer.body.value, what="the source's drawer")
    body = text(view.drawer.body.value)
    record = run.inputs["t"]
    assert f"Read {record.path} (csv): 40 rows" in body
    assert record.sha256[:12] in body
    assert "Derivation" not in body and "-- read" not in body
    view.close()


def test_a_run_deleted_elsewhere_says_so_and_refuses_decisions(tmp_path, store):
    run = one_source(tmp_path).run(store=store)
    run.wait(timeout=30)
    run.confirm("g").wait(timeout=30)
    loaded = px.load_run(run.id, store)  # a live view of a stored run
    view = RunView(loaded)
    [decided] = until(lambda: view.cards.decision_cards, what="the decided card")
    px.RunStore(store.location).delete_run(run.id)  # deleted elsewhere

    decided.action.click()  # Reopen…
    decided.note_form.reason.value = "second look"
    decided.note_form.submit_button.click()
    message = text(decided.message.value)
    assert message.startswith(f"run {run.id} was deleted from the store")
    assert message[0] != "'" and "KeyError" not in message  # a sentence, not a quoted repr
    assert view.deleted
    assert f"Run {run.id} was deleted from the store" in text(view.notice.value)
    assert "nothing can be decided on it" in text(view.notice.value)
    assert text(view.info.status.value).startswith("deleted")
    assert decided.action.disabled and decided.note_form.submit_button.disabled
    assert "No decision possible" in view.cards.header.value
    view.close()


def test_the_views_clock_notices_a_deletion_without_a_click(tmp_path, store):
    run = one_source(tmp_path).run(store=store)
    run.wait(timeout=30)
    view = RunView(px.load_run(run.id, store))
    until(lambda: view.cards.prompt_cards, what="the card")
    assert not view.check_deleted()
    run.confirm("g").wait(timeout=30)  # the run settles; nobody executes it now
    px.RunStore(store.location).delete_run(run.id)
    view._tick()  # what the kernel's loop calls every few seconds
    assert view.deleted and text(view.info.status.value).startswith("deleted")
    assert all(c.confirm_button.disabled for c in view.cards.prompt_cards)
    view.close()
