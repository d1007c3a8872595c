"""Every notebook under notebooks/ with PRODEX_STORE set to a PostgreSQL database, as a team's
JupyterHub sets it (a URL with a password the database asks for): no cell fails, every cell nbval
checks prints what the notebook keeps from its run on SQLite (nbval runs them on SQLite), and
the runs land in the database, intact, with nothing written beside the notebook."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import prodex_jupyter as px
from prodex_jupyter.store import verify_store

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def _printed(cell) -> str:
    """What a cell shows, as nbval compares it: what it printed (however the kernel split it in
    messages), then its plain-text results."""
    outputs = cell.get("outputs", ())
    printed = "".join(o["text"] for o in outputs if o["output_type"] == "stream")
    results = [o["data"].get("text/plain", "") for o in outputs if "data" in o]
    return "\n".join([printed, *results])


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_runs_the_same_on_a_postgresql_store(
    notebook: Path, tmp_path: Path, pg_server, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = pg_server.create_database(password=True)
    shutil.copytree(REPO / "examples", tmp_path / "examples")  # laid out as in the repository
    (tmp_path / "notebooks").mkdir()
    path = Path(shutil.copy(notebook, tmp_path / "notebooks"))
    for name, value in {
        "PRODEX_STORE": url,
        "PRODEX_ARTIFACTS": str(tmp_path / "artifacts"),
        "PRODEX_UNATTENDED": "1",  # what nbval's run sets (notebooks/conftest.py)
        "PYTHONPATH": str(REPO),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PRODEX_HOME", raising=False)

    nb = nbformat.read(path, as_version=4)
    checked = {
        i: _printed(c)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in c.source
    }
    assert checked, f"{notebook.name} has no cell nbval checks"
    # raises CellExecutionError, naming the cell and its traceback, when a cell fails
    NotebookClient(nb, timeout=180, resources={"metadata": {"path": str(path.parent)}}).execute()
    for i, expected in checked.items():
        assert _printed(nb.cells[i]) == expected, (
            f"{notebook.name}, cell {i}:\n{nb.cells[i].source}"
        )

    store = px.RunStore(url)
    assert store.run_ids(), f"{notebook.name} kept no run in {store.root}"
    assert verify_store(store) == []
    assert not (path.parent / ".prodex").exists()  # nothing beside the notebook
    assert (tmp_path / "artifacts").is_dir()
