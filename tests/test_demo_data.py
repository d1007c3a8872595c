"""The demo's raw extracts come from a seeded generator: every machine gets the same bytes."""

from __future__ import annotations

import runpy

from tests.conftest import EXAMPLES


def test_generator_reproduces_the_committed_demo_data(tmp_path):
    generate = runpy.run_path(str(EXAMPLES / "generate_data.py"))["generate"]
    throughput, recipes = generate(tmp_path)
    assert throughput.read_bytes() == (EXAMPLES / "data" / "weekly_throughput.csv").read_bytes()
    assert recipes.read_bytes() == (EXAMPLES / "data" / "recipes.csv").read_bytes()


def test_another_seed_gives_other_data(tmp_path):
    generate = runpy.run_path(str(EXAMPLES / "generate_data.py"))["generate"]
    throughput, _ = generate(tmp_path, seed=8)
    assert throughput.read_bytes() != (EXAMPLES / "data" / "weekly_throughput.csv").read_bytes()
