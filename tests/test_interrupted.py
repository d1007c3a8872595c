"""Interrupted runs show and recover; node time limits (issue 9 §4). On both backends
(tests/conftest.py): an SQLite folder and a PostgreSQL database.

A run is interrupted when it is not final, no live process holds its lease, and work could go on
(runtime/interruption.py). It shows as such in `px.runs()`, `prodex runs`, `prodex show`, the
runs list and the run view, which offer Resume; a decision made from a run view on such a run
continues it there. Ctrl-C on `prodex run` exits at once and leaves the run interrupted. A node
past its time limit fails saying so, the rest of the run goes on, and nothing hangs.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import prodex_jupyter as px
from prodex_jupyter.runtime.loop import WORKERS
from prodex_jupyter.store import RunStore
from prodex_jupyter.widgets import RunView
from prodex_jupyter.widgets.runs_list import RunsList

from .test_resume import PRODEX, _env, _kill_mid_run, executor, prodex, wait_for, where

# Each test runs on an SQLite folder and on a PostgreSQL database (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("store_env")

CLEAN = "- required columns: a, b\n- at least 1 rows"


def _row(store: RunStore, run_id: str):
    return px.runs(store=store).set_index("run_id").loc[run_id]


def test_a_killed_executor_leaves_the_run_interrupted_everywhere_until_resumed(
    tmp_path, monkeypatch
):
    run_id, _ = _kill_mid_run(tmp_path, 300, monkeypatch)
    store = RunStore(where(tmp_path))
    row = _row(store, run_id)
    assert row["status"] == "executing" and row["interrupted"] and not row["executing"]
    assert px.load_run(run_id, store=store).interrupted

    listed = prodex(tmp_path, "runs").stdout
    line = next(x for x in listed.splitlines() if x.startswith(run_id))
    assert "executing INTERRUPTED" in line
    assert "INTERRUPTED = no process executes it and it could go on" in listed
    shown = prodex(tmp_path, "show", run_id).stdout
    assert (
        f"INTERRUPTED: no process executes this run, and it could go on; continue it with: "
        f"prodex resume {run_id}" in shown
    )

    run = px.load_run(run_id, store=store).resume()
    assert not run.interrupted  # executing here
    run.wait(timeout=60)
    assert run.status == "completed"
    assert not run.interrupted and not _row(store, run_id)["interrupted"]
    assert "INTERRUPTED" not in prodex(tmp_path, "show", run_id).stdout


def test_a_run_waiting_for_a_decision_is_not_interrupted_until_one_is_made(tmp_path):
    proc, run_id = executor(tmp_path, "exit", 2)
    assert proc.wait(timeout=60) == 0  # gone, with its gate pending: nothing could move
    store = RunStore(where(tmp_path))
    row = _row(store, run_id)
    assert row["status"] == "executing" and not row["interrupted"]
    assert "INTERRUPTED" not in prodex(tmp_path, "runs").stdout

    out = prodex(tmp_path, "confirm", run_id, "g")  # decided, and nobody to pick it up
    assert out.returncode == 0, out.stderr
    assert _row(store, run_id)["interrupted"]
    assert "INTERRUPTED" in prodex(tmp_path, "show", run_id).stdout


def test_a_run_another_live_process_executes_is_not_interrupted(tmp_path):
    proc, run_id = executor(tmp_path, "wait", 2)
    store = RunStore(where(tmp_path))
    try:
        wait_for(lambda: store.state(run_id).gates["g"].status == "pending")
        px.load_run(run_id, store=store).confirm("g")  # it has work: but a live process has it
        row = _row(store, run_id)
        assert row["executing"] and not row["interrupted"]
    finally:
        proc.communicate(timeout=60)


SLOW_YAML = """
id: slow_pipeline
nodes:
  - id: t
    kind: source
    path: t.csv
    gate:
      gate_id: g
      name: G
      instructions: |
        - required columns: a, b
        - at least 1 rows
  - id: slow
    kind: python
    code: |
      def slow(t):
          import time
          time.sleep({sleep})
          return len(t)
  - id: quick
    kind: sql
    sql: SELECT count(*) AS n FROM t
