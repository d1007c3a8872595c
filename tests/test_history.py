"""The runs list: `px.runs()` and `prodex runs` say what each run is and where it stands."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import prodex_jupyter as px
from prodex_jupyter.runtime.history import COLUMNS, RunsTable
from prodex_jupyter.runtime.interruption import is_interrupted, progress_of
from prodex_jupyter.store import RunCreated, RunStatusChanged, run_index, verify_store
from prodex_jupyter.store.events import (
    GateDecided,
    GatePosed,
    NodeFailed,
    NodeProduced,
    NodeRetried,
    NodeStarted,
)

REPO = Path(__file__).resolve().parents[1]
CLEAN = "- required columns: k, a\n- at least 1 rows"


def _csv(path: Path, rows: int) -> Path:
    path.write_text("k,a\n" + "".join(f"k{i},{i}\n" for i in range(rows)))
    return path


def template(tmp_path: Path, name: str = "sales") -> px.Template:
    tpl = px.Template(name, base_dir=tmp_path)
    tpl.source("t", "t.csv", gate={"gate_id": "g", "name": "G", "instructions": CLEAN})
    tpl.sql("s", "SELECT sum(a) AS total FROM t", gate={"gate_id": "h", "name": "H"})
    tpl.output("total", of="s")
    return tpl


@pytest.fixture
def history(tmp_path, store):
    """Runs: completed, completed_partial, waiting at a gate (executing here), another pipeline."""
    _csv(tmp_path / "t.csv", 10)
    done = template(tmp_path).run(store=store).wait(timeout=30)
    done.confirm("g").wait(timeout=30)
    done.confirm("h").wait(timeout=30)
    partial = template(tmp_path).run(store=store).wait(timeout=30)
    partial.confirm("g").wait(timeout=30)
    partial.reject("h", note="totals off").wait(timeout=30)
    _csv(tmp_path / "other.csv", 5)
    waiting = template(tmp_path).run({"t": str(tmp_path / "other.csv")}, store=store)
    waiting.wait(timeout=30)
    other = template(tmp_path, "costs").run(store=store).wait(timeout=30)
    return {"done": done, "partial": partial, "waiting": waiting, "other": other}


def test_runs_lists_every_run_newest_first_with_status_gates_and_inputs(history, store):
    table = px.runs(store=store)
    assert isinstance(table, RunsTable) and isinstance(table, pd.DataFrame)
    assert tuple(table.columns) == COLUMNS
    ids = [history[k].id for k in ("other", "waiting", "partial", "done")]
    assert list(table["run_id"]) == ids  # newest first
    rows = table.set_index("run_id")
    done, partial, waiting = (rows.loc[history[k].id] for k in ("done", "partial", "waiting"))
    assert (done.status, done.gates_resolved, done.pipeline) == ("completed", "2 / 2", "sales")
    assert (partial.status, partial.gates_resolved) == ("completed_partial", "2 / 2")
    assert (waiting.status, waiting.gates_resolved) == ("executing", "0 / 2")
    assert done.fingerprint == history["done"].state.fingerprint
    sha = history["done"].inputs["t"].sha256
    assert done.inputs == f"t=t.csv ({sha[:8]})"
    assert waiting.inputs.startswith("t=other.csv (")
    assert done.started == pd.Timestamp(history["done"].state.created_at)
    assert done.duration == pd.Timestamp(history["done"].state.updated_at) - done.started
    assert done.duration > pd.Timedelta(0)
    # the run waiting at its gate is executed by this process; finished runs by nobody
    assert bool(waiting.executing) and not bool(done.executing) and not bool(partial.executing)


def test_runs_filters_by_pipeline_and_status(history, store):
    assert list(px.runs("costs", store=store)["run_id"]) == [history["other"].id]
    only = px.runs(pipeline="sales", status="completed", store=store)
    assert list(only["run_id"]) == [history["done"].id]
    either = px.runs(status=["completed_partial", "executing"], store=store)
    assert set(either["run_id"]) == {history["partial"].id, history["waiting"].id} | {
        history["other"].id
    }
    assert px.runs("nope", store=store).empty
    with pytest.raises(ValueError, match=r"unknown run status 'done'.*pending, executing"):
        px.runs(status="done", store=store)


def test_a_reopened_gate_counts_as_unresolved(history, store):
    run = history["done"]
    run.reopen("h", note="second look").wait(timeout=30)
    row = px.runs(store=store).set_index("run_id").loc[run.id]
    assert row.gates_resolved == "1 / 2"


def test_a_store_written_before_the_index_existed_is_back_filled(history, store):
    before = px.runs(store=store).drop(columns="executing")
    con = sqlite3.connect(store.log.path)
    derived = "SELECT type, name FROM sqlite_master WHERE name LIKE 'idx%' AND type != 'index'"
    for kind, name in sorted(con.execute(derived).fetchall(), reverse=True):  # triggers first
        con.execute(f"DROP {kind} {name}")
    assert not con.execute(derived).fetchall()
    con.commit()
    con.close()
    after = px.runs(store=px.RunStore(store.root)).drop(columns="executing")  # reopening builds
    pd.testing.assert_frame_equal(after, before)
    con = sqlite3.connect(store.log.path)
    indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"idx_events_produced", "idx_events_snapshot"} <= indexes  # what deleting runs uses
    con.close()


def test_dataframe_inputs_show_as_such_with_their_snapshot_hash(tmp_path, store):
    tpl = px.Template("frames")
    tpl.source("t", gate={"gate_id": "g", "name": "G", "instructions": CLEAN})
    tpl.output("n", sql="SELECT count(*) FROM t")
    run = tpl.run({"t": pd.DataFrame({"k": ["x"], "a": [1]})}, store=store).wait(timeout=30)
    row = px.runs(store=store).iloc[0]
    assert row.inputs == f"t=<DataFrame t> ({run.inputs['t'].sha256[:8]})"


def test_prodex_runs_prints_the_same_list(history, store):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-m", "prodex_jupyter.cli.main", "--store", str(store.root), "runs"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == [
        "RUN", "PIPELINE", "TEMPLATE", "STATUS", "GATES", "STARTED", "DURATION", "INPUTS"
    ]  # fmt: skip
    done = next(line for line in lines if history["done"].id in line)
    fingerprint = history["done"].state.fingerprint[:12]
    assert done.split()[1:4] == ["sales", fingerprint, "completed"]
    assert "  2 / 2  " in done and done.endswith(
        f"t=t.csv ({history['done'].inputs['t'].sha256[:8]})"
    )
    waiting = next(line for line in lines if history["waiting"].id in line)
    assert "executing *" in waiting  # executed by the test process, which holds its lease
    assert lines[-1] == "4 runs; * = a process is executing it"
    filtered = subprocess.run(
        [
            sys.executable, "-m", "prodex_jupyter.cli.main", "--store", str(store.root),
            "runs", "--pipeline", "sales", "--status", "completed",
        ],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert filtered.returncode == 0, filtered.stderr
    assert history["done"].id in filtered.stdout and history["partial"].id not in filtered.stdout
    assert filtered.stdout.splitlines()[-1] == "1 runs"


def test_a_run_that_has_read_nothing_yet_lists_what_it_was_handed(store):
    created = RunCreated(  # the record as start_run writes it, before any source is read
        "fresh", "f" * 64, {"id": "fresh"}, {}, [], [], inputs={"t": "/data/in/t.csv"}
    )
    run_id = store.create_run(created).run_id
    row = px.runs(store=store).set_index("run_id").loc[run_id]
    assert (row.status, row.gates_resolved, row.inputs) == ("pending", "0 / 0", "t=t.csv")
    assert row.duration == pd.Timedelta(0)


# ------------------------------------------- the list read from summary rows = the events' say
def _from_events(store: px.RunStore) -> pd.DataFrame:
    """The runs list recomputed from each run's events (its fold), not from the summary rows."""
    live = store.leases.live()
    rows = []
    for run_id in store.run_ids():
        events = store.events(run_id)
        fold = store.fold(run_id)
        state = fold.snapshot()
        shown = {k: v.rsplit("/", 1)[-1] for k, v in fold.created.inputs.items()}
        for node, read in state.inputs.items():
            shown[node] = f"{read.path.rsplit('/', 1)[-1]} ({read.sha256[:8]})"
        milestones = [e for e in events if e.kind not in ("node_started", "node_produced")]
        last = [e for e in milestones if e.kind != "node_retried"][-1].at
        rows.append(
            {
                "run_id": run_id,
                "pipeline": state.template_id,
                "fingerprint": state.fingerprint,
                "status": state.status,
                "gates_resolved": "{} / {}".format(*state.gates_resolved),
                "started": pd.Timestamp(state.created_at),
                "duration": pd.Timestamp(last) - pd.Timestamp(state.created_at),
                "inputs": "; ".join(f"{k}={v}" for k, v in shown.items()),
                "executing": run_id in live,
                "interrupted": is_interrupted(state, None) and run_id not in live,
            }
        )
    rows.sort(key=lambda r: (r["started"], r["run_id"]), reverse=True)
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["started"] = frame["started"].astype("datetime64[us, UTC]")
    frame["duration"] = frame["duration"].astype("timedelta64[us]")
    return frame


