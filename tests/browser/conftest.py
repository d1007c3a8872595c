"""Fixtures for browser tests: one JupyterLab server and one Chromium per session, one tab that
keeps its running JupyterLab from test to test (fresh notebooks and kernels per test),
screenshots and console logs on failure.

Fixtures:
    jupyter_server   session  a running ``jupyter lab`` (:class:`JupyterServer`)
    browser_context  session  headless Chromium with a fresh persistent profile
    page             function the session's tab (a tab of its own for a Notebook 7 test).
                              ``open_notebook`` opens a notebook in the JupyterLab already
                              loaded there (loading the app took seconds per test), on a
                              kernel started ahead while the test before ended. On failure
                              saves ``test-artifacts/browser/<test>.png`` and
                              ``<test>.console.txt`` (this test's console only). Afterwards
                              it closes every document, shuts down every kernel (DELETE
                              /api/sessions/<id>) and checks that none is left; the tab itself
                              is closed (the next test gets a new one) after a failure, or when
                              it is not a plain light-theme JupyterLab any more (a dialog or
                              menu left open, the dark theme, another page).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .jupyter_harness import (
    ARTIFACTS_DIR,
    CHROMIUM_PATH,
    VIEWPORT,
    JupyterServer,
    close_documents,
    lab_is_running,
    launch_browser,
    screenshot,
    start_jupyter_server,
)

try:
    from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright
except ImportError:  # pragma: no cover - reported as a skip below
    sync_playwright = None  # type: ignore[assignment]

PAGE_DEFAULT_TIMEOUT_MS = 30_000
REPO = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    reason = None
    if sync_playwright is None:
        reason = "playwright is not installed (pip install -e '.[test]')"
    elif not Path(CHROMIUM_PATH).exists():
        reason = f"{CHROMIUM_PATH} is missing: run scripts/ensure-chromium.sh"
    if reason is None:
        return
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[None]:
    """Opt the browser tests out of pytest-jupyter's autouse loop fixture (tests/conftest.py loads
    the plugin for the server tests). That fixture closes the thread's event loop after each test,
    and Playwright's sync API keeps a loop running in this thread: every teardown would fail."""
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    """The plugin's cleanup of an in-process ServerApp: browser tests run JupyterLab in its own
    process (jupyter_harness), so there is nothing here to clean up."""
    yield None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    # Let fixtures see whether setup/call failed (item.rep_setup / item.rep_call).
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def demo(jupyter_server: JupyterServer, tmp_path: Path) -> dict[str, str]:
    """The demo template and data in the server's root, and a fresh store for this test."""
    target = jupyter_server.root_dir / "demo"
    if not target.exists():
        shutil.copytree(REPO / "examples", target, ignore=shutil.ignore_patterns("__pycache__"))
    return {"template": str(target / "plant_kpis.prodex.yaml"), "store": str(tmp_path / "store")}


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    server = start_jupyter_server(tmp_path_factory.mktemp("jupyter"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def browser_context(
    playwright_instance: Playwright, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BrowserContext]:
    context = launch_browser(playwright_instance, tmp_path_factory.mktemp("chromium-profile"))
    context.set_default_timeout(PAGE_DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(PAGE_DEFAULT_TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


@dataclass
class _Tab:
    """The session's tab and the console lines of the test that uses it."""

    page: Page | None = None
    console: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def shared_tab(browser_context: BrowserContext) -> Iterator[_Tab]:
    tab = _Tab()
    try:
        yield tab
    finally:
        if tab.page is not None and not tab.page.is_closed():
            tab.page.close()


def _keep_tab(pg: Page, server: JupyterServer) -> bool:
    """Close the tab's documents and say whether the next test can use the tab: it shows this
    server's JupyterLab in the light theme with no dialog or menu open."""
    try:
        if not lab_is_running(pg, server):
            return False
        if pg.evaluate("() => document.body.dataset.jpThemeLight") != "true":
            return False
        close_documents(pg)
    except Exception:  # the page crashed or is gone: a new tab
        return False
    return True


def _new_tab(context: BrowserContext, console: list[str]) -> Page:
    pg = context.new_page()
    pg.on("console", lambda m: console.append(f"[{m.type}] {m.text}"))
    pg.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
    return pg


@pytest.fixture
def page(
    request: pytest.FixtureRequest,
    shared_tab: _Tab,
    browser_context: BrowserContext,
    jupyter_server: JupyterServer,
) -> Iterator[Page]:
    # Notebook 7 replaces JupyterLab in its tab: those tests get a tab of their own and leave
    # the session's JupyterLab tab loaded for the next test.
    own = "notebook7" in request.node.name
    if own:
        console: list[str] = []
        pg = _new_tab(browser_context, console)
    else:
        console = shared_tab.console
        console.clear()
        if shared_tab.page is None or shared_tab.page.is_closed():
            shared_tab.page = _new_tab(browser_context, console)
        pg = shared_tab.page
    opened = jupyter_server.notebooks_opened
    if pg.viewport_size != VIEWPORT:
        pg.set_viewport_size(VIEWPORT)
    try:
        yield pg
    finally:
        failed = any(
            getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
            for when in ("setup", "call")
        )
        if failed:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid.split("::", 1)[-1])
            try:
                shot = screenshot(pg, f"FAILED-{name}")
                print(f"\nscreenshot: {shot}")
            except Exception as exc:
                print(f"\n(no failure screenshot: {exc})")
            log = ARTIFACTS_DIR / f"FAILED-{name}.console.txt"
            ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
            server_log = jupyter_server.log_tail()
            log.write_text("\n".join(console) + "\n\n--- server log ---\n" + server_log)
            print(f"console + server log: {log}")
        if own:
            pg.close()
        elif failed or not _keep_tab(pg, jupyter_server):
            pg.close()
            shared_tab.page = None
        # A fresh kernel for the next test: shut down this test's kernels.
        jupyter_server.delete_all_sessions()
        left = jupyter_server.kernels()
        assert not left, f"kernels still running after DELETE /api/sessions: {left}"
        if jupyter_server.notebooks_opened > opened:  # the next test likely opens one too
            jupyter_server.prestart_kernel()
