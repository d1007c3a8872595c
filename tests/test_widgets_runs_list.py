"""The runs-list and compare widgets, driven through their buttons as a person would click them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import prodex_jupyter as px
from prodex_jupyter.runtime.history import RunsTable
from prodex_jupyter.store import verify_store
from prodex_jupyter.widgets import CompareView, RunsList, RunView
from prodex_jupyter.widgets.compare_view import trend_svg

RULES = "- required columns: a\n- at least 1 rows"


def template(tmp_path: Path, name: str = "sales") -> px.Template:
    tpl = px.Template(name, base_dir=tmp_path)
    tpl.source("t", "t.csv", gate={"gate_id": "g", "name": "G", "instructions": RULES})
    tpl.output("total", sql="SELECT sum(a) AS total FROM t")
    tpl.output("rows", sql="SELECT count(*) AS n FROM t")
    return tpl


def finished(tmp_path: Path, store, rows: int, name: str = "sales") -> px.Run:
    (tmp_path / "t.csv").write_text("a\n" + "".join(f"{i}\n" for i in range(rows)))
    run = template(tmp_path, name).run(store=store).wait(timeout=30)
    run.confirm("g").wait(timeout=30)
    assert run.status == "completed"
    return run


@pytest.fixture
def listed(tmp_path, store):
    sales = [finished(tmp_path, store, n) for n in (3, 5, 4)]
    other = finished(tmp_path, store, 2, "costs")
    waiting = template(tmp_path).run(store=store).wait(timeout=30)  # executing in this process
    return {"sales": sales, "other": other, "waiting": waiting}


def row_of(widget: RunsList, run_id: str):
    return next(row for row in widget.rows if row.run_id == run_id)


def test_the_list_shows_every_run_and_sorts_by_a_clicked_header(listed, store):
    widget = RunsList(px.runs(store=store))
    everything = [
        listed["waiting"].id,
        listed["other"].id,
        *(r.id for r in reversed(listed["sales"])),
    ]
    assert widget.visible_run_ids == everything  # newest first
    assert "5 runs" in widget.page_label.value
    first = row_of(widget, listed["sales"][0].id)
    assert "completed" in first.cells[2].value and first.cells[3].value == "1 / 1"
    assert listed["sales"][0].state.fingerprint in first.cells[1].value  # on hover
    waiting = row_of(widget, listed["waiting"].id)
    assert waiting.delete.disabled  # a process executes it: no delete offered

    widget.headers["run_id"].click()
    assert widget.visible_run_ids == sorted(everything)
    assert widget.headers["run_id"].description == "Run ▲"
    widget.headers["run_id"].click()
    assert widget.visible_run_ids == sorted(everything, reverse=True)
    widget.headers["gates_resolved"].click()  # "0 / 1" before "1 / 1"
    assert widget.visible_run_ids[0] == listed["waiting"].id


def test_filters_and_pages(listed, store):
    widget = RunsList(px.runs(store=store), page_size=2)
    assert len(widget.visible_run_ids) == 2 and widget.prev_button.disabled
    widget.next_button.click()
    widget.next_button.click()
    assert len(widget.visible_run_ids) == 1 and widget.next_button.disabled
    assert all(row.actions.layout.display == "none" for row in widget.rows[1:])

    widget.pipeline_filter.value = "costs"
    assert widget.visible_run_ids == [listed["other"].id] and widget.page == 0
    widget.pipeline_filter.value = "sales"
    widget.status_filter.value = "executing"
    assert widget.visible_run_ids == [listed["waiting"].id]
    assert "(5 in all)" in widget.page_label.value
    # a filtered px.runs() opens with its filters set
    filtered = RunsList(px.runs("sales", "completed", store=store))
    assert (filtered.pipeline_filter.value, filtered.status_filter.value) == ("sales", "completed")


def test_open_shows_the_run_view(listed, store):
    widget = RunsList(store=store)
    run = listed["sales"][1]
    row_of(widget, run.id).open.click()
    (view,) = widget.detail.children
    assert isinstance(view, RunView) and view.run.id == run.id


def test_compare_with_the_selected_runs_plots_scalars_across_three_runs(listed, store):
    widget = RunsList(store=store)
    a, b, c = listed["sales"]
    row_of(widget, b.id).compare.click()
    assert "select runs of the same pipeline" in widget.message.value and not widget.detail.children

    row_of(widget, a.id).select.value = True
    row_of(widget, c.id).select.value = True
    assert widget.selected == [a.id, c.id] and not widget.compare_button.disabled
    row_of(widget, b.id).compare.click()
    (view,) = widget.detail.children
    assert isinstance(view, CompareView)
    assert view.comparison.run_ids == [a.id, b.id, c.id]  # oldest first
    assert view.plots.value.count("<svg") == 2  # total and rows, across the three runs
    assert "updated source data (&#x27;t&#x27;); template unchanged" in view.changes.value

    widget.compare_button.click()  # the two selected alone: no plot
    (two,) = widget.detail.children
    assert two.comparison.run_ids == [a.id, c.id] and two.plots.value == ""

    row_of(widget, listed["other"].id).compare.click()  # another pipeline: said, not raised
    assert "cannot compare" in widget.message.value and "one pipeline" in widget.message.value


def test_delete_asks_first_and_leaves_other_runs_intact(listed, store):
    widget = RunsList(store=store)
    doomed = listed["sales"][0]
    row_of(widget, doomed.id).delete.click()
    (bar,) = widget.detail.children
    question, yes, no = bar.children
    assert f"Delete run <b>{doomed.id} of sales</b>?" in question.value
    assert yes.description == "Delete" and no.description == "Cancel"
    no.click()
    assert doomed.id in store.run_ids() and not widget.detail.children

    row_of(widget, doomed.id).delete.click()
    widget.detail.children[0].children[1].click()  # the bar's Delete
    assert doomed.id not in store.run_ids()
    assert doomed.id not in widget.visible_run_ids and "4 runs" in widget.page_label.value
    assert f"deleted run {doomed.id}" in widget.message.value
    assert verify_store(store) == []  # the other runs' events and artifacts are intact

    widget.delete(listed["waiting"].id)  # executing here: refused with the reason
    assert "being executed by this process" in widget.message.value
    assert listed["waiting"].id in store.run_ids()


def test_runs_tables_and_comparisons_display_as_widgets_in_a_kernel(listed, store):
    from IPython.core.interactiveshell import InteractiveShell

    from prodex_jupyter.widgets import runs_list

    shell = InteractiveShell.instance()
    shell.kernel = object()  # what the registration looks for: a kernel with a front end
    try:
        runs_list._registered = False
        assert runs_list.register_display()
        formatter = shell.display_formatter.ipython_display_formatter
        table = px.runs(store=store)
        assert isinstance(table, RunsTable)
        assert formatter.lookup(table) is runs_list._display_runs_table
        assert type(table.head(2)) is not RunsTable  # derived frames display as plain frames
        comparison = px.compare(*listed["sales"][:2])
        assert formatter.lookup(comparison).__name__ == "display_comparison"
    finally:
        del shell.kernel
        InteractiveShell.clear_instance()
        runs_list._registered = False


def test_the_trend_chart_is_an_svg_with_a_point_per_run_and_gaps_for_missing_values():
    svg = trend_svg("total", ["r1", "r2", "r3", "r4"], [1.0, None, 3.0, 2.5])
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert len(root.findall(f"{ns}circle")) == 3
    lines = root.findall(f"{ns}polyline")
    assert [len(p.get("points").split()) for p in lines] == [1, 2]
    titles = [c.find(f"{ns}title").text for c in root.findall(f"{ns}circle")]
    assert titles == ["r1: 1", "r3: 3", "r4: 2.5"]
    flat = ET.fromstring(trend_svg("flat", ["a", "b", "c"], [2.0, 2.0, 2.0]))
    ys = {c.get("cy") for c in flat.findall(f"{ns}circle")}
    assert len(ys) == 1  # a flat line sits mid-chart rather than dividing by zero


def test_an_empty_store_lists_nothing_and_says_where_it_looked(store):
    widget = RunsList(store=store)
    assert widget.visible_run_ids == [] and "0–0 of 0 runs" in widget.page_label.value
    assert "No runs yet in the store at" in widget.empty.value
    assert str(store.root) in widget.empty.value
    assert widget.grid.layout.display == "none"


def test_the_store_location_note_goes_once_a_run_lands(tmp_path, store):
    widget = RunsList(store=store)
    assert str(store.root) in widget.empty.value
    finished(tmp_path, store, 3)
    widget.refresh_button.click()
    assert widget.empty.value == "" and widget.grid.layout.display is None
    assert len(widget.visible_run_ids) == 1


def test_every_row_keeps_its_actions_in_one_cell_of_the_last_column(listed, store):
    from prodex_jupyter.widgets.runs_list import COLUMN_CSS

    widget = RunsList(store=store)
    row = row_of(widget, listed["other"].id)
    assert row.widgets[-1] is row.actions
    assert [b.description for b in row.actions.children] == ["Open", "Compare", "Delete"]
    for widget_, column in zip(row.widgets, COLUMN_CSS, strict=True):
        assert f"prodex-runs-col-{column}" in widget_._dom_classes


def test_the_run_column_shows_what_tells_runs_apart_and_the_full_id_on_hover(listed, store):
    from prodex_jupyter.widgets.runs_list import short_run_id

    widget = RunsList(store=store)
    run = listed["other"]
    cell = row_of(widget, run.id).cells[0].value
    assert f'title="{run.id}"' in cell
    assert short_run_id(run.id) in cell and short_run_id(run.id).startswith("…")
    assert run.id.endswith(short_run_id(run.id)[1:])
    assert short_run_id("my-own-id") == "my-own-id"