def test_the_list_from_summary_rows_is_the_list_the_events_give(history, tmp_path, store):
    """Every kind of run the list shows (completed, partial, waiting, reopened, a DataFrame input,
    a failed node, one handed a path it has not read): the summary rows kept at each append say
    exactly what folding each run's events says, column for column, in the same order."""
    history["done"].reopen("h", note="second look").wait(timeout=30)
    tpl = px.Template("frames")
    tpl.source("t", gate={"gate_id": "g", "name": "G", "instructions": CLEAN})
    tpl.output("n", sql="SELECT count(*) FROM t")
    tpl.run({"t": pd.DataFrame({"k": ["x"], "a": [1]})}, store=store).wait(timeout=30)
    broken = px.Template("broken", base_dir=tmp_path)
    broken.source("t", "t.csv")

    @broken.python("boom")
    def boom(t):
        raise RuntimeError("no")

    broken.output("o", of="boom")
    broken.run(store=store).wait(timeout=30)
    created = RunCreated("fresh", "f" * 64, {"id": "fresh"}, {}, [], [], inputs={"t": "/in/t.csv"})
    store.create_run(created)
    listed = px.runs(store=store)
    pd.testing.assert_frame_equal(pd.DataFrame(listed), _from_events(store))
    only = px.runs("sales", status=["completed", "executing"], store=store)
    expected = _from_events(store)
    expected = expected[
        expected.pipeline.eq("sales") & expected.status.isin(["completed", "executing"])
    ]
    pd.testing.assert_frame_equal(pd.DataFrame(only), expected.reset_index(drop=True))


