"""Deleting a whole run: its events and the artifacts no other run uses; other runs untouched."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import prodex_jupyter as px
from prodex_jupyter.store import RunNotFound, verify_run, verify_store

REPO = Path(__file__).resolve().parents[1]
RULES = "- required columns: k, a\n- at least 1 rows"


def template(tmp_path: Path) -> px.Template:
    tpl = px.Template("del", base_dir=tmp_path)
    tpl.source("t", "t.csv", gate={"gate_id": "g", "name": "G", "instructions": RULES})
    tpl.sql("same", "SELECT 1 AS one FROM t LIMIT 1")  # the same table every run: one artifact
    tpl.sql("rows", "SELECT k, a FROM t")  # differs with the input
    tpl.output("total", sql="SELECT sum(a) AS total FROM rows, same")
    return tpl


def _csv(tmp_path: Path, rows: int) -> None:
    (tmp_path / "t.csv").write_text("k,a\n" + "".join(f"k{i},{i}\n" for i in range(rows)))


def completed(tmp_path: Path, store, rows: int) -> px.Run:
    _csv(tmp_path, rows)
    run = template(tmp_path).run(store=store, policy=px.confirm_high).wait(timeout=30)
    if run.status != "completed":
        run.confirm("g").wait(timeout=30)
    assert run.status == "completed"
    return run


def artifacts(run: px.Run) -> set[str]:
    return {r.artifact for r in run.results.values() if r.artifact}


def test_delete_removes_the_run_and_only_artifacts_no_other_run_uses(tmp_path, store):
    keep = completed(tmp_path, store, 10)
    doomed = completed(tmp_path, store, 20)
    kept_events = [(e.seq, e.hash) for e in store.events(keep.id)]
    shared = artifacts(keep) & artifacts(doomed)
    own = artifacts(doomed) - artifacts(keep)
    assert shared and own  # the template makes sure of both

    n_events = len(store.events(doomed.id))
    deletion = px.delete_run(doomed.id, store=store)
    assert deletion.events == n_events
    assert set(deletion.artifacts_removed) == own and deletion.artifacts_shared == len(shared)
    assert f"deleted run {doomed.id} of del" in str(deletion)
    assert not any(store.artifacts.path(sha).exists() for sha in own)
    assert all(store.artifacts.path(sha).exists() for sha in artifacts(keep))
    # the other run is untouched: same events, artifacts intact (verify re-hashes them)
    assert [(e.seq, e.hash) for e in store.events(keep.id)] == kept_events
    assert verify_run(store, keep.id) == []
    assert verify_store(store) == []
    assert px.load_run(keep.id, store=store).value("total") == sum(range(10))
    assert store.run_ids() == [keep.id]
    assert list(px.runs(store=store)["run_id"]) == [keep.id]
    assert store.index.list_runs(store.log, run_ids=[doomed.id]) == []  # its summary row went
    with pytest.raises(RunNotFound, match=f"no run '{doomed.id}'"):
        px.load_run(doomed.id, store=store)
    # a tombstone says who, when, and where its chain ended; triggers still hold for others
    (tombstone,) = store.tombstones(doomed.id)
    assert tombstone == deletion.tombstone and tombstone.events == n_events
    assert tombstone.last_seq == n_events - 1 and tombstone.by  # the OS user@host by default
    con = sqlite3.connect(store.log.path)
    with pytest.raises(sqlite3.IntegrityError, match="only a whole run"):
        con.execute("DELETE FROM events WHERE run_id = ?", (keep.id,))
    con.close()


def test_deleting_the_last_user_of_a_shared_artifact_removes_it(tmp_path, store):
    first = completed(tmp_path, store, 10)
    second = completed(tmp_path, store, 20)
    shared = artifacts(first) & artifacts(second)
    px.delete_run(first, store=store)  # a Run works as well as an id
    assert all(store.artifacts.path(sha).exists() for sha in shared)
    px.delete_run(second.id, store=store)
    assert not any(
        store.artifacts.path(sha).exists() for sha in artifacts(first) | artifacts(second)
    )
    assert px.runs(store=store).empty


def test_a_run_storing_the_same_table_during_a_deletion_keeps_its_artifact(tmp_path, store):
    """The window between a deletion's transaction and its removal of files: another run stores
    the very same table there (the file exists, so it writes nothing) and names it in an event
    only later. Its claim keeps the file; without claims the deletion removed it."""
    doomed = completed(tmp_path, store, 20)
    table = store.load_table(doomed.results["rows"].artifact)
    sha = doomed.results["rows"].artifact
    other = store.create_run(px.store.RunCreated("other", "f" * 64, {}, {}, [], [])).run_id
    delete_events = store.log.delete_run

    def then_the_other_run_stores_it(run_id, **kw):
        count = delete_events(run_id, **kw)
        assert store.put_table(table, other) == sha  # found present: nothing written
        return count

    store.log.delete_run = then_the_other_run_stores_it
    deletion = px.delete_run(doomed.id, store=store)
    assert sha not in deletion.artifacts_removed
    assert store.artifacts.path(sha).exists()
    store.append(other, px.store.NodeProduced("n", "table", None, sha, 20, [], "", "", [], [], 0))
    assert verify_run(store, other) == []


def test_a_table_stored_again_after_its_deletion_is_written_again(tmp_path, store):
    doomed = completed(tmp_path, store, 20)
    sha = doomed.results["rows"].artifact
    table = store.load_table(sha)
    px.delete_run(doomed.id, store=store)
    assert not store.artifacts.path(sha).exists()
    other = store.create_run(px.store.RunCreated("other", "f" * 64, {}, {}, [], [])).run_id
    assert store.put_table(table, other) == sha
    assert store.artifacts.hash_of(sha) == sha


def test_dataframe_snapshots_go_with_their_run(tmp_path, store):
    tpl = px.Template("frames")
    tpl.source("t", gate={"gate_id": "g", "name": "G", "instructions": RULES})
    tpl.output("n", sql="SELECT count(*) FROM t")
    run = tpl.run({"t": pd.DataFrame({"k": ["x", "y"], "a": [1, 2]})}, store=store)
    run.wait(timeout=30).confirm("g").wait(timeout=30)
    assert run.status == "completed"
    snapshot = run.inputs["t"].sha256
    assert store.artifacts.path(snapshot).exists()
    assert snapshot in px.delete_run(run.id, store=store).artifacts_removed
    assert not store.artifacts.path(snapshot).exists()


def test_a_run_being_executed_cannot_be_deleted(tmp_path, store):
    _csv(tmp_path, 10)
    run = template(tmp_path).run(store=store).wait(timeout=30)  # waits at gate g, executing here
    with pytest.raises(
        px.LeaseHeld, match=rf"cannot delete run {run.id}: it is being executed by this process"
    ):
        px.delete_run(run.id, store=store)
    assert len(store.events(run.id)) > 1 and run.results  # nothing lost
    run.confirm("g").wait(timeout=30)
    assert run.status == "completed"
    px.delete_run(run.id, store=store)  # finished: nobody executes it any more
    assert store.run_ids() == []
    with pytest.raises(RunNotFound, match="cannot delete run 'run-nope': no such run"):
        px.delete_run("run-nope", store=store)


def test_prodex_delete_asks_for_yes_without_a_terminal(tmp_path, store):
    keep = completed(tmp_path, store, 10)
    doomed = completed(tmp_path, store, 20)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    base = [sys.executable, "-m", "prodex_jupyter.cli.main", "--store", str(store.root), "delete"]
    refused = subprocess.run(
        [*base, doomed.id], capture_output=True, text=True, timeout=60, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert refused.returncode == 2 and f"deleting run {doomed.id} needs --yes" in refused.stderr
    assert doomed.id in store.run_ids()
    done = subprocess.run(
        [*base, doomed.id, "--yes"], capture_output=True, text=True, timeout=60, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"deleted run {doomed.id} of del:" in done.stdout and "artifacts removed" in done.stdout
    assert store.run_ids() == [keep.id] and verify_run(store, keep.id) == []
