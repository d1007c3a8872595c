"""The quick start leaves its first run's gates to the person, and keeps its runs in the
notebook folder's `.prodex` (saying so); only an unattended run (CI) decides them in code."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import prodex_jupyter as px

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "notebooks" / "01_quickstart.ipynb"


def _copy(tmp_path: Path) -> Path:
    """The notebook and the demo data, laid out as in the repository."""
    shutil.copytree(REPO / "examples" / "data", tmp_path / "examples" / "data")
    (tmp_path / "notebooks").mkdir()
    return Path(shutil.copy(QUICKSTART, tmp_path / "notebooks"))


def _run_until_the_marked_cell(path: Path, monkeypatch, unattended: bool) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    marked = next(
        i for i, c in enumerate(nb.cells) if c.source.startswith("# ⚠ UNATTENDED RUNS ONLY")
    )
    probe = (
        "import asyncio\n"
        "await run.next_prompt()\n"
        "while run.status != 'completed' and len(run.state.pending_gates) < 2:\n"
        "    await asyncio.sleep(0.1)\n"
        "print(sorted((g.gate_id, g.status, len(g.decisions)) for g in run.gates.values()))"
    )
    nb.cells = [*nb.cells[: marked + 1], nbformat.v4.new_code_cell(probe)]
    if unattended:
        monkeypatch.setenv("PRODEX_UNATTENDED", "1")
    else:
        monkeypatch.delenv("PRODEX_UNATTENDED", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.delenv("PRODEX_HOME", raising=False)
    monkeypatch.delenv("PRODEX_STORE", raising=False)
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
    return [
        "".join(o.get("text", "") for o in c.get("outputs", ()))
        for c in nb.cells
        if c.cell_type == "code"
    ]


@pytest.mark.parametrize("unattended", [False, True])
def test_the_first_run_waits_for_a_person_unless_unattended(tmp_path, monkeypatch, unattended):
    path = _copy(tmp_path)
    printed = _run_until_the_marked_cell(path, monkeypatch, unattended)
    store_dir = path.parent / ".prodex"
    assert f"runs are stored in {store_dir.resolve()}" in printed[0]  # says where
    store = px.RunStore(store_dir)
    [run_id] = store.run_ids()
    run = px.load_run(run_id, store)
    if unattended:
        assert run.status == "completed"
        assert {g.last_decision.by for g in run.gates.values()} == {"quickstart (unattended)"}
    else:
        assert "Decide on the cards above" in printed[-2]
        # at the end: the source gates wait for a person, nothing was decided in code
        assert "('throughput_shape', 'pending', 0)" in printed[-1], printed[-1]
        assert ", 1)" not in printed[-1]
        assert not any(g.decisions for g in run.gates.values())


def test_the_marked_cell_is_marked():
    cells = json.loads(QUICKSTART.read_text())["cells"]
    marked = [c for c in cells if "".join(c["source"]).startswith("# ⚠ UNATTENDED RUNS ONLY")]
    assert len(marked) == 1
    assert os.environ.get("PRODEX_UNATTENDED") in (None, "1")
