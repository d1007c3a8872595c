"""Deciding and resuming from anywhere: real processes share a store; exactly one executes a run.

A decision written by another process is picked up by the executor within a second; a run no
process executes any more (the command line exited, the executor was SIGKILLed) is resumed
elsewhere without recomputing stored results and with no event lost or duplicated.
"""

from __future__ import annotations

import os
import re
import select
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pexpect
import pytest

import prodex_jupyter as px
from prodex_jupyter.store import LeaseLost, RunCreated, RunStatusChanged, RunStore, verify_run
from prodex_jupyter.store.leases import Leases

REPO = Path(__file__).resolve().parents[1]
PRODEX = [sys.executable, "-m", "prodex_jupyter.cli.main"]

# A chain: gated source t -> n0 -> ... -> n{N-1} -> output `total` (sum of a).
EXECUTOR = textwrap.dedent(
    """
    import sys, time
    import prodex_jupyter as px
    store, data, mode, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    tpl = px.Template("resumable")
    rules = "- required columns: a, b\\n- at least 1 rows"
    tpl.source("t", data, gate={"gate_id": "g", "name": "G", "instructions": rules})
    prev = "t"
    if mode == "ref":
        tpl.python_node("d", function=sys.argv[5])
        prev = "d"
    for i in range(n):
        if mode == "kill" and i == n // 2:  # holds the run there until the test kills it
            tpl.python_node(f"n{i}", function=f"resume_hold:n{i}")
        else:
            tpl.sql(f"n{i}", f"SELECT * FROM {prev}")
        prev = f"n{i}"
    tpl.output("total", sql=f"SELECT sum(a) AS total FROM {prev}")
    run = tpl.run(store=store, policy=px.confirm_high if mode == "kill" else None)
    print(run.id, flush=True)
    if mode == "kill":
        time.sleep(600)
    run.wait(timeout=60)
    if mode == "wait":  # an executor that stays until the run completes
        deadline = time.time() + 60
        while run.status != "completed" and time.time() < deadline:
            time.sleep(0.02)
        print(run.status, flush=True)
    # other modes: exit with the gate pending, like `prodex run` without a terminal
    """
)


# Each test runs on an SQLite folder and on a PostgreSQL database (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("store_env")


def where(tmp_path: Path) -> str:
    """The test's store: a PostgreSQL URL or a folder set by store_env, else (a module
    borrowing these helpers) the folder under tmp_path."""
    return os.environ.get("PRODEX_STORE") or str(tmp_path / "store")


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)]),
        "PRODEX_USER": "other-process",
    }


def _csv(tmp_path: Path, rows: int = 40, factor: int = 1) -> Path:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n" + "".join(f"{i * factor},{i % 3}\n" for i in range(rows)))
    return path


