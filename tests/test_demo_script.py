"""`scripts/demo.sh --terminal` (the README's demo in a terminal) runs the demo pipeline end to
end, on the store PRODEX_HOME names and on a PostgreSQL store PRODEX_STORE names (both backends,
tests/conftest.py). The JupyterLab mode is tested in a browser (tests/browser/test_demo_lab.py)."""

from __future__ import annotations

import os
import subprocess
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
