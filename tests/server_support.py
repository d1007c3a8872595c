"""Helpers for the server tests: a root folder with small templates, and a JSON client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

TINY_HEAD = """\
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
"""
TINY = (
    TINY_HEAD
    + """\
  - id: total
    kind: output
    explanation: The sum of the numbers.
    sql: SELECT sum(n) AS total FROM numbers
"""
)

# The tiny template with a four-eyes gate: whoever started the run cannot confirm it.
FOUR_EYES = TINY.replace("id: tiny", "id: four_eyes", 1).replace(
    "      name: Numbers look right\n", "      name: Numbers look right\n      four_eyes: true\n", 1
)

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
                nodes = {n["node_id"]: n["state"] for n in record.get("nodes", [])}
                gates = {g["gate_id"]: g["status"] for g in record.get("gates", [])}
                raise AssertionError(
                    f"run {run_id} never got there: {record['status']}, executing "
                    f"{record.get('executing')} by {record.get('executor')}, interrupted "
                    f"{record.get('interrupted')}, nodes {nodes}, gates {gates}"
                )
            await asyncio.sleep(0.2)


def close_store(store: Any) -> None:
    """Close a PostgreSQL store a server opened (its connections would outlive the test's
    database otherwise); an SQLite store holds nothing that needs it."""
    from prodex_jupyter.store import run_store

    if store.log.dialect != "postgresql":
        return
    for key, opened in list(run_store._OPEN.items()):
        if opened is store:
            del run_store._OPEN[key]
    session = store.leases._session
    if session is not None:
        session.close()
    store.log.close()


def idle_at_gate(record: dict) -> bool:
    """A run waiting for a person: a gate pending and no process executing it."""
    return bool(record["prompts"]) and not record["executing"]


def finished(record: dict) -> bool:
    return record["status"] in ("completed", "completed_partial", "failed")


@contextlib.contextmanager
def live_server(root: Path, work: Path, store: Path | None = None) -> Iterator[tuple[str, str]]:
    """A real `jupyter server` process with the extension enabled, serving `root` on a free
    port; yields (base URL of the API, token). Its log is `work/server.log`."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    token = secrets.token_hex(16)
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(work / "config"))
    env.update(JUPYTER_DATA_DIR=str(work / "data"), JUPYTER_RUNTIME_DIR=str(work / "runtime"))
    env.pop("PRODEX_HOME", None)
    if store is not None:
        env["PRODEX_HOME"] = str(store)
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.jpserver_extensions={'prodex_jupyter': True}",
    ]
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/prodex/api"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                http("GET", f"{url}/templates", token)
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"jupyter server did not start: {(work / 'server.log').read_text()}"
                    ) from None
                time.sleep(0.25)
        yield url, token
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def http(method: str, url: str, token: str, body: Any = None) -> tuple[int, Any]:
    """One request to a live server (standard library); (status, JSON body or None)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Authorization", f"token {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            code = response.status
    except urllib.error.HTTPError as exc:
        raw, code = exc.read(), exc.code
    return code, (json.loads(raw) if raw else None)


def wait_for(url: str, token: str, run_id: str, check: Callable[[dict], bool]) -> dict:
    """Poll a live server until the run's record satisfies `check` (a bound, not a timing)."""
    deadline = time.monotonic() + 120
    while True:
        code, record = http("GET", f"{url}/runs/{run_id}", token)
        assert code == 200, record
        if check(record):
            return record
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} never got there: {record['status']}")
        time.sleep(0.2)
