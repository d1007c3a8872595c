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
from prodex_jupyter.store import RunCreated

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
    assert {"idx_events_artifact", "idx_events_snapshot"} <= indexes  # what deleting runs uses
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
