"""The canvas: classes per state, SVG badges, one-batch build, incremental updates, viewport."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from urllib.parse import unquote

import comm
import pytest

import prodex_jupyter as px
from prodex_jupyter.runtime import display_state
from prodex_jupyter.view import badges
from prodex_jupyter.view.canvas import MAX_HEIGHT, READABLE_ZOOM, display_states, stylesheet
from prodex_jupyter.view.graph_layout import NODE_W, layered_layout
from prodex_jupyter.widgets import RunView
from prodex_jupyter.widgets.canvas import RunCanvas

from . import nodes_for_tests
from .test_widgets_support import chain, generated, until, with_failure


@pytest.fixture
def messages(monkeypatch):
    """Every comm message the widgets publish (no kernel: counted at the dummy comm)."""
    sent: list[tuple[str, dict]] = []

    def publish(self, msg_type, data=None, metadata=None, buffers=None, **keys):
        sent.append((msg_type, data or {}))

    monkeypatch.setattr(comm.DummyComm, "publish_msg", publish)
    return sent


def _shown(view: RunView, wanted: dict[str, set[str]], absent: dict[str, set[str]] | None = None):
    """The canvas's classes per node once it shows `wanted` (and none of `absent`): the view
    renders on its coalescer's thread, possibly an earlier state of the run first, and restyles
    one node after another, so a single read can catch it halfway."""

    def classes() -> dict[str, set[str]] | None:
        seen = {n: set(c.split()) for n, c in view.canvas.node_class_map.items()}
        done = all(w <= seen[n] for n, w in wanted.items())
        done = done and not any(a & seen[n] for n, a in (absent or {}).items())
        return seen if done else None

    return until(classes, timeout=30, what=f"the canvas to show {wanted}, without {absent}")


def test_classes_follow_kind_state_and_gate(tmp_path, store):
    run = chain(tmp_path).run(store=store)
    view = RunView(run)
    run.wait(timeout=30)
    first = {
        "t": {"k-source", "st-produced", "gated", "g-pending", "attention"},
        "sums": {"k-sql", "st-blocked", "gated", "g-not_reached"},
        "grand_total": {"k-output", "st-blocked"},
        "mean_a": {"k-python", "st-blocked"},
    }
    classes = _shown(view, first, absent={"big": {"gated"}})
    assert {"k-source", "st-produced", "gated", "g-pending", "attention"} <= classes["t"]
    assert {"k-sql", "st-blocked", "gated", "g-not_reached"} <= classes["sums"]
    assert {"k-output", "st-blocked"} <= classes["grand_total"]
    assert "gated" not in classes["big"]
    assert {"k-python", "st-blocked"} <= classes["mean_a"]

    run.confirm("t_shape")
    run.wait(timeout=30)
    second = {
        "t": {"g-confirmed", "st-produced"},
        "mean_out": {"st-produced"},
        "sums": {"g-pending", "attention"},
    }
    classes = _shown(view, second, absent={"t": {"attention"}})
    assert {"g-confirmed", "st-produced"} <= classes["t"] and "attention" not in classes["t"]
    assert {"st-produced"} <= classes["mean_out"]
    assert {"g-pending", "attention"} <= classes["sums"]

    run.reject("sums_ok", note="totals look off")
    run.wait(timeout=30)
    classes = _shown(view, {"sums": {"g-rejected"}, "grand_total": {"st-blocked"}})
    assert "st-blocked" in classes["grand_total"]

    # labels: outputs show their value once produced (set just after the node's classes)
    def labels() -> dict[str, str]:
        return {n.data["id"]: n.data["label"] for n in view.canvas.graph.graph.nodes}

    until(lambda: "=" in labels()["mean_out"], timeout=30, what="the output's value in its label")
    shown = labels()
    assert shown["mean_out"] == "mean_out\n= 19.5"
    assert shown["t"].endswith("source · csv")
    view.close()


def test_display_states_match_the_runtime_node_by_node(tmp_path, store):
    run = with_failure(tmp_path).run(store=store)
    run.wait(timeout=30)
    states = [run.state]
    run.confirm("t_shape")
    run.wait(timeout=30)
    states.append(run.state)
    for state in states:
        fast = display_states(state)
        assert fast == {n: display_state(state, n) for n in state.nodes}
    assert fast["explode"] == "failed" and fast["after"] == "blocked"


def test_badges_are_svg_for_every_gate_state():
    style: dict[str, dict] = {}
    for rule in stylesheet():  # later rules add to earlier ones, as in cytoscape
        style.setdefault(rule["selector"], {}).update(rule["style"])
    seen = {}
    for status in ("not_reached", "pending", "confirmed", "rejected"):
        selector = "node.gated" if status == "not_reached" else f"node.g-{status}"
        uri = style[selector]["background-image"]
        assert uri.startswith("data:image/svg+xml;utf8,")
        svg = unquote(uri.split(",", 1)[1])
        assert svg.startswith("<svg") and 'width="34"' in svg and "<path" in svg
        seen[status] = svg
    assert badges.CONFIRMED in seen["confirmed"]  # green check beside the shield
    assert badges.REJECTED in seen["rejected"]
    assert badges.PENDING in seen["pending"]
    assert len(set(seen.values())) == 4
    # pending stands out: a thick amber border and a halo
    assert style["node.attention"]["border-width"] >= 4
    assert style["node.attention"]["underlay-opacity"] > 0
    # shape by kind
    assert style["node.k-source"]["shape"] == "barrel"
    assert style["node.k-output"]["shape"] == "round-tag"
    assert style["node.k-sql"]["shape"] == "round-rectangle"


def test_graph_is_built_in_one_batch_and_updated_incrementally(tmp_path, store, messages):
    tpl = generated(tmp_path, 200)
    run = tpl.run(store=store)
    run.wait(timeout=60)
    state = run.state
    n_nodes, n_edges = len(state.nodes), sum(len(n.upstream) for n in state.nodes.values())
    messages.clear()
    started = time.perf_counter()
    canvas = RunCanvas(state)
    built_in = time.perf_counter() - started
    kinds = Counter(kind for kind, _ in messages)
    updates = [d for kind, d in messages if kind == "comm_msg"]
    # one comm_open per element drawn (with its state), a handful of updates, none per node;
    # the graph opens with its chains of steps collapsed: far fewer elements than nodes + edges
    drawn = len(canvas.graph.graph.nodes) + len(canvas.graph.graph.edges)
    assert drawn < (n_nodes + n_edges) / 2
    assert drawn <= kinds["comm_open"] < drawn + 30
    assert len(updates) < 40, Counter(tuple(sorted(d.get("state", {}))) for d in updates)
    graph_updates = [d for d in updates if "nodes" in d.get("state", {})]
    assert len(graph_updates) == 1 and "edges" in graph_updates[0]["state"]
    assert built_in < 2.0

    # An update after a decision restyles only the nodes whose look changed.
    gate = run.prompts[0].gate_ids[0]
    run.confirm(gate)
    run.wait(timeout=60)
    messages.clear()
    changed = canvas.update(run.state)
    node_updates = [
        d
        for kind, d in messages
        if kind == "comm_msg" and {"classes", "data"} & set(d.get("state", {}))
    ]
    assert 0 < changed < n_nodes / 2
    assert len(node_updates) == changed  # a class, or a group's count of steps done
    messages.clear()
    assert canvas.update(run.state) == 0  # nothing changed: nothing sent
    assert not [d for kind, d in messages if "classes" in d.get("state", {})]


def test_large_graph_opens_readable_on_the_pending_gate(tmp_path, store):
    tpl = generated(tmp_path, 200)
    run = tpl.run(store=store)
    run.wait(timeout=60)
    view = RunView(run)
    canvas = view.canvas
    assert canvas.height == MAX_HEIGHT and f"prodex-h-{MAX_HEIGHT}" in canvas.graph._dom_classes
    # the first prompt's gate drawn furthest left: its other gates are to its right, in view
    gates = [g.node_id for g in run.prompts[0].gates]
    target = min(gates, key=lambda n: canvas.positions.positions[n])
    assert canvas._target == target
    layout = canvas.graph.cytoscape_layout
    assert layout["name"] == "preset" and layout["fit"] is False
    assert layout["zoom"] == READABLE_ZOOM
    # the target lands well inside the canvas (centred unless near the graph's edges)
    x, y = canvas.positions.positions[target]
    assert 24 < layout["pan"]["x"] + layout["zoom"] * x <= 330
    assert 24 < layout["pan"]["y"] + layout["zoom"] * y < canvas.height - 24
    # positions travel with the nodes (preset layout): the front end can draw them anew
    node = next(n for n in canvas.graph.graph.nodes if n.data["id"] == target)
    assert node.position == {"x": x, "y": y}
    assert canvas.graph.user_zooming_enabled is False  # the wheel scrolls the notebook

    canvas.fit_button.click()
    assert canvas.graph.cytoscape_layout["fit"] is True and canvas.viewport == {"mode": "fit"}
    canvas.zoom_in_button.click()
    zoom = canvas.graph.cytoscape_layout["zoom"]
    canvas.zoom_in_button.click()
    assert canvas.graph.cytoscape_layout["zoom"] == pytest.approx(zoom * 1.35)
    canvas.zoom_out_button.click()
    assert canvas.graph.cytoscape_layout["zoom"] == pytest.approx(zoom)
    canvas.focus_button.click()
    layout = canvas.graph.cytoscape_layout
    assert layout["zoom"] >= READABLE_ZOOM
    assert 24 < layout["pan"]["y"] + layout["zoom"] * y < canvas.height - 24

    # The view follows the next gate that needs a person.
    for prompt in run.prompts:
        for gate_id in prompt.gate_ids:
            run.confirm(gate_id)
    run.wait(timeout=60)
    until(lambda: view.canvas._target not in (None, target), what="a new attention target")
    new = view.canvas._target
    _nx, ny = canvas.positions.positions[new]
    layout = canvas.graph.cytoscape_layout
    assert 24 < layout["pan"]["y"] + layout["zoom"] * ny < canvas.height - 24
    view.close()


def test_small_graph_is_fitted_and_the_node_click_opens_the_drawer(demo_template, store):
    run = demo_template.run(store=store)
    run.wait(timeout=30)
    view = RunView(run)
    canvas = view.canvas
    assert canvas.graph.cytoscape_layout["fit"] is True
    assert 300 <= canvas.height < MAX_HEIGHT
    assert f"prodex-h-{canvas.height}" in canvas.graph._dom_classes
    assert not canvas.focus_button.disabled  # a gate waits: focusing on it is offered
    # ipycytoscape calls the handler registered with on('node', 'click') with the node's JSON
    handlers = canvas.graph._interaction_handlers["node"]["click"]
    handlers({"data": {"id": "plant_mean_cycle_time"}})
    assert view.drawer.is_open and view.drawer.node_id == "plant_mean_cycle_time"
    view.close()


def test_layered_layout_flows_left_to_right_without_overlaps():
    ups = {"a": (), "b": (), "c": ("a", "b"), "d": ("c",), "e": ("c",), "f": ("d", "a")}
    layout = layered_layout(list(ups), ups)
    pos = layout.positions
    for node, parents in ups.items():
        for parent in parents:
            assert pos[parent][0] < pos[node][0], (parent, node)
    # one column per rank, no two nodes of a rank overlapping
    by_x: dict[float, list[float]] = {}
    for x, y in pos.values():
        by_x.setdefault(x, []).append(y)
    for ys in by_x.values():
        ys.sort()
        assert all(b - a >= 44 for a, b in itertools.pairwise(ys))
    assert layout.width >= 3 * NODE_W


def test_layered_layout_of_500_nodes_is_quick():
    ups = {f"n{i}": tuple(f"n{j}" for j in (i // 2, i // 3) if j < i) for i in range(500)}
    started = time.perf_counter()
    layout = layered_layout(list(ups), ups)
    assert time.perf_counter() - started < 2.0
    assert len(layout.positions) == 500


HOLD = nodes_for_tests.HOLD


def test_a_node_being_computed_is_drawn_running(tmp_path, store):
    tpl = chain(tmp_path)
    tpl.python_node("slow", function=nodes_for_tests.held, explanation="waits for the test")
    HOLD.clear()
    run = tpl.run(store=store)
    view = RunView(run)
    try:
        until(lambda: run.gates["t_shape"].status == "pending", what="t pending")
        run.confirm("t_shape")
        until(lambda: "st-running" in view.canvas.node_class_map["slow"], what="slow running")
        assert "computing" in view.info.status.value
    finally:
        HOLD.set()
    run.wait(timeout=30)
    until(lambda: "st-produced" in view.canvas.node_class_map["slow"], what="slow produced")
    view.close()


def test_labels_open_at_11_px_or_more_and_fit_lifts_the_floor(demo_template, store):
    from prodex_jupyter.view.canvas import FONT_SIZE, MIN_ZOOM

    run = demo_template.run(store=store)
    view = RunView(run)
    canvas = view.canvas
    assert canvas.viewport["mode"] == "fit"  # a small graph opens fitted ...
    assert canvas.graph.min_zoom * FONT_SIZE >= 11  # ... but never below 11 px labels
    canvas.fit_button.click()  # the whole graph, however small
    assert canvas.graph.min_zoom == MIN_ZOOM
    view.close()


def test_hover_shows_the_full_name_and_search_focuses_a_node(tmp_path, store):
    tpl = px.Template("long", base_dir=tmp_path)
    long_name = "throughput_extract_from_the_manufacturing_execution_system"
    (tmp_path / "t.csv").write_text("a\n1\n2\n")
    tpl.source(long_name, "t.csv")
    tpl.output("total", sql=f"SELECT sum(a) FROM {long_name}")
    run = tpl.run(store=store)
    view = RunView(run)
    run.wait(timeout=30)
    canvas = view.canvas
    node = canvas._nodes[long_name]
    assert node.data["label"].split("\n")[0].endswith("…")  # cut on the node ...
    assert node.data["name"] == long_name  # ... whole in the data the hover style shows
    handlers = canvas.graph._interaction_handlers["node"]
    handlers["mouseover"]({"data": {"id": long_name}})
    assert "hovered" in node.classes.split() and long_name in canvas.hover_line.value
    view.render()  # a re-render keeps the hover
    assert "hovered" in node.classes.split()
    handlers["mouseout"]({"data": {"id": long_name}})
    assert "hovered" not in node.classes.split() and canvas.hover_line.value == ""

    canvas.search.value = "manufacturing"  # a unique part of a name
    assert canvas.viewport["mode"] == "auto" and canvas.selected == long_name
    assert view.drawer.is_open and view.drawer.node_id == long_name
    canvas.search.value = "nothing like it"
    assert "No node matches" in canvas.hover_line.value
    canvas.search.value = "t"  # several
    assert "2 nodes match" in canvas.hover_line.value
    canvas.search.value = "total"
    assert canvas.selected == "total"
    view.close()


def test_a_big_graph_opens_with_chains_collapsed_into_groups(tmp_path, store):
    from prodex_jupyter.view.groups import COLLAPSE_ABOVE, MIN_GROUP

    run = generated(tmp_path, 200).run(store=store)
    run.wait(timeout=60)
    state = run.state
    canvas = RunCanvas(state)
    groups = canvas.collapsed
    assert groups and len(state.nodes) > COLLAPSE_ABOVE
    members = [m for path in groups.values() for m in path]
    assert len(members) == len(set(members))  # a node is in one group at most
    for path in groups.values():
        assert len(path) >= MIN_GROUP
        for up, down in itertools.pairwise(path):  # a path of steps, each reading the one before
            assert up in state.nodes[down].upstream
        for m in path:  # only plain steps: sources, outputs and gated nodes stay drawn
            assert state.nodes[m].kind in ("sql", "python") and not state.nodes[m].gate_id
    drawn = {n.data["id"] for n in canvas.graph.graph.nodes}
    assert drawn == set(groups) | (set(state.nodes) - set(members))
    # every edge of the template is drawn, between the ids drawing its ends, once
    edges = {(e.data["source"], e.data["target"]) for e in canvas.graph.graph.edges}
    wanted = {
        (canvas.shown_as(u), canvas.shown_as(n))
        for n in state.nodes
        for u in state.nodes[n].upstream
        if canvas.shown_as(u) != canvas.shown_as(n)
    }
    assert edges == wanted and len(edges) == len(canvas.graph.graph.edges)
    # drawn left to right: the folded graph is still a DAG
    pos = canvas.positions.positions
    assert all(pos[u][0] < pos[v][0] for u, v in edges)
    # a group shows its first and last node, how many steps and how many are done
    gid, path = next(iter(groups.items()))
    node = canvas._nodes[gid]
    assert node.data["label"].startswith(path[0]) and f"{len(path)} steps" in node.data["label"]
    assert {"k-group", "st-blocked"} <= set(node.classes.split())  # waits behind its gate


def test_a_click_on_a_group_expands_it_and_a_search_opens_the_group_of_its_node(tmp_path, store):
    run = generated(tmp_path, 200).run(store=store)
    run.wait(timeout=60)
    view = RunView(run)
    canvas = view.canvas
    gid, path = next(iter(canvas.collapsed.items()))
    handlers = canvas.graph._interaction_handlers["node"]
    handlers["mouseover"]({"data": {"id": gid}})
    assert f"{len(path)} steps, click to expand" in canvas.hover_line.value
    before = list(canvas.graph.graph.nodes)
    handlers["click"]({"data": {"id": gid}})
    assert gid not in canvas.collapsed and gid not in canvas.node_class_map
    # the group and its edges are hidden (the lists only grow: see RunCanvas.expand)
    shown = [n for n in canvas.graph.graph.nodes if "gone" not in n.classes.split()]
    drawn = {n.data["id"] for n in shown}
    assert set(path) <= drawn and gid not in drawn
    assert canvas.graph.graph.nodes[: len(before)] == before  # appended, nothing removed
    for edge in canvas.graph.graph.edges:
        ends = (edge.data["source"], edge.data["target"])
        assert ("gone" in edge.classes.split()) == (gid in ends), edge.data
    assert not view.drawer.is_open  # expanding opens no drawer
    # positions travel with the nodes: every drawn node at its place in the new layout
    for node in shown:
        x, y = canvas.positions.positions[node.data["id"]]
        assert dict(node.position) == {"x": x, "y": y}
    # the view shows the group's first node at a readable zoom
    layout = canvas.graph.cytoscape_layout
    x, y = canvas.positions.positions[path[0]]
    assert layout["zoom"] >= READABLE_ZOOM
    assert 0 < layout["pan"]["x"] + layout["zoom"] * x < 700
    handlers["click"]({"data": {"id": path[1]}})  # a node of it opens the drawer
    assert view.drawer.is_open and view.drawer.node_id == path[1]

    # Searching a node inside a collapsed group expands that group, focuses and opens it.
    other, inside = next(iter(canvas.collapsed.items()))
    canvas.search.value = inside[2]
    assert other not in canvas.collapsed and canvas.selected == inside[2]
    assert view.drawer.node_id == inside[2]
    assert "selected" in canvas.node_class_map[inside[2]].split()

    # Statuses keep following the run on expanded nodes and on groups still collapsed.
    for prompt in run.prompts:
        for gate_id in prompt.gate_ids:
            run.confirm(gate_id)
    run.wait(timeout=60)
    view.render()
    assert "st-produced" in canvas.node_class_map[inside[0]]
    last = next(iter(canvas.collapsed))
    assert "st-blocked" not in canvas.node_class_map[last] or run.prompts
    view.close()


def test_a_small_graph_is_drawn_whole(demo_template, store):
    run = demo_template.run(store=store)
    canvas = RunCanvas(run.state)
    assert canvas.collapsed == {}
    assert len(canvas.graph.graph.nodes) == len(run.state.nodes)
    assert "click to expand" not in canvas.legend.value
