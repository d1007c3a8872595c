"""`scripts/demo.sh --terminal` (the README's demo in a terminal) runs the demo pipeline end to
end, on the store PRODEX_HOME names and on a PostgreSQL store PRODEX_STORE names (both backends,
tests/conftest.py). The JupyterLab mode is tested in a browser (tests/browser/test_demo_lab.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import prodex_jupyter as px

REPO = Path(__file__).resolve().parents[1]


def test_demo_terminal_runs_the_pipeline_end_to_end(
    tmp_path: Path, store: px.RunStore, store_location: str, backend: str
) -> None:
    env = dict(os.environ)
    env.pop("PRODEX_STORE", None)
    if backend == "sqlite":
        env["PRODEX_HOME"] = store_location
    else:
        env["PRODEX_STORE"] = store_location  # PRODEX_ARTIFACTS: set by the store fixture
        env["PRODEX_HOME"] = str(tmp_path / "not-this")  # PRODEX_STORE comes first
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo.sh"), "--terminal"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "plant_mean_cycle_time" in done.stdout
    assert "Record verified: hash chain and artifacts intact" in done.stdout
    (run_id,) = store.run_ids()  # the store the variable chose holds the demo's run
    assert f"Run {run_id} started (store: {store.root})" in done.stdout
    assert store.state(run_id).status == "completed"
    assert not (tmp_path / "not-this").exists()


_FAKE_PYTHON = """#!/usr/bin/env bash
# pip: noted, and a new dist-info and the executables the install puts in .venv (no-ops)
if [ "$1 $2" = "-m pip" ]; then
    echo "${@: -1}" >> pip.log
    rm -rf .venv/lib/python3.11/site-packages/prodex_jupyter-0.1.0.dist-info
    mkdir -p .venv/lib/python3.11/site-packages/prodex_jupyter-0.1.0.dist-info
    cp .venv/bin/jupyter .venv/bin/prodex
    case "${@: -1}" in *lab*) cp .venv/bin/jupyter .venv/bin/jupyter-lab;; esac
    exit 0
fi
exec python3 "$@"
"""


def test_demo_installs_again_only_when_what_the_install_reads_changed(tmp_path: Path) -> None:
    """Both modes skip pip's no-op install (seconds each start): JupyterLab's reinstalls when
    pyproject.toml, the lab extension's sources or build, or the server config changed since the
    install (not node_modules), or JupyterLab is missing (a --terminal install); --terminal's
    when pyproject.toml changed. A copy of the script with a .venv whose python notes pip."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "demo.sh", repo / "scripts" / "demo.sh")
    files = [
        "pyproject.toml",
        "labextension/src/index.ts",
        "labextension/node_modules/dep/index.js",
        "prodex_jupyter/labextension/static/style.js",
        "jupyter-config/server-config/prodex_jupyter.json",
    ]
    for name in files:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text("")
    (repo / ".venv" / "bin").mkdir(parents=True)
    for name, text in (("python", _FAKE_PYTHON), ("jupyter", "#!/bin/sh\n")):
        (repo / ".venv" / "bin" / name).write_text(text)
        (repo / ".venv" / "bin" / name).chmod(0o755)
    log = repo / "pip.log"

    def start(*args: str, changed: str | None = None) -> list[str]:
        if changed:  # installed, then `changed` changed (all in the past: a new install is newer)
            for path in repo.rglob("*"):
                os.utime(path, (time.time() - 100,) * 2)
            os.utime(
                next(repo.glob(".venv/lib/*/site-packages/*.dist-info")), (time.time() - 50,) * 2
            )
            os.utime(repo / changed, (time.time() - 25,) * 2)
        env = {**os.environ, "PRODEX_DEMO_PORT": "1"}
        done = subprocess.run(
            ["bash", "scripts/demo.sh", *args], cwd=repo, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        installs = log.read_text().split() if log.exists() else []
        log.unlink(missing_ok=True)
        return installs

    assert start("--terminal") == ["."]  # the first start installs
    assert start() == [".[lab]"]  # without JupyterLab
    assert start() == []
    assert start("--terminal") == []
    for changed in files:
        expected = [] if "node_modules" in changed else [".[lab]"]
        assert start(changed=changed) == expected, changed
    assert start("--terminal", changed="labextension/src/index.ts") == []
    assert start("--terminal", changed="pyproject.toml") == ["."]