def _left_at_every_point(store) -> dict[str, tuple[str, bool]]:
    """Runs no process executes, left at every point a node or gate can be (t -> s -> o, gates g
    on t and h on s): case -> (run id, interrupted)."""
    nodes = [
        {"id": "t", "kind": "source", "upstream": [], "gate_id": "g"},
        {"id": "s", "kind": "sql", "upstream": ["t"], "gate_id": "h"},
        {"id": "o", "kind": "output", "upstream": ["s"], "gate_id": None},
    ]
    gates = [{"gate_id": g, "node_id": n, "name": g.upper()} for g, n in (("g", "t"), ("h", "s"))]
    created = RunCreated("left", "f" * 64, {"id": "left"}, {}, nodes, gates)
    produced = NodeProduced("t", "scalar", 1, None, None, [], "", "", [], [], 0.0)
    posed = GatePosed("g", "t", {}, "high", "")
    decided = [GateDecided("g", d, "alice") for d in ("confirmed", "reopened", "rejected")]
    failed = NodeFailed("t", "boom", "")
    cases = {  # events after run_created -> interrupted
        "pending": ([], True),
        "node running": ([NodeStarted(["t"])], True),
        "waiting for g": ([NodeStarted(["t"]), produced, posed], False),
        "g confirmed": ([NodeStarted(["t"]), produced, posed, decided[0]], True),
        "g reopened": ([NodeStarted(["t"]), produced, posed, *decided[:2]], False),
        "g rejected": ([NodeStarted(["t"]), produced, posed, decided[2]], False),
        "t failed": ([NodeStarted(["t"]), failed], False),
        "t retried": ([NodeStarted(["t"]), failed, NodeRetried(["t"])], True),
    }
    left = {}
    for name, (events, interrupted) in cases.items():
        run_id = store.create_run(created).run_id
        store.append(run_id, RunStatusChanged("executing"), *events)
        left[name] = (run_id, interrupted)
    return left


