"""`scripts/demo.sh --terminal` (the README's demo in a terminal) runs the demo pipeline end to
end. The JupyterLab mode is tested in a browser (tests/browser/test_demo_lab.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_demo_terminal_runs_the_pipeline_end_to_end(tmp_path: Path) -> None:
    env = {**os.environ, "PRODEX_HOME": str(tmp_path / "store")}
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo.sh"), "--terminal"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "plant_mean_cycle_time" in done.stdout
    assert (tmp_path / "store").is_dir()  # PRODEX_HOME chose the store
