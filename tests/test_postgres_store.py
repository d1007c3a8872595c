"""What the PostgreSQL backend has to prove beyond the tests both backends run: the database
itself refuses to change events (through psql too), verify still names what a superuser changed
behind its back, decisions reach the executor by LISTEN/NOTIFY, a killed executor's lease is
gone at once, two processes in separate folders sharing only the artifacts folder decide each
other's runs, and every command works with PRODEX_STORE=postgresql://..."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

import prodex_jupyter as px
from prodex_jupyter.cli.main import main as cli_main
from prodex_jupyter.store import RunCreated, RunStatusChanged, RunStore, verify_run

REPO = Path(__file__).resolve().parents[1]
PRODEX = [sys.executable, "-m", "prodex_jupyter.cli.main"]


def _created(template_id: str = "t") -> RunCreated:
    return RunCreated(template_id, "f" * 64, {"id": template_id}, {}, [], [])


@pytest.fixture
def url(pg_server) -> str:
    return pg_server.create_database()


@pytest.fixture
def pg_store(url, tmp_path, monkeypatch) -> RunStore:
    monkeypatch.setenv("PRODEX_ARTIFACTS", str(tmp_path / "artifacts"))
    return RunStore(url)


def _env(tmp_path: Path, url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)]),
        "PRODEX_STORE": url,
        "PRODEX_ARTIFACTS": str(tmp_path / "artifacts"),
        **extra,
    }


def _psql(url: str, sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-c", sql],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_database_refuses_to_change_an_event_even_through_psql(pg_store, url):
    run_id = pg_store.create_run(_created()).run_id
    pg_store.append(run_id, RunStatusChanged("completed"))
    update = _psql(url, f"UPDATE events SET payload = '{{}}' WHERE run_id = '{run_id}'")
    assert update.returncode != 0
    assert "the event log is append-only: events cannot be updated" in update.stderr
    delete = _psql(url, f"DELETE FROM events WHERE run_id = '{run_id}' AND seq = 1")
    assert delete.returncode != 0 and "only a whole run can be deleted" in delete.stderr
    truncate = _psql(url, "TRUNCATE events")
    assert truncate.returncode != 0 and "cannot be truncated" in truncate.stderr
    # the session flag alone (without the deletion function's tombstone) opens nothing
    sneaky = _psql(
        url,
        f"BEGIN; SET LOCAL prodex.deleting_run = '{run_id}'; "
        f"DELETE FROM events WHERE run_id = '{run_id}'; COMMIT;",
    )
    assert sneaky.returncode != 0 and "only a whole run can be deleted" in sneaky.stderr
    runs = _psql(url, f"UPDATE runs SET template_id = 'x' WHERE run_id = '{run_id}'")
    assert runs.returncode != 0 and "run entries cannot be updated" in runs.stderr
    assert [e.seq for e in pg_store.events(run_id)] == [0, 1]
    assert verify_run(pg_store, run_id) == []


def test_verify_names_what_a_superuser_changed_behind_the_triggers(pg_store, url, capsys):
    run_id = pg_store.create_run(_created()).run_id
    pg_store.append(run_id, *(RunStatusChanged("executing") for _ in range(3)))
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("SET session_replication_role = replica")  # triggers off: a determined admin
        con.execute(
            "UPDATE events SET payload = %s WHERE run_id = %s AND seq = 1",
            ('{"reason":"","status":"failed"}', run_id),
        )
        con.execute("DELETE FROM events WHERE run_id = %s AND seq = 2", (run_id,))
    problems = [str(p) for p in verify_run(pg_store, run_id)]
    assert f"{run_id} event 1: run_status was changed after it was written" in problems
    assert any("event 2: missing" in p for p in problems)
    assert cli_main(["--store", url, "verify", run_id]) == 1
    assert "run_status was changed" in capsys.readouterr().out


def test_deleting_a_run_goes_through_the_database_function(pg_store, url):
    keep = pg_store.create_run(_created()).run_id
    doomed = pg_store.create_run(_created()).run_id
    deletion = pg_store.delete_run(doomed, by="tester", reason="a test")
    assert deletion.events == 1 and deletion.tombstone.by == "tester"
    assert pg_store.run_ids() == [keep]
    assert [t.run_id for t in pg_store.tombstones()] == [doomed]
    assert verify_run(pg_store, keep) == []
    # the function refuses a run without a tombstone; rows go no other way
    refused = _psql(url, f"SELECT prodex_delete_run('{keep}')")
    assert refused.returncode != 0 and "has no tombstone on the run ledger" in refused.stderr
    ledger = _psql(url, "DELETE FROM run_ledger")
    assert ledger.returncode != 0 and "the run ledger is append-only" in ledger.stderr
    heads = _psql(url, f"UPDATE run_heads SET seq = 0 WHERE run_id = '{keep}'")
    assert heads.returncode != 0 and "only moves forward" in heads.stderr
    other = _psql(url, f"DELETE FROM events WHERE run_id = '{keep}'")
    assert other.returncode != 0 and "only a whole run" in other.stderr


def test_a_postgresql_store_needs_a_shared_artifacts_folder(url, monkeypatch):
    monkeypatch.delenv("PRODEX_ARTIFACTS", raising=False)
    with pytest.raises(ValueError, match="set PRODEX_ARTIFACTS"):
        RunStore(url)


def test_a_password_stays_out_of_what_the_store_shows(pg_server, tmp_path):
    from prodex_jupyter.store.urls import redacted

    assert redacted("postgresql://u:secret@h:5/db") == "postgresql://u:***@h:5/db"
    assert redacted(pg_server.url("x")) == pg_server.url("x")


# ------------------------------------------------------------------ across processes
WAITER = textwrap.dedent(
    """
    import sys, time
    import prodex_jupyter as px
    from prodex_jupyter.runtime import scheduler
    scheduler.DECISION_POLL_SECONDS = 3600  # no timer: only a notification can wake it
    tpl = px.Template("notified", base_dir=sys.argv[1])
    gate = {"gate_id": "g", "name": "G", "instructions": "- at least 1 rows"}
    tpl.source("t", "t.csv", gate=gate)
    tpl.output("n", sql="SELECT count(*) AS n FROM t")
    run = tpl.run()
    print(run.id, flush=True)
    run.wait(timeout=60)
    deadline = time.time() + 30
    while run.status != "completed" and time.time() < deadline:
        time.sleep(0.01)
    print(run.status, run.value("n") if run.status == "completed" else "", flush=True)
    """
)


def _csv(folder: Path, rows: int = 40) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "t.csv").write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(rows)))


def _start(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd
    )
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    run_id = proc.stdout.readline().strip() if ready else ""
    if not run_id.startswith("run-"):
        proc.kill()
        raise AssertionError(f"no run started: {proc.communicate()[1]}")
    return proc, run_id


def test_a_decision_reaches_the_executing_process_by_notification(pg_store, url, tmp_path):
    _csv(tmp_path)
    proc, run_id = _start(
        [sys.executable, "-c", WAITER, str(tmp_path)], _env(tmp_path, url), tmp_path
    )
    run = px.load_run(run_id, store=pg_store)
    deadline = time.time() + 30
    while run.refresh().gates["g"].status != "pending":
        assert time.time() < deadline
        time.sleep(0.02)
    assert run.executor is not None and not run.executor.mine
    run.confirm("g", note="fine", by="reviewer")
    out, err = proc.communicate(timeout=30)
    assert out.split() == ["completed", "40"], err


def test_a_killed_executors_lease_is_released_by_the_server_and_the_run_resumes(
    pg_store, url, tmp_path
):
    _csv(tmp_path)
    env = _env(tmp_path, url, PRODEX_LEASE_TTL="3600")  # no expiry to wait for
    proc, run_id = _start([sys.executable, "-c", WAITER, str(tmp_path)], env, tmp_path)
    deadline = time.time() + 30
    while pg_store.leases.holder(run_id) is None or pg_store.state(run_id).gates["g"].status != (
        "pending"
    ):
        assert time.time() < deadline
        time.sleep(0.02)
    with pytest.raises(px.LeaseHeld, match="being executed by process"):
        pg_store.leases.acquire(run_id)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    deadline = time.time() + 5
    while pg_store.leases.holder(run_id) is not None:  # the server ends the dead session
        assert time.time() < deadline, "the lease outlived its holder's connection"
        time.sleep(0.02)
    run = px.load_run(run_id, store=pg_store).resume()
    run.wait(timeout=60)  # executing here, waiting on the gate
    assert run.is_executing_here and run.gates["g"].status == "pending"
    run.confirm("g", note="fine", by="reviewer")
    run.wait(timeout=60)
    assert run.status == "completed" and run.value("n") == 40
    assert verify_run(pg_store, run_id) == []


PEER = textwrap.dedent(
    """
    import sys, time
    import prodex_jupyter as px
    me = sys.argv[1]
    tpl = px.Template("peer_" + me, base_dir=".")
    tpl.source("t", "t.csv", gate={"gate_id": "g", "name": "G", "instructions": "- at least 1 rows",
                                    "four_eyes": True})
    tpl.output("n", sql="SELECT count(*) AS n FROM t")
    run = tpl.run()
    print(run.id, flush=True)
    run.wait(timeout=60)  # until its gate waits for a decision
    try:
        run.confirm("g", note="my own")
    except px.DecisionRefused:
        print("refused own", flush=True)
    other = sys.stdin.readline().strip()
    theirs = px.load_run(other)
    deadline = time.time() + 30
    while theirs.refresh().gates["g"].status != "pending":
        assert time.time() < deadline
        time.sleep(0.02)
    theirs.confirm("g", note="checked by " + me)
    deadline = time.time() + 30
    while run.status != "completed" and time.time() < deadline:
        time.sleep(0.01)
    print(run.status, run.value("n"), run.gates["g"].last_decision.by, flush=True)
    """
)


def test_two_processes_in_separate_folders_decide_each_others_runs(url, tmp_path):
    shared = tmp_path / "shared-artifacts"
    procs = {}
    for name, rows in (("ann", 30), ("bob", 50)):
        folder = tmp_path / name
        _csv(folder, rows)
        env = _env(folder, url, PRODEX_USER=name, PRODEX_ARTIFACTS=str(shared))
        env.pop("PRODEX_HOME", None)
        argv = [sys.executable, "-c", PEER, name]
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=folder,
        )
        procs[name] = (proc, proc.stdout.readline().strip())
    (ann, ann_run), (bob, bob_run) = procs["ann"], procs["bob"]
    assert ann_run.startswith("run-") and bob_run.startswith("run-")
    # each first tries to confirm its own run (four eyes: refused), then decides the other's
    assert ann.stdout.readline() == "refused own\n" and bob.stdout.readline() == "refused own\n"
    ann.stdin.write(bob_run + "\n")
    ann.stdin.flush()
    bob.stdin.write(ann_run + "\n")
    bob.stdin.flush()
    ann_out, ann_err = ann.communicate(timeout=60)
    bob_out, bob_err = bob.communicate(timeout=60)
    assert ann_out.splitlines() == ["completed 30 bob"], ann_err
    assert bob_out.splitlines() == ["completed 50 ann"], bob_err
    assert not (tmp_path / "ann" / ".prodex").exists()  # nothing but the shared folder
    assert not (tmp_path / "bob" / ".prodex").exists()
    store = RunStore(url, artifacts=shared)
    assert {r.run_id for r in store.index.list_runs(store.log)} == {ann_run, bob_run}
    assert all(verify_run(store, r) == [] for r in (ann_run, bob_run))


def test_every_command_works_with_prodex_store_set_to_a_url(url, tmp_path, demo_dir):
    env = _env(tmp_path, url, PRODEX_USER="cli-user")

    def prodex(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*PRODEX, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
        )

    demo = prodex("demo")
    assert demo.returncode == 0, demo.stderr
    assert "intact" in demo.stdout
    template = str(demo_dir / "plant_kpis.prodex.yaml")
    second = prodex("run", template, "--confirm-high")
    assert second.returncode == 0, second.stderr
    store = RunStore(url, artifacts=tmp_path / "artifacts")
    first_id, second_id = store.run_ids()
    listed = prodex("runs")
    assert first_id in listed.stdout and second_id in listed.stdout
    decided = prodex("confirm", second_id, "recipes_shape", "--note", "ok", "--resume")
    assert decided.returncode == 0, decided.stderr
    compared = prodex("compare", first_id, second_id)
    assert compared.returncode == 0, compared.stderr
    verified = prodex("verify")
    assert verified.returncode == 0 and "2 runs intact" in verified.stdout
    deleted = prodex("delete", first_id, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert store.run_ids() == [second_id]
    assert not (tmp_path / ".prodex").exists()