def test_unfinished_runs_nobody_executes_are_told_interrupted_as_their_fold_tells(store):
    """`interrupted` of runs left at every point comes from a few fields of their node and gate
    events, read for all of them at once, and says what folding each run's whole record says."""
    left = _left_at_every_point(store)
    table = px.runs(store=store).set_index("run_id")
    assert {n: bool(table.loc[run_id].interrupted) for n, (run_id, _) in left.items()} == {
        n: interrupted for n, (_, interrupted) in left.items()
    }
    pd.testing.assert_frame_equal(pd.DataFrame(px.runs(store=store)), _from_events(store))


def test_a_fold_of_the_light_rows_moves_nodes_and_gates_as_the_whole_events_do(store):
    """RunFold.apply_progress over the store's light rows (a few fields of each event) leaves
    every node and gate of runs left at every point where apply over the whole events does:
    one state machine, two ways in."""
    run_ids = [run_id for run_id, _ in _left_at_every_point(store).values()]
    light = progress_of(
        dict.fromkeys(run_ids, "executing"), store.index.progress_rows(store.log, run_ids)
    )
    for run_id in run_ids:
        whole = store.fold(run_id).snapshot()
        moved = light[run_id]
        assert {n: (r.state, r.upstream, r.gate_id) for n, r in moved.nodes.items()} == {
            n: (r.state, r.upstream, r.gate_id) for n, r in whole.nodes.items()
        }
        assert {g: (r.status, r.node_id) for g, r in moved.gates.items()} == {
            g: (r.status, r.node_id) for g, r in whole.gates.items()
        }


@pytest.mark.parametrize(
    ("name", "file"),
    [("odd\x1fname", "a\x1fb.csv"), ("odd\nname", "a\nb.csv"), ("odd", "a.csv\r")],
    ids=["separator", "newline", "return-at-line-end"],
)
def test_a_name_holding_a_separator_or_line_break_is_listed_as_it_is(store, name, file):
    """The list comes back as one value, fields joined by U+001F and lines by newlines
    (store/run_columns.py); a value holding either, or a carriage return at the end of a line
    (which a reader takes for part of the line end), must not shift or cut the columns."""
    created = RunCreated(name, "f" * 64, {"id": name}, {}, [], [], inputs={"t": f"/in/{file}"})
    plain = RunCreated("plain", "e" * 64, {"id": "plain"}, {}, [], [])
    store.create_run(plain)
    run_id = store.create_run(created).run_id
    store.create_run(plain)  # the odd line is followed by another
    table = px.runs(store=store).set_index("run_id")
    assert (table.loc[run_id].pipeline, table.loc[run_id].inputs) == (name, f"t={file}")
    pd.testing.assert_frame_equal(pd.DataFrame(px.runs(store=store)), _from_events(store))


def test_no_runs_list_as_an_empty_table(store):
    table = px.runs(store=store)
    assert table.empty and tuple(table.columns) == COLUMNS


