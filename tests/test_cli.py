"""`prodex` from a terminal and from scripts: run, show, decide, verify, demo.

Every test that keeps runs does so on both backends (tests/conftest.py): an SQLite folder and a
PostgreSQL database, named by `--store` as a user would."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

REPO = Path(__file__).resolve().parents[1]
PRODEX = [sys.executable, "-m", "prodex_jupyter.cli.main"]


@pytest.fixture
def where(store, store_location: str) -> str:
    """The test's store as `--store` names it: a folder, or a PostgreSQL URL (its artifacts
    folder in PRODEX_ARTIFACTS, which the `store` fixture sets and subprocesses inherit)."""
    return store_location


def prodex(*args: str, store: Path | str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PRODEX_USER": "cli-user"}
    return subprocess.run(
        [*PRODEX, "--store", str(store), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
    )


def test_run_without_a_terminal_leaves_gates_pending_and_prints_the_run_id(
    demo_dir, tmp_path, where
):
    out = prodex("run", str(demo_dir / "plant_kpis.prodex.yaml"), store=where)
    assert out.returncode == 0, out.stderr
    run_id = re.search(r"Run (run-\S+) of plant_kpis started", out.stdout).group(1)
    assert "gate     throughput_shape waiting for a decision (confidence high)" in out.stdout
    assert f"prodex confirm {run_id} GATE" in out.stdout

    decided = prodex("confirm", run_id, "throughput_shape", "--note", "ok", store=where)
    assert decided.returncode == 0, decided.stderr
    assert "[throughput_shape] confirmed by cli-user" in decided.stdout
    shown = prodex("show", run_id, store=where)
    assert "gates resolved: 1 / 3" in shown.stdout
    assert "[throughput_shape] confirmed by cli-user" in shown.stdout
    refused = prodex("reject", run_id, "recipes_shape", store=where)
    assert refused.returncode == 2 and "needs a note" in refused.stderr


def test_run_with_confirm_high_and_inputs_goes_as_far_as_the_policy_allows(
    demo_dir, tmp_path, where
):
    other = tmp_path / "recipes_copy.csv"
    other.write_bytes((demo_dir / "data" / "recipes.csv").read_bytes())
    out = prodex(
        "run",
        str(demo_dir / "plant_kpis.prodex.yaml"),
        "--confirm-high",
        "--input",
        f"recipes={other}",
        store=where,
    )
    assert out.returncode == 0, out.stderr
    assert "decided  throughput_shape: confirmed by policy:confirm_high" in out.stdout
    assert f"recipes: {other}" in out.stdout
    # the recipe list has 6 rows: fewer than 30 caps confidence at medium, so a person decides
    assert "recipes_shape waiting for a decision (confidence medium)" in out.stdout
    assert "[recipes_shape] pending" in out.stdout
    assert "plant_mean_cycle_time: waiting on gate 'Recipe master list'" in out.stdout


def test_interactive_run_asks_for_each_gate(demo_dir, tmp_path, where):
    env = {**os.environ, "PYTHONPATH": str(REPO), "PRODEX_USER": "tty-user"}
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "prodex_jupyter.cli.main",
            "--store",
            where,
            "run",
            str(demo_dir / "plant_kpis.prodex.yaml"),
        ],
        env=env,
        encoding="utf-8",
        timeout=60,
    )
    answered = []
    while True:
        index = child.expect([r"(\w+): \[c\]onfirm / \[r\]eject / \[s\]kip\? ", pexpect.EOF])
        if index == 1:
            break
        gate = child.match.group(1)
        answered.append(gate)
        if gate == "station_means_sanity":
            child.sendline("r")
            child.expect("reason")
            child.sendline("means look off")
        else:
            child.sendline("c")
    output = child.before
    child.close()
    assert sorted(answered) == ["recipes_shape", "station_means_sanity", "throughput_shape"]
    assert "status: completed_partial" in output
    assert "[station_means_sanity] rejected by tty-user" in output
    assert "waiting on gate" not in output and "was rejected" in output


def test_verify_reports_an_intact_store(demo_dir, tmp_path, where):
    prodex("run", str(demo_dir / "plant_kpis.prodex.yaml"), "--confirm-high", store=where)
    out = prodex("verify", store=where)
    assert out.returncode == 0 and "1 runs intact" in out.stdout


def test_bad_template_gives_a_clear_error(tmp_path):
    bad = tmp_path / "bad.prodex.yaml"
    bad.write_text(
        "id: t\nnodes:\n"
        "  - {id: s, kind: source, path: s.csv}\n"
        "  - {id: o, kind: output, of: nope}\n"
    )
    out = prodex("run", str(bad), store=tmp_path / "store")
    assert out.returncode == 2
    assert "bad.prodex.yaml, node 'o', field 'of': 'nope' is not a node" in out.stderr


def test_demo_runs_end_to_end(tmp_path, where):
    out = prodex("demo", store=where, cwd=tmp_path)
    assert out.returncode == 0, out.stderr + out.stdout
    text = out.stdout
    assert "Gate prompt" in text and "Confidence:" in text
    assert "decided  throughput_shape: confirmed by policy:confirm_high" in text
    assert "plant_mean_cycle_time = " in text and "overruns_by_shift = " in text
    assert "from: " in text and "weekly_throughput.csv" in text
    assert "Record verified: hash chain and artifacts intact" in text


@pytest.mark.parametrize("verb", ["confirm", "reopen"])
def test_deciding_an_unknown_run_is_a_clear_error(where, verb):
    out = prodex(verb, "run-nope", "g", store=where)
    assert out.returncode == 2 and "no run 'run-nope'" in out.stderr


def test_reopen_and_reconfirm_without_a_note_are_refused_naming_gate_and_flag(
    demo_dir, tmp_path, where
):
    out = prodex("run", str(demo_dir / "plant_kpis.prodex.yaml"), store=where)
    run_id = re.search(r"Run (run-\S+) of plant_kpis started", out.stdout).group(1)
    assert prodex("confirm", run_id, "throughput_shape", store=where).returncode == 0

    refused = prodex("reopen", run_id, "throughput_shape", store=where)
    assert refused.returncode == 2
    assert "reopening gate 'throughput_shape' needs a note saying why: add --note" in (
        refused.stderr
    )
    assert "[throughput_shape] confirmed" in prodex("show", run_id, store=where).stdout
    reopened = prodex("reopen", run_id, "throughput_shape", "--note", "re-export", store=where)
    assert reopened.returncode == 0, reopened.stderr

    prodex("reject", run_id, "recipes_shape", "--note", "old list", store=where)
    refused = prodex("confirm", run_id, "recipes_shape", store=where)
    assert refused.returncode == 2
    assert "re-confirming gate 'recipes_shape' after its rejection needs a note" in refused.stderr
    assert "[recipes_shape] rejected" in prodex("show", run_id, store=where).stdout
    ok = prodex("confirm", run_id, "recipes_shape", "--note", "list is current", store=where)
    assert ok.returncode == 0, ok.stderr


def test_interactive_confirm_over_a_failing_check_asks_why(tmp_path, where):
    (tmp_path / "t.csv").write_text("a\n" + "".join(f"{i}\n" for i in range(40)))
    (tmp_path / "t.prodex.yaml").write_text(
        "id: t\nnodes:\n"
        "  - id: s\n    kind: source\n    path: t.csv\n"
        "    gate: {gate_id: g, name: G, instructions: '- a between 0 and 5'}\n"
        "  - {id: o, kind: output, sql: 'SELECT count(*) FROM s'}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "PRODEX_USER": "tty-user"}
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "prodex_jupyter.cli.main",
            "--store",
            where,
            "run",
            str(tmp_path / "t.prodex.yaml"),
        ],
        env=env,
        encoding="utf-8",
        timeout=60,
    )
    child.expect(r"g: \[c\]onfirm / \[r\]eject / \[s\]kip\? ")
    child.sendline("c")
    child.expect("confirming gate 'g' needs a note saying why: its check failed")
    child.expect("reason: ")
    child.sendline("values above 5 are fine since the re-rating")
    child.expect(pexpect.EOF)
    output = child.before
    child.close()
    assert "status: completed" in output
    assert "values above 5 are fine since the re-rating" in output
