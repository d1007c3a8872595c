"""Shared fixtures: a fresh store per test, the demo's data, small templates."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import prodex_jupyter as px

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