def test_a_store_of_the_previous_layout_gains_its_summary_rows(
    history, store, backend, monkeypatch
):
    """A store written before the list's rows were kept by the write path lists the same runs,
    the same way, once reopened; and goes on keeping the rows as runs move. SQLite: index layout
    8 (marks and summary rows kept by a trigger on every event insert), then layout 7 (marks
    only), both keeping their marks; PostgreSQL: schema version 5 (the line a column of the
    summary row, no run_lines, list_templates nor trigger keeping them), then version 2 (no
    inputs_shown nor line). SQLite's layout 9 (no trigger; its index of produced artifacts on a
    condition that parsed every node's payload) keeps its marks and summary rows and changes only
    that index, which finds the same artifacts."""
    before = px.runs(store=store).drop(columns="executing")
    if backend == "sqlite":
        marks = store.log.query("SELECT * FROM idx_run_marks ORDER BY run_id, seq")
        artifacts = {run_id: artifacts_of(store, run_id) for run_id in store.log.run_ids()}
        assert any(artifacts.values())
        for layout in (9, 8, 7):
            _as_layout(store, layout)
            with monkeypatch.context() as kept:  # kept, not built again event by event
                kept.setattr(run_index, "_build_marks", None)
                reopened = px.RunStore(store.location)
            after = px.runs(store=reopened).drop(columns="executing")
            pd.testing.assert_frame_equal(after, before)
            assert reopened.log.query("SELECT * FROM idx_run_marks ORDER BY run_id, seq") == marks
            names = {r[0] for r in reopened.log.query("SELECT name FROM sqlite_master")}
            assert not names & {"idx_on_milestone", f"idx_layout_{layout}", "idx_events_artifact"}
            assert "idx_events_produced" in names
            assert {run_id: artifacts_of(reopened, run_id) for run_id in artifacts} == artifacts
    else:
        import psycopg

        for version in (5, 2):
            with psycopg.connect(store.log.url, autocommit=True) as con:
                con.execute("DROP TRIGGER run_summary_line ON run_summary")
                con.execute("DROP TABLE run_lines, list_templates")
                if version == 5:  # the line in the summary row, no table of its own
                    con.execute("ALTER TABLE run_summary ADD COLUMN line text")
                else:  # neither the line (gone since version 6) nor the inputs as shown
                    con.execute("ALTER TABLE run_summary DROP COLUMN inputs_shown")
                con.execute(f"UPDATE prodex_schema SET version = {version}")
            reopened = px.RunStore(store.location)
            after = px.runs(store=reopened).drop(columns="executing")
            pd.testing.assert_frame_equal(after, before)
            columns = reopened.log.query(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'run_summary' AND column_name = 'line'"
            )
            assert columns == []
    history["waiting"].confirm("g").wait(timeout=30)
    pd.testing.assert_frame_equal(pd.DataFrame(px.runs(store=reopened)), _from_events(reopened))
    assert verify_store(reopened) == []


def _as_layout(store: px.RunStore, layout: int) -> None:
    """Make an SQLite store's index look as layout 7 (marks by a trigger, no summary rows), 8
    (the same, with summary rows) or 9 (no trigger; produced artifacts indexed on a condition
    that parsed the payload) left it. The old trigger here refuses every insert: reopening must
    have dropped it before the run moves on (it would mark every milestone twice)."""
    con = sqlite3.connect(store.log.path)
    con.executescript(
        f"""DROP TABLE idx_layout_10; CREATE TABLE idx_layout_{layout} (x INTEGER);
        DROP INDEX idx_events_produced;
        CREATE INDEX idx_events_artifact ON events (json_extract(payload, '$.artifact'))
            WHERE kind = 'node_produced' AND json_extract(payload, '$.artifact') IS NOT NULL;"""
        + (
            ""
            if layout == 9
            else f"""CREATE TRIGGER idx_on_milestone AFTER INSERT ON events BEGIN
            SELECT RAISE(ABORT, 'the trigger of layout {layout} is still there');
        END;
        {"DROP TABLE idx_run_summary;" if layout == 7 else ""}"""
        )
    )
    con.close()


def artifacts_of(store: px.RunStore, run_id: str) -> list[str]:
    """The artifacts a run references, as deleting it looks them up (store/run_index.py)."""
    return sorted(store.log.transact(lambda con: run_index.artifacts_of(con, run_id)))
