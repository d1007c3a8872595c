"""The run store: append-only, hash-chained, safe across processes, intact after SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest

from prodex_jupyter.cli.main import main as cli_main
from prodex_jupyter.store import RunCreated, RunStatusChanged, RunStore, verify_run

REPO = Path(__file__).resolve().parents[1]


def _created(template_id: str = "t") -> RunCreated:
    return RunCreated(template_id, "f" * 64, {"id": template_id}, {}, [], [])


def test_events_chain_and_fold(store):
    first = store.create_run(_created())
    store.append(first.run_id, RunStatusChanged("executing"), RunStatusChanged("completed"))
    events = store.events(first.run_id)
    assert [e.seq for e in events] == [0, 1, 2]
    assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
    assert store.state(first.run_id).status == "completed"
    assert verify_run(store, first.run_id) == []


def test_payloads_round_trip_whatever_the_encoder_writes(store):
    """Big integers (beyond orjson's 64 bits), text beyond ASCII, nested lists: stored, read back
    equal, and the chain verifies."""
    from prodex_jupyter.store import NodeProduced, NodeStarted

    nodes = [{"id": n, "kind": "sql", "upstream": [], "gate_id": None} for n in ("n", "m")]
    first = store.create_run(RunCreated("t", "f" * 64, {"id": "t"}, {}, nodes, []))
    big = NodeProduced(
        "n", "scalar", 2**70 + 1, None, None, [], "SELECT 1", "Zürich – °C", [], [], 0.1
    )
    store.append(first.run_id, NodeStarted(["n", "m"]), big)
    events = store.events(first.run_id)
    assert events[1].event == NodeStarted(["n", "m"]) and events[2].event == big
    value = store.state(first.run_id).results["n"].value
    assert value == 2**70 + 1 and isinstance(value, int)
    assert store.state(first.run_id).nodes["m"].state == "running"
    assert verify_run(store, first.run_id) == []


def test_a_start_recorded_one_node_per_event_still_reads(store):
    """Stores written before starts were batched per step hold {"node_id": ...} payloads."""
    from prodex_jupyter.store.events import decode_event

    assert decode_event("node_started", '{"node_id":"a"}').node_ids == ["a"]
    assert decode_event("node_started", '{"node_ids":["a","b"]}').node_ids == ["a", "b"]


def test_no_sql_can_update_or_delete_an_event(store):
    run_id = store.create_run(_created()).run_id
    con = sqlite3.connect(store.log.path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE events SET payload = '{}' WHERE run_id = ?", (run_id,))
    with pytest.raises(sqlite3.IntegrityError, match="only a whole run"):
        con.execute("DELETE FROM events WHERE run_id = ? AND seq = 0", (run_id,))
    con.close()
    assert len(store.events(run_id)) == 1


def test_the_store_api_has_no_update_or_delete_of_events():
    public = {name for name in dir(RunStore) if not name.startswith("_")}
    assert not any(word in name for name in public for word in ("update", "set_", "edit", "remove"))


def test_verify_names_an_event_changed_behind_the_api(store, capsys):
    run_id = store.create_run(_created()).run_id
    store.append(run_id, RunStatusChanged("executing"), RunStatusChanged("completed"))
    con = sqlite3.connect(store.log.path)
    con.execute("DROP TRIGGER events_append_only_update")  # a determined editor
    con.execute(
        "UPDATE events SET payload = ? WHERE run_id = ? AND seq = 1",
        ('{"reason":"","status":"failed"}', run_id),
    )
    con.commit()
    con.close()
    problems = verify_run(RunStore(store.root), run_id)
    assert [p.seq for p in problems] == [1]
    assert "run_status was changed" in str(problems[0])
    assert cli_main(["--store", str(store.root), "verify", run_id]) == 1
    assert f"{run_id} event 1: run_status was changed" in capsys.readouterr().out


def test_verify_names_a_removed_event_and_a_changed_artifact(store):
    run_id = store.create_run(_created()).run_id
    sha = store.put_table(pa.table({"x": [1, 2, 3]}), run_id)
    from prodex_jupyter.store import NodeProduced

    store.append(
        run_id,
        NodeProduced("n", "table", None, sha, 3, [["x", "int64"]], "SELECT 1", "", [], [], 0.1),
        RunStatusChanged("completed"),
    )
    store.artifacts.path(sha).write_bytes(b"not the table")
    con = sqlite3.connect(store.log.path)
    con.execute("DROP TRIGGER events_append_only_delete")
    con.execute("DELETE FROM events WHERE run_id = ? AND seq = 2", (run_id,))
    con.commit()
    con.close()
    text = [str(p) for p in verify_run(store, run_id)]
    assert any(f"artifact {sha[:12]} was changed" in t for t in text)
    store.artifacts.remove(sha)
    text = [str(p) for p in verify_run(store, run_id)]
    assert any(f"artifact {sha[:12]} was removed" in t for t in text)
    # seq 2 was the last event: removing the tail is caught by the count check below
    assert len(store.events(run_id)) == 2


def test_verify_names_an_event_removed_from_the_middle(store):
    run_id = store.create_run(_created()).run_id
    store.append(run_id, *(RunStatusChanged("executing") for _ in range(3)))
    con = sqlite3.connect(store.log.path)
    con.execute("DROP TRIGGER events_append_only_delete")
    con.execute("DELETE FROM events WHERE run_id = ? AND seq = 2", (run_id,))
    con.commit()
    con.close()
    problems = verify_run(store, run_id)
    assert any(p.seq == 2 and "missing" in p.what for p in problems)


WRITER = textwrap.dedent(
    """
    import sys
    import prodex_jupyter as px
    store, data, n, tag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    for i in range(n):
        tpl = px.Template("proc_" + tag)
        gate = {"gate_id": "g", "name": "G", "instructions": "- at least 1 rows"}
        tpl.source("t", data, gate=gate)
        tpl.sql("s", "SELECT count(*) AS n FROM t")
        tpl.output("o", of="s")
        run = tpl.run(store=store)
        run.wait(timeout=60)
        run.confirm("g", by=tag)
        run.wait(timeout=60)
        assert run.status == "completed", run.status
    print("ok", tag)
    """
)

READER = textwrap.dedent(
    """
    import sys, time
    from prodex_jupyter.store import RunStore
    store = RunStore(sys.argv[1])
    deadline = time.time() + float(sys.argv[2])
    reads = 0
    while time.time() < deadline:
        for run_id in store.run_ids():
            store.state(run_id)
            reads += 1
    print("reads", reads)
    """
)


def test_two_writers_and_a_reader_share_a_store(tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("a,b\n1,2\n3,4\n")
    root = tmp_path / "store"
    RunStore(root)  # create the schema once
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), str(data), "8", tag],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for tag in ("w1", "w2")
    ]
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(root), "6"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    outs = [p.communicate(timeout=120) for p in (*writers, reader)]
    for proc, (_, err) in zip((*writers, reader), outs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err.lower()
    store = RunStore(root)
    runs = store.run_ids()
    assert len(runs) == 16
    for run_id in runs:
        state = store.state(run_id)
        assert state.status == "completed"
        assert state.results["o"].value == 2
        assert verify_run(store, run_id) == []
    assert int(outs[2][0].split()[-1]) > 0


KILLED = textwrap.dedent(
    """
    import sys, time
    import prodex_jupyter as px
    tpl = px.Template("killed")
    rules = "- required columns: a, b\\n- at least 1 rows"
    gate = {"gate_id": "g", "name": "G", "instructions": rules}
    tpl.source("t", sys.argv[2], gate=gate)
    prev = "t"
    for i in range(400):
        tpl.sql(f"n{i}", f"SELECT * FROM {prev}")
        prev = f"n{i}"
    run = tpl.run(store=sys.argv[1], policy=px.confirm_high)
    print(run.id, flush=True)
    time.sleep(600)
    """
)


def test_sigkill_mid_run_leaves_every_written_event_intact(tmp_path):
    data = tmp_path / "t.csv"
    data.write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)))
    root = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(root), str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    run_id = proc.stdout.readline().strip()
    assert run_id.startswith("run-"), proc.stderr.read()
    store = RunStore(root)
    deadline = time.time() + 60
    while len(store.events(run_id)) < 60 and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    seen_before = len(store.events(run_id))
    reopened = RunStore(root)
    events = reopened.events(run_id)
    assert len(events) >= seen_before >= 60
    assert [e.seq for e in events] == list(range(len(events)))
    assert verify_run(reopened, run_id) == []
    state = reopened.state(run_id)
    assert state.status == "executing"
    assert 0 < len(state.results) < 401


def test_store_location_defaults_to_dot_prodex_and_follows_prodex_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PRODEX_HOME", raising=False)
    assert RunStore().root == (tmp_path / ".prodex").resolve()
    monkeypatch.setenv("PRODEX_HOME", str(tmp_path / "elsewhere"))
    assert RunStore().root == (tmp_path / "elsewhere").resolve()
    assert RunStore(tmp_path / "explicit").root == (tmp_path / "explicit").resolve()
