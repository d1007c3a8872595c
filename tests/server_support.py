"""Helpers for the server tests: a root folder with small templates, and a JSON client."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

TINY = """\
id: tiny
description: One gated source and an output.
nodes:
  - id: numbers
    kind: source
    path: data/numbers.csv
    gate:
      gate_id: numbers_ok
      name: Numbers look right
      instructions: |
        - required columns: n
        - n between 0 and 100
  - id: total
    kind: output
    explanation: The sum of the numbers.
    sql: SELECT sum(n) AS total FROM numbers
"""

# A python node that waits while the file `hold` exists in the root: a worker can be caught
# (and killed) in the middle of executing it.
SLOW = """\
id: slow
description: A node that waits for a file to go.
nodes:
  - id: numbers
    kind: source
    path: data/numbers.csv
    gate:
      gate_id: numbers_ok
      name: Numbers look right
      instructions: |
        - required columns: n
  - id: held
    kind: python
    code: |
      def held(numbers):
          import os, time
          while os.path.exists({hold!r}):
              time.sleep(0.05)
          return numbers
  - id: count
    kind: output
    sql: SELECT count(*) AS rows FROM held
"""

BROKEN = """\
id: broken
nodes:
  - id: a
    kind: sql
    sql: SELECT * FROM nowhere_node
"""


def make_root(root: Path) -> Path:
    """The server's root: the demo, a tiny and a slow template, and a broken one."""
    shutil.copytree(EXAMPLES, root / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "data").mkdir()
    (root / "data" / "numbers.csv").write_text("n\n1\n2\n3\n4\n")
    (root / "data" / "more.csv").write_text("n\n10\n20\n30\n")
    (root / "tiny.prodex.yaml").write_text(TINY)
    (root / "slow.prodex.yaml").write_text(SLOW.format(hold=str(root / "hold")))
    (root / "bad").mkdir()
    (root / "bad" / "broken.prodex.yaml").write_text(BROKEN)
    return root


class Api:
    """`await api.get("runs")` -> (status, JSON body or None), through jp_fetch (token sent)."""

    def __init__(self, fetch: Callable[..., Any]) -> None:
        self.fetch = fetch

    async def call(
        self, method: str, path: str, body: Any = None, *, params: dict | None = None, **kw: Any
    ) -> tuple[int, Any]:
        data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
        response = await self.fetch(
            "prodex",
            "api",
            *path.split("/"),
            method=method,
            body=data,
            params=params,
            raise_error=False,
            allow_nonstandard_methods=True,
            **kw,
        )
        text = response.body.decode() if response.body else ""
        return response.code, (json.loads(text) if text else None)

    async def get(self, path: str, **params: Any) -> tuple[int, Any]:
        return await self.call("GET", path, params=params)

    async def post(self, path: str, body: Any) -> tuple[int, Any]:
        return await self.call("POST", path, body)

    async def delete(self, path: str) -> tuple[int, Any]:
        return await self.call("DELETE", path)

    async def until(self, run_id: str, check: Callable[[dict], bool], timeout: float = 90) -> dict:
        """The run's record once `check(record)` holds (polled; a bound, not a timing)."""
        deadline = time.monotonic() + timeout
        while True:
            code, record = await self.get(f"runs/{run_id}")
            assert code == 200, record
            if check(record):
                return record
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} never got there: {record['status']}")
            await asyncio.sleep(0.2)


def idle_at_gate(record: dict) -> bool:
    """A run waiting for a person: a gate pending and no process executing it."""
    return bool(record["prompts"]) and not record["executing"]


def finished(record: dict) -> bool:
    return record["status"] in ("completed", "completed_partial", "failed")