"""


def _slow_template(folder: Path, sleep: float) -> Path:
    (folder / "t.csv").write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)))
    path = folder / "slow.prodex.yaml"
    path.write_text(SLOW_YAML.format(sleep=sleep))
    return path


# Starts the command with Ctrl-C delivered as a terminal delivers it. A signal ignored by a
# process stays ignored in the programs it starts (POSIX), and Python then installs no handler
# for it; a test run earlier in the same pytest process can leave SIGINT ignored (the test then
# failed, whole suites in one process only). A caught signal is reset to its default on exec.
_WITH_CTRL_C = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def test_ctrl_c_on_prodex_run_exits_at_once_and_leaves_the_run_interrupted(tmp_path):
    yaml = _slow_template(tmp_path, sleep=120)
    command = [*PRODEX, "--store", where(tmp_path), "run", str(yaml), "--confirm-high"]
    proc = subprocess.Popen(
        [sys.executable, "-c", _WITH_CTRL_C, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
    )
    store = RunStore(where(tmp_path))
    wait_for(lambda: store.run_ids(), timeout=60)
    (run_id,) = store.run_ids()
    wait_for(lambda: store.state(run_id).nodes["slow"].state == "running", timeout=60)
    wait_for(lambda: "quick" in store.state(run_id).results, timeout=60)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)  # never waits for the 120 s node
    assert time.monotonic() - sent < 10
    assert proc.returncode == 130, stderr
    assert f"continue it with: prodex resume {run_id}" in stdout
    assert "Traceback" not in stderr
    assert store.leases.holder(run_id) is None
    # released by the process as it left, not only dead with it (no row left behind)
    assert store.log.query("SELECT count(*) FROM leases WHERE run_id = ?", (run_id,)) == [(0,)]
    row = _row(store, run_id)
    assert row["interrupted"] and row["status"] == "executing"
    assert store.state(run_id).nodes["slow"].state == "running"  # left running: resumable


# ------------------------------------------------------------------ time limits
def _source(tmp_path: Path, name: str) -> px.Template:
    (tmp_path / "t.csv").write_text("a,b\n" + "".join(f"{i},{i % 3}\n" for i in range(40)))
    tpl = px.Template(name, base_dir=tmp_path)
    tpl.source("t", "t.csv", gate={"gate_id": "g", "name": "G", "instructions": CLEAN})
    return tpl


def test_a_python_node_past_its_limit_fails_saying_so_and_the_run_goes_on(tmp_path, store):
    tpl = _source(tmp_path, "limited")

    @tpl.python("stuck", timeout_s=0.3)
    def stuck(t):
        time.sleep(1.5)
        return len(t)

    tpl.sql("after_stuck", "SELECT * FROM stuck")
    tpl.sql("fine", "SELECT count(*) AS n FROM t")
    abandoned = WORKERS.abandoned
    started = time.monotonic()
    run = tpl.run(store=store, policy=px.confirm_high).wait(timeout=30)
    assert time.monotonic() - started < 1.4  # did not wait for the node
    assert run.status == "failed"
    node = run.state.nodes["stuck"]
    assert node.state == "failed"
    assert "node 'stuck' ran past its time limit of 0.3 s" in node.error
    assert "fine" in run.results and "after_stuck" not in run.results
    assert WORKERS.abandoned == abandoned + 1  # its thread was given up on, and replaced
    events = len(store.events(run.id))
    time.sleep(1.6)  # the late result arrives, and is ignored
    assert len(store.events(run.id)) == events
    assert run.refresh().state.nodes["stuck"].state == "failed"


def test_a_sql_node_past_its_limit_is_interrupted(tmp_path, store):
    tpl = _source(tmp_path, "heavy_sql")
    tpl.sql("heavy", "SELECT count(*) AS n FROM t, range(100000000000) r", timeout_s=0.5)
    tpl.sql("fine", "SELECT count(*) AS n FROM t")
    abandoned = WORKERS.abandoned
    run = tpl.run(store=store, policy=px.confirm_high).wait(timeout=30)
    assert run.status == "failed"
    assert "node 'heavy' ran past its time limit of 0.5 s" in run.state.nodes["heavy"].error
    assert "fine" in run.results
    assert WORKERS.abandoned == abandoned  # DuckDB stopped the query: the thread came back


def test_a_run_level_limit_applies_to_nodes_without_their_own(tmp_path, store):
    tpl = _source(tmp_path, "defaults")

    @tpl.python("slow_default")
    def slow_default(t):
        time.sleep(1.0)
        return 1

    @tpl.python("slow_allowed", timeout_s=20)
    def slow_allowed(t):
        time.sleep(1.0)
        return 2

    run = tpl.run(store=store, policy=px.confirm_high, timeout_s=0.4).wait(timeout=30)
    assert "time limit of 0.4 s" in run.state.nodes["slow_default"].error
    assert run.value("slow_allowed") == 2
    assert store.events(run.id)[0].event.timeout_s == 0.4  # on the record, for a resume
    with pytest.raises(ValueError, match="timeout_s must be a positive number"):
        tpl.run(store=store, timeout_s=0)


def test_timeout_s_in_yaml_and_python_is_part_of_the_template(tmp_path):
    yaml = _slow_template(tmp_path, sleep=0)
    text = yaml.read_text()
    limited = tmp_path / "limited.prodex.yaml"
    limited.write_text(text.replace("    kind: python\n", "    kind: python\n    timeout_s: 2\n"))
    plain, timed = px.load_template(yaml), px.load_template(limited)
    assert timed["slow"].timeout_s == 2.0 and plain["slow"].timeout_s is None
    assert timed.fingerprint != plain.fingerprint
    assert timed.to_dict()["nodes"][1]["timeout_s"] == 2.0
    assert px.load_template(timed.save(tmp_path / "again.prodex.yaml")).fingerprint == (
        timed.fingerprint
    )
    bad = tmp_path / "bad.prodex.yaml"
    bad.write_text(text.replace("    kind: python\n", "    kind: python\n    timeout_s: soon\n"))
    with pytest.raises(px.TemplateError, match=r"slow.*timeout_s.*positive number"):
        px.load_template(bad)
    tpl = px.Template("built")
    with pytest.raises(px.TemplateError, match="timeout_s"):
        tpl.sql("x", "SELECT 1 AS one FROM y", timeout_s=-1)


def test_prodex_run_timeout_never_hangs_the_process(tmp_path):
    yaml = _slow_template(tmp_path, sleep=300)
    started = time.monotonic()
    out = subprocess.run(
        [
            *PRODEX,
            "--store",
            where(tmp_path),
            "run",
            str(yaml),
            "--timeout",
            "1",
            "--confirm-high",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(tmp_path),
        stdin=subprocess.DEVNULL,
    )
    assert time.monotonic() - started < 30
    assert out.returncode == 1, out.stderr
    assert "node 'slow' ran past its time limit of 1 s" in out.stdout
    assert re.search(r"status: failed", out.stdout)


# ---------------------------------------------------------------------- widgets
def _interrupted_run(tmp_path: Path) -> str:
    proc, run_id = executor(tmp_path, "exit", 2)
    assert proc.wait(timeout=60) == 0
    assert prodex(tmp_path, "confirm", run_id, "g").returncode == 0
    return run_id


def test_the_runs_list_marks_an_interrupted_run_and_resumes_it(tmp_path):
    run_id = _interrupted_run(tmp_path)
    store = RunStore(where(tmp_path))
    widget = RunsList(px.runs(store=store))
    row = next(r for r in widget.rows if r.run_id == run_id)
    status = row.cells[2].value
    assert "prodex-chip-interrupted" in status and "interrupted" in status
    assert row.actions.children[0] is row.resume  # offered
    row.resume.click()
    assert "resumed" in widget.message.value
    wait_for(lambda: store.state(run_id).status == "completed", timeout=60)
    widget.refresh()
    row = next(r for r in widget.rows if r.run_id == run_id)
    assert row.resume not in row.actions.children and "interrupted" not in row.cells[2].value


def test_the_run_view_marks_an_interrupted_run_and_resume_continues_it(tmp_path):
    run_id = _interrupted_run(tmp_path)
    run = px.load_run(run_id, store=where(tmp_path))
    view = RunView(run)
    assert view.resume_bar.layout.display is None
    assert "Interrupted" in view.resume_bar.message.value
    view.resume_bar.button.click()
    assert run.is_executing_here
    run.wait(timeout=60)
    assert run.status == "completed"
    wait_for(lambda: view.resume_bar.layout.display == "none")
    view.close()


def test_a_decision_in_the_run_view_of_an_interrupted_run_continues_it_here(tmp_path):
    proc, run_id = executor(tmp_path, "exit", 2)
    assert proc.wait(timeout=60) == 0
    run = px.load_run(run_id, store=where(tmp_path))
    view = RunView(run)
    assert view.resume_bar.layout.display == "none"  # waiting for a person: not interrupted
    card = next(c for c in view.cards.prompt_cards if c.gate_ids == ("g",))
    card.confirm_button.click()
    assert run.is_executing_here  # the decision resumed it in this process
    run.wait(timeout=60)
    assert run.status == "completed"
    assert run.value("total") == sum(range(40))
    view.close()


def test_resume_of_a_run_a_live_process_executes_is_refused_in_the_view(tmp_path):
    proc, run_id = executor(tmp_path, "wait", 2)
    store = RunStore(where(tmp_path))
    try:
        wait_for(lambda: store.state(run_id).gates["g"].status == "pending")
        view = RunView(px.load_run(run_id, store=store))
        assert not view.resume_bar.resume()
        assert "being executed by process" in view.resume_bar.message.value
        view.close()
        px.load_run(run_id, store=store).confirm("g")
    finally:
        proc.communicate(timeout=60)


KERNEL_CELL = """
import prodex_jupyter as px
from prodex_jupyter.widgets import RunView

