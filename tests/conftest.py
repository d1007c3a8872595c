"""Shared fixtures: a fresh store per test (SQLite, or PostgreSQL too in the store, runtime,
history and resume tests), the demo's data, small templates."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

import prodex_jupyter as px
from prodex_jupyter.store.run_store import close_stores

# jp_fetch and a real jupyter_server with the extension, for tests/test_server.py
pytest_plugins = ("pytest_jupyter.jupyter_server",)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


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


# ------------------------------------------------------------------ the two store backends
# Tests of these modules that take `store` run once per backend: SQLite (a folder) and
# PostgreSQL (a database of its own on a throwaway server the session starts).
BOTH_BACKENDS = {
    "test_store",
    "test_runtime",
    "test_history",
    "test_resume",
    "test_delete",
    "test_compare",
    "test_lineage",
    "test_deciders",
    "test_postgres_store",
    "test_cli",
    "test_demo_script",
    "test_interrupted",
    "test_resume_functions",
    "test_tamper",
    "test_server",
    "test_server_resume",
    "test_widgets_runs_list",
    "test_widgets_run_view",
    "test_widgets_readable",
    "test_decision_notes",
}


# Tests that reach behind the API into the SQLite file itself (sqlite3, its triggers): what they
# prove of PostgreSQL, tests/test_postgres_store.py proves with the server's own tools.
SQLITE_FILE_TESTS = {
    "test_no_sql_can_update_or_delete_an_event",
    "test_verify_names_an_event_changed_behind_the_api",
    "test_verify_names_a_removed_event_and_a_changed_artifact",
    "test_verify_names_an_event_removed_from_the_middle",
    "test_a_store_written_before_the_index_existed_is_back_filled",
    "test_delete_removes_the_run_and_only_artifacts_no_other_run_uses",
    "test_a_lease_expires_without_heartbeat_and_fences_its_old_holder",  # the SQLite heartbeat
    "test_a_store_from_before_the_ledger_is_adopted",  # SQLite stores older than the ledger
    "test_the_store_is_prodex_home_when_set",  # PRODEX_HOME names a folder
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    module = metafunc.module.__name__.rsplit(".", 1)[-1]
    if "backend" in metafunc.fixturenames and module in BOTH_BACKENDS:
        only_sqlite = metafunc.function.__name__ in SQLITE_FILE_TESTS
        backends = ["sqlite"] if only_sqlite else ["sqlite", "postgresql"]
        metafunc.parametrize("backend", backends, indirect=True)


_PG_SERVERS: list = []  # the session's server once a test asked for it (tests/postgres_server.py)


@pytest.fixture(scope="session")
def pg_server():
    from .postgres_server import running_server

    with running_server() as server:
        _PG_SERVERS.append(server)
        yield server
        _PG_SERVERS.remove(server)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
def store_location(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Where a test's store lives: a folder, or a new database's URL (artifacts in a folder)."""
    if backend == "sqlite":
        return str(tmp_path / "store")
    server = request.getfixturevalue("pg_server")
    return server.create_database()


@pytest.fixture
def store(
    store_location: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[px.RunStore]:
    if not store_location.startswith("postgresql://"):
        yield px.RunStore(store_location)
        return
    # subprocesses (the command line, a second executor) find the same artifacts folder
    monkeypatch.setenv("PRODEX_ARTIFACTS", str(tmp_path / "artifacts"))
    the_store = px.RunStore(store_location)
    yield the_store
    # Every test has its own database: its connections (this store's and the one open_store
    # shares for the URL) would otherwise stay open until the session ends, and the server
    # refuses clients beyond max_connections.
    the_store.close()


@pytest.fixture(autouse=True)
def _close_shared_stores() -> Iterator[None]:
    """After each test, close the PostgreSQL stores `open_store` shared in this process: every
    test has its own database, and open connections would pile up past max_connections. Then
    drop the databases the test made (not those of wider fixtures, made before it started):
    hundreds of 8 MB databases would otherwise fill the cluster."""
    made_before = len(_PG_SERVERS[0].created) if _PG_SERVERS else 0
    yield
    close_stores()
    if _PG_SERVERS:
        _PG_SERVERS[0].drop_databases(made_before)


@pytest.fixture
def store_env(store: px.RunStore, store_location: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """PRODEX_STORE set to the test's store (either backend), as a user sets it: subprocesses and
    code that opens the default store find it. Modules use it with
    `pytestmark = pytest.mark.usefixtures("store_env")`."""
    monkeypatch.setenv("PRODEX_STORE", store_location)
    return store_location
