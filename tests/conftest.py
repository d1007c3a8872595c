"""Shared fixtures: a fresh store per test, the demo's data, small templates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import prodex_jupyter as px

# jp_fetch and a real jupyter_server with the extension, for tests/test_server.py
pytest_plugins = ("pytest_jupyter.jupyter_server",)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@pytest.fixture
def store(tmp_path: Path) -> px.RunStore:
    return px.RunStore(tmp_path / "store")


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    """A private copy of the demo (template + data), so tests may change files."""
    target = tmp_path / "demo"
    shutil.copytree(EXAMPLES, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


@pytest.fixture
def demo_template(demo_dir: Path) -> px.Template:
    return px.load_template(demo_dir / "plant_kpis.prodex.yaml")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests run last. Playwright's sync API leaves an asyncio loop marked as running in
    the main thread for the rest of the session; a run started after that would take it for a
    notebook kernel's loop (where `run.wait()` is refused)."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