run = px.load_run({run_id!r}, store={store!r})
view = RunView(run)
import asyncio
await asyncio.sleep(0)  # in a kernel the cards render just after the cell: a click comes then
card = next(c for c in view.cards.prompt_cards if c.gate_ids == ("g",))
card.confirm_button.click()  # the run nobody executes becomes interrupted: it goes on here
from prodex_jupyter.runtime import EXECUTOR
on_kernel_loop = EXECUTOR.execution(run.id).loop is asyncio.get_running_loop()
print("HERE", run.is_executing_here, run.executor.mine, on_kernel_loop)
await run.until_idle()
print("STATUS", run.status, run.value("total"))
"""


def test_a_decision_in_a_kernel_run_view_continues_the_run_in_that_kernel(tmp_path):
    from jupyter_client.manager import KernelManager

    from .test_resume_functions import _execute

    proc, run_id = executor(tmp_path, "exit", 2)
    assert proc.wait(timeout=60) == 0
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(tmp_path), env=_env(tmp_path))
    try:
        client = manager.client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        cell = KERNEL_CELL.format(run_id=run_id, store=where(tmp_path))
        printed = _execute(client, cell)
        client.stop_channels()
    finally:
        manager.shutdown_kernel(now=True)
    assert "HERE True True True" in printed, printed  # on the kernel's own loop
    assert f"STATUS completed {sum(range(40))}" in printed, printed
    state = RunStore(where(tmp_path)).state(run_id)
    reasons = [
        e.event.reason for e in RunStore(where(tmp_path)).events(run_id) if e.kind == "run_status"
    ]
    assert state.status == "completed" and any("resumed by process" in r for r in reasons)
