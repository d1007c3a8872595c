"""The OpenAPI file against a live `jupyter server` with the extension: schemathesis generates
requests for every operation (valid and invalid) and checks that none gets a 500 and every
response conforms to docs/openapi.yaml; real run records are validated against it too."""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis

from .server_support import finished, http, idle_at_gate, live_server, make_root, wait_for


def _import_now(*packages: str) -> None:
    """pytest rewrites a plugin's modules (schemathesis is one) with `ast.parse` as they are
    imported, and schemathesis imports most of itself lazily, inside the test. On CPython 3.11
    (3.11.7 here) that parse fails with "AST constructor recursion depth mismatch" (gh-106905)
    when another thread of this process builds an AST at the same moment: threads left by
    earlier tests do. Imported here, at collection, no test's threads run yet."""
    for name in packages:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            with contextlib.suppress(Exception):  # optional extras of schemathesis
                importlib.import_module(info.name)


_import_now(
    "schemathesis.core",
    "schemathesis.engine",
    "schemathesis.generation",
    "schemathesis.openapi",
    "schemathesis.specs",
    "schemathesis.transport",
)

REPO = Path(__file__).resolve().parents[1]
OPENAPI = REPO / "docs" / "openapi.yaml"
MAX_EXAMPLES = 12  # per operation: the whole run stays well under a minute


@pytest.fixture
def work() -> Iterator[Path]:
    """A folder of this test's own: pytest's numbered tmp folders are shared by every pytest on
    the machine, and another session's clean-up can remove them while a live server uses them."""
    with tempfile.TemporaryDirectory(prefix="prodex-schema-") as folder:
        yield Path(folder)


def test_schemathesis_finds_no_500_and_no_response_breaking_the_schema(work: Path) -> None:
    root = make_root(work / "root")
    tmp_path = work
    with live_server(root, tmp_path) as (url, token):
        records = real_records(url, token)
        schema = schemathesis.openapi.from_path(str(OPENAPI))
        get_run = schema["/runs/{run_id}"]["GET"]
        for run_id in records:
            response = requests.get(
                f"{url}/runs/{run_id}", headers={"Authorization": f"token {token}"}, timeout=60
            )
            get_run.validate_response(response)  # raises, naming the field, if it breaks
        for path in ("runs", "templates", f"compare?runs={records[0]},{records[1]}"):
            response = requests.get(
                f"{url}/{path}", headers={"Authorization": f"token {token}"}, timeout=60
            )
            operation = schema[f"/{path.split('?')[0]}"]["GET"]
            operation.validate_response(response)

        fuzz = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                str(OPENAPI),
                "--url",
                url,
                "-H",
                f"Authorization: token {token}",
                "--checks",
                "not_a_server_error,response_schema_conformance,status_code_conformance,"
                "content_type_conformance",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--phases",
                "examples,coverage,fuzzing",
                "--seed",
                "1",
                "--workers",
                "1",
                "--generation-database",
                "none",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )
        assert fuzz.returncode == 0, fuzz.stdout[-6000:] + fuzz.stderr[-2000:]
        assert "passed" in fuzz.stdout
        # schemathesis learns run ids from responses and may delete those runs (a DELETE is
        # allowed to): the server still serves, and its list agrees with its store
        code, body = http("GET", f"{url}/runs", token)
        assert code == 200 and body["total"] == len(body["runs"]) <= len(records)


def real_records(url: str, token: str) -> list[str]:
    """Two completed runs of one pipeline (compare), one waiting at a gate, one rejected."""
    ids = []
    for inputs, decision in (
        ({}, {"decision": "confirm"}),
        ({"numbers": "data/more.csv"}, {"decision": "confirm"}),
        ({}, {"decision": "reject", "note": "not these numbers"}),
        ({}, None),
    ):
        code, body = http(
            "POST", f"{url}/runs", token, {"template": "tiny.prodex.yaml", "inputs": inputs}
        )
        assert code == 201, body
        run_id = body["run_id"]
        wait_for(url, token, run_id, idle_at_gate)
        if decision:
            code, gate = http("POST", f"{url}/runs/{run_id}/gates/numbers_ok", token, decision)
            assert code == 200, gate
            wait_for(url, token, run_id, lambda r: finished(r) and not r["executing"])
        ids.append(run_id)
    return ids