def executor(tmp_path: Path, mode: str, n: int, *extra: str) -> tuple[subprocess.Popen, str]:
    root, data = where(tmp_path), tmp_path / "t.csv"
    if not data.exists():
        _csv(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", EXECUTOR, str(root), str(data), mode, str(n), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    ready, _, _ = select.select([proc.stdout], [], [], 60)  # never hang on a stuck child
    run_id = proc.stdout.readline().strip() if ready else ""
    if not run_id.startswith("run-"):
        proc.kill()
        raise AssertionError(f"the executor did not start a run: {proc.communicate()[1]}")
    return proc, run_id


def prodex(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*PRODEX, "--store", where(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
    )


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.02)


def _ts(at: str) -> float:
    return datetime.fromisoformat(at).timestamp()


def counts(store: RunStore, run_id: str, kind: str) -> Counter:
    """How many times each node appears in events of `kind` (node_started lists several)."""
    found: Counter = Counter()
    for e in store.events(run_id):
        if e.kind == kind:
            found.update(getattr(e.event, "node_ids", None) or [e.event.node_id])
    return found


def test_a_decision_from_another_process_is_picked_up_within_a_second(tmp_path):
    proc, run_id = executor(tmp_path, "wait", 3)
    store = RunStore(where(tmp_path))
    wait_for(lambda: store.state(run_id).gates["g"].status == "pending")

    # exactly one process executes the run: resuming or deleting it elsewhere is refused
    with pytest.raises(px.LeaseHeld, match=rf"run {run_id} is being executed by process"):
        px.load_run(run_id, store=store).resume()
    with pytest.raises(px.LeaseHeld, match=rf"cannot delete run {run_id}.*process {proc.pid}"):
        px.delete_run(run_id, store=store)
    assert px.runs(store=store).set_index("run_id").loc[run_id, "executing"]

    out = prodex(tmp_path, "confirm", run_id, "g", "--note", "from the command line")
    assert out.returncode == 0, out.stderr
    assert f"process {proc.pid} on" in out.stdout and "picks the decision up" in out.stdout
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0 and stdout.strip() == "completed", stderr

    events = store.events(run_id)
    decided = next(e for e in events if e.kind == "gate_decided")
    assert decided.event.by == "other-process"
    next_start = next(e for e in events if e.seq > decided.seq and e.kind == "node_started")
    assert _ts(next_start.at) - _ts(decided.at) < 1.0  # picked up by the executor within 1 s
    assert store.state(run_id).results["total"].value == sum(range(40))
    assert set(counts(store, run_id, "node_started").values()) == {1}
    assert verify_run(store, run_id) == []
    assert store.leases.holder(run_id) is None  # released when the run completed


def test_a_run_the_command_line_left_pending_is_continued_without_recomputing(demo_dir, tmp_path):
    yaml = str(demo_dir / "plant_kpis.prodex.yaml")
    out = prodex(tmp_path, "run", yaml, "--confirm-high")
    assert out.returncode == 0, out.stderr
    run_id = re.search(r"Run (run-\S+) of plant_kpis started", out.stdout).group(1)
    store = RunStore(where(tmp_path))
    assert store.leases.holder(run_id) is None  # the command line exited: nobody executes it

    # without a terminal, confirm says how to continue; nothing moves until someone does
    out = prodex(tmp_path, "confirm", run_id, "recipes_shape")
    assert out.returncode == 0, out.stderr
    assert f"continue it with: prodex resume {run_id}" in out.stdout
    time.sleep(0.3)
    assert "cycles" not in store.state(run_id).results

    out = prodex(tmp_path, "resume", run_id)
    assert out.returncode == 0, out.stderr
    assert f"Run {run_id} of plant_kpis continues in this process" in out.stdout
    assert "station_means_sanity waiting for a decision" in out.stdout
    state = store.state(run_id)
    assert {"cycles", "station_cycle_times", "shift_overruns"} <= set(state.results)

    # in a terminal, confirm offers to continue the run here
    child = pexpect.spawn(
        PRODEX[0],
        [
            *PRODEX[1:],
            "--store",
            where(tmp_path),
            "confirm",
            run_id,
            "station_means_sanity",
        ],
        env=_env(tmp_path),
        encoding="utf-8",
        timeout=60,
    )
    child.expect(rf"No process is executing run {run_id}\. Continue it here now\? \[y/N\] ")
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    state = RunStore(where(tmp_path)).state(run_id)
    assert state.status == "completed"
    assert set(counts(store, run_id, "node_started").values()) == {1}  # nothing recomputed
    assert set(counts(store, run_id, "node_produced").values()) == {1}
    reasons = [e.event.reason for e in store.events(run_id) if e.kind == "run_status"]
    assert sum("resumed by process" in r for r in reasons) == 2
    assert verify_run(store, run_id) == []


def _kill_mid_run(
    tmp_path: Path, n: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, list[tuple[int, str]]]:
    """A run killed while its middle node works: that node (`resume_hold`) waits while a flag
    file beside it exists, so the kill lands mid-run however fast or loaded the machine is; the
    flag is gone once the executor is, so the node returns at once when the run resumes, here
    (the module importable from tmp_path) or in another process."""
    hold = n // 2
    flag = tmp_path / "hold.flag"
    flag.touch()
    (tmp_path / "resume_hold.py").write_text(
        "import time\nfrom pathlib import Path\n\n"
        f"def n{hold}(n{hold - 1}):\n"
        "    while Path(__file__).with_name('hold.flag').exists():\n"
        "        time.sleep(0.01)\n"
        f"    return n{hold - 1}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "resume_hold", raising=False)
    proc, run_id = executor(tmp_path, "kill", n)
    store = RunStore(where(tmp_path))
    wait_for(lambda: f"n{hold}" in counts(store, run_id, "node_started"))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    flag.unlink()
    before = [(e.seq, e.hash) for e in store.events(run_id)]
    assert store.state(run_id).status == "executing"
    # its holder is dead: the lease is dead at once, not after the heartbeat expiry
    assert store.leases.holder(run_id) is None
    return run_id, before


def test_sigkill_of_the_executor_then_resume_elsewhere_loses_and_duplicates_nothing(
    tmp_path, monkeypatch
):
    run_id, before = _kill_mid_run(tmp_path, 300, monkeypatch)
    store = RunStore(where(tmp_path))
    state = store.state(run_id)
    produced_before = set(state.results)
    assert 0 < len(produced_before) < 302

    run = px.load_run(run_id, store=store).resume()
    assert run.is_executing_here
    run.wait(timeout=60)
    assert run.status == "completed"
    assert run.value("total") == sum(range(40))

    events = store.events(run_id)
    assert [(e.seq, e.hash) for e in events[: len(before)]] == before  # nothing lost
    assert [e.seq for e in events] == list(range(len(events)))
    assert verify_run(store, run_id) == []
    produced = counts(store, run_id, "node_produced")
    assert len(produced) == 302 and set(produced.values()) == {1}  # nothing duplicated
    started = counts(store, run_id, "node_started")
    assert all(started[n] == 1 for n in produced_before)  # stored results not recomputed
    rerun = {n for n, c in started.items() if c > 1}
    assert rerun == {n for n, rec in state.nodes.items() if rec.state == "running"}
    assert all(c <= 2 for c in started.values())
    assert store.leases.holder(run_id) is None


def test_two_processes_racing_to_resume_a_killed_run_execute_it_once(tmp_path, monkeypatch):
    run_id, before = _kill_mid_run(tmp_path, 300, monkeypatch)
    racers = [
        subprocess.Popen(
            [*PRODEX, "--store", where(tmp_path), "resume", run_id],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(tmp_path),
            stdin=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in racers]
    winners = [o for o, _ in outs if "continues in this process" in o]
    assert len(winners) == 1, outs
    for proc, (stdout, stderr) in zip(racers, outs, strict=True):
        if "continues in this process" in stdout:
            assert proc.returncode == 0, stderr
        else:  # refused while the other executed it, or found it finished
            assert (
                proc.returncode == 2 and f"run {run_id} is being executed by process" in stderr
            ) or (proc.returncode == 0 and "nothing to resume" in stdout), (stdout, stderr)
    store = RunStore(where(tmp_path))
    assert store.state(run_id).status == "completed"
    events = store.events(run_id)
    assert [(e.seq, e.hash) for e in events[: len(before)]] == before
    produced = counts(store, run_id, "node_produced")
    assert len(produced) == 302 and set(produced.values()) == {1}
    assert verify_run(store, run_id) == []


def test_resume_reads_no_source_again_and_says_when_a_file_changed(tmp_path):
    proc, run_id = executor(tmp_path, "exit", 2)
    assert proc.wait(timeout=60) == 0
    _csv(tmp_path, rows=50, factor=10)  # the source file changes after the run read it
    run = px.load_run(run_id, store=where(tmp_path))
    run.confirm("g", note="evidence was fine")
    assert run.executor is None
    run.resume().wait(timeout=60)
    assert run.status == "completed"
    assert run.value("total") == sum(range(40))  # the table the run read, not the new file
    (note,) = run.resume_notes
    assert "source 't'" in note and str(tmp_path / "t.csv") in note and "changed since" in note
    assert counts(run.store, run_id, "input_consumed") == Counter({"t": 1})


def test_resume_refuses_when_a_needed_stored_value_is_gone(tmp_path):
    proc, run_id = executor(tmp_path, "exit", 1)
    assert proc.wait(timeout=60) == 0
    store = RunStore(where(tmp_path))
    artifact = store.state(run_id).results["t"].artifact
    store.artifacts.remove(artifact)
    run = px.load_run(run_id, store=store).confirm("g")
    with pytest.raises(px.ResumeError, match=rf"node 't' \(artifact {artifact[:12]}\) is missing"):
        run.resume()
    assert store.leases.holder(run_id) is None  # nothing was taken
    assert store.state(run_id).status == "executing"


def test_resume_refuses_a_template_whose_code_changed_since(tmp_path, monkeypatch):
    module = tmp_path / "resume_steps_mod.py"
    module.write_text("def double(t):\n    return t.assign(a=t['a'] * 2)\n")
    proc, run_id = executor(tmp_path, "ref", 1, "resume_steps_mod:double")
    assert proc.wait(timeout=60) == 0, proc.stderr.read()
    module.write_text("def double(t):\n    return t.assign(a=t['a'] * 3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    run = px.load_run(run_id, store=where(tmp_path)).confirm("g")
    with pytest.raises(px.ResumeError, match=r"no longer rebuilds as recorded.*nodes changed: d"):
        run.resume()


def test_a_lease_expires_without_heartbeat_and_fences_its_old_holder(tmp_path):
    store = RunStore(where(tmp_path))
    run_id = store.create_run(RunCreated("t", "f" * 64, {"id": "t"}, {}, [], [])).run_id
    leases = Leases(store.log, ttl=0.6)
    # a holder on another machine: live until its heartbeat is older than the ttl
    con = sqlite3.connect(store.log.path)
    now = time.time()
    con.execute(
        "INSERT INTO leases VALUES (?, 'elsewhere:4242:x', 'elsewhere', 4242, '', ?, ?, ?)",
        (run_id, now, now, now + 0.4),
    )
    con.commit()
    with pytest.raises(px.LeaseHeld, match="process 4242 on elsewhere"):
        leases.acquire(run_id)
    time.sleep(0.5)
    token = leases.acquire(run_id)  # expired: taken over
    time.sleep(1.0)  # longer than the ttl: the heartbeat keeps it
    assert leases.holder(run_id).token == token
    # someone takes the run over (this holder looked dead): its writes are refused
    con.execute(
        "UPDATE leases SET token = 'elsewhere:1:y', host = 'elsewhere' WHERE run_id = ?", (run_id,)
    )
    con.commit()
    with pytest.raises(LeaseLost, match=f"run {run_id}: this process no longer holds"):
        store.append(run_id, RunStatusChanged("executing"), guard=leases.guard(run_id, token))
    assert len(store.events(run_id)) == 1
    leases.release(run_id, token)
    con.close()


def test_confirm_with_resume_continues_the_run_in_the_deciding_process(tmp_path):
    proc, run_id = executor(tmp_path, "exit", 2)
    assert proc.wait(timeout=60) == 0
    out = prodex(tmp_path, "confirm", run_id, "g", "--resume")
    assert out.returncode == 0, out.stderr
    assert f"Run {run_id} of resumable continues in this process" in out.stdout
    assert "status: completed" in out.stdout
    store = RunStore(where(tmp_path))
    assert store.state(run_id).results["total"].value == sum(range(40))
    assert set(counts(store, run_id, "node_started").values()) == {1}
