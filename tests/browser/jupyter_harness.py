"""Drive a real JupyterLab (and Notebook 7) in headless Chromium from pytest.

Everything here is plain functions over a Playwright sync ``Page`` plus a small
:class:`JupyterServer` handle; the fixtures in ``conftest.py`` wire them together.

Typical use in a test (fixtures ``jupyter_server`` and ``page`` come from conftest)::

    nb = new_notebook(jupyter_server, ["import ipywidgets as w", "w.Button(description='Go')"])
    open_notebook(page, jupyter_server, nb)
    run_all(page)
    wait_for_idle(page)
    page.get_by_role("button", name="Go").click()

Design notes (measured on this machine, see /work/shared/notes/jupyter-in-a-real-browser.md):

* The server runs with its config, data, runtime and IPython dirs in a temporary folder, so
  tests leave nothing behind; the venv's ``share/jupyter`` stays on the Jupyter path, which is
  where the ipywidgets / ipycytoscape lab extensions and the ``python3`` kernelspec live.
* The prodex lab extension served is this tree's build (``prodex_jupyter/labextension``, put
  first on JUPYTER_PATH), not the copy the venv's install made: a git worktree, or a front end
  rebuilt since the install, is tested as built (the page config is checked for it). A tree
  with no build (a fresh worktree) is served the venv's copy.
* The front end is started with ``expose_app_in_browser`` so the harness can read the notebook
  model (execution state, counts, outputs) through ``window.jupyterapp`` instead of scraping
  the DOM. Nothing about rendering changes.
* Loading JupyterLab and starting a kernel are most of a test's time: a page that already runs
  this server's JupyterLab opens the next notebook in it (``docmanager:open``), and the page
  fixture starts the next test's kernel ahead (:meth:`JupyterServer.prestart_kernel`); each
  notebook still gets a kernel that has run nothing before.
* Every wait is bounded. On a timeout the harness saves a screenshot under
  ``test-artifacts/browser/`` and raises :class:`HarnessError` with what it saw.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

from prodex_jupyter.view import badges

if TYPE_CHECKING:  # pragma: no cover - typing only
    from playwright.sync_api import BrowserContext, Locator, Page, Playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
LAB_EXTENSION = "prodex-jupyter"
LAB_BUILD = REPO_ROOT / "prodex_jupyter" / "labextension"  # jlpm build:prod's output
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts" / "browser"

CHROMIUM_PATH = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}

KERNEL_NAME = "python3"
KERNEL_DISPLAY_NAME = "Python 3 (ipykernel)"

# Timeouts in seconds. Generous for a loaded CI box, but every wait ends.
SERVER_START_TIMEOUT = 60.0
KERNEL_IDLE_TIMEOUT = 60.0
RUN_ALL_START_TIMEOUT = 15.0
EXECUTION_TIMEOUT = 60.0
CYTOSCAPE_TIMEOUT = 30.0
HTTP_TIMEOUT = 10.0

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class HarnessError(AssertionError):
    """A harness wait or check failed; the message says what was expected and what was seen."""


# --------------------------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------------------------


@dataclass
class JupyterServer:
    """A running ``jupyter lab`` started by :func:`start_jupyter_server`."""

    base_dir: Path
    root_dir: Path
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path
    _opener: urllib.request.OpenerDirector | None = field(default=None, repr=False)
    _xsrf: str = field(default="", repr=False)
    # A kernel started ahead for the next notebook (see prestart_kernel), and how many
    # notebooks the harness opened: the page fixture starts one ahead only after a test that
    # opened a notebook.
    _spare: Future[Any] | None = field(default=None, repr=False)
    _starter: ThreadPoolExecutor | None = field(default=None, repr=False)
    notebooks_opened: int = 0

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:40123``."""
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the REST API (``path`` like ``/api/sessions``); returns decoded JSON or None."""
        opener = self._ensure_opener()
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if self._xsrf:
            req.add_header("X-XSRFToken", self._xsrf)
        with opener.open(req, timeout=HTTP_TIMEOUT) as resp:
            raw = resp.read()
        return json.loads(raw) if raw else None

    def sessions(self) -> list[dict[str, Any]]:
        """The server's sessions (one per open notebook with a kernel)."""
        return self.api("GET", "/api/sessions") or []

    def prestart_kernel(self) -> None:
        """Start a fresh ``python3`` kernel in the background (POST /api/kernels) for the next
        notebook the harness opens (see :meth:`attach_kernel`).

        Starting a kernel is the longest step of opening a notebook; started while the previous
        test ends and the next one sets up, it is ready (or nearly) when the notebook opens.
        The kernel is new and has run nothing; only ``__session__`` (the notebook's path, set
        from JPY_SESSION_NAME for kernels a session starts) is missing from its namespace.
        """
        if self._spare is not None:
            return
        self._ensure_opener()
        if self._starter is None:
            self._starter = ThreadPoolExecutor(1, thread_name_prefix="kernel-prestart")
        self._spare = self._starter.submit(self.api, "POST", "/api/kernels", {"name": KERNEL_NAME})

    def attach_kernel(self, rel_path: str, *, use_spare: bool = True) -> None:
        """Before a notebook in the root dir opens: create its session (POST /api/sessions) on
        the kernel :meth:`prestart_kernel` started, if there is one; JupyterLab then connects to
        that session instead of starting a kernel. With ``use_spare=False`` the kernel started
        ahead is shut down and the page starts its own. Counts the notebook opened."""
        self.notebooks_opened += 1
        spare, self._spare = self._spare, None
        if spare is None:
            return
        kernel = spare.result(timeout=HTTP_TIMEOUT)
        # A kernel runs in its notebook's folder: one started ahead suits the root dir only.
        if "/" in rel_path or not use_spare:
            self._delete(f"/api/kernels/{kernel['id']}")
            return
        body = {
            "path": rel_path,
            "name": rel_path,
            "type": "notebook",
            "kernel": {"id": kernel["id"]},
        }
        self.api("POST", "/api/sessions", body)

    def delete_all_sessions(self) -> int:
        """Shut down every session's kernel (DELETE /api/sessions/<id>), then any kernel left
        without a session (DELETE /api/kernels/<id>), a kernel started ahead too; returns how
        many sessions were deleted."""
        spare, self._spare = self._spare, None
        if spare is not None:
            spare.exception(timeout=HTTP_TIMEOUT)  # its kernel exists: it goes with the others
        deleted = 0
        for s in self.sessions():
            if self._delete(f"/api/sessions/{s['id']}"):
                deleted += 1
        for k in self.kernels():
            self._delete(f"/api/kernels/{k['id']}")
        return deleted

    def _delete(self, path: str) -> bool:
        try:
            self.api("DELETE", path)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:  # already gone
                return False
            raise
        return True

    def kernels(self) -> list[dict[str, Any]]:
        """Running kernels (GET /api/kernels)."""
        return self.api("GET", "/api/kernels") or []

    def log_tail(self, lines: int = 40) -> str:
        """Last lines of the server's combined stdout/stderr log."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        """Delete all sessions, then stop the server by its PID (SIGTERM, SIGKILL if stuck)."""
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.delete_all_sessions()
        if self._starter is not None:
            self._starter.shutdown(wait=False)
        children = _child_pids(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        # Kernels are the server's children; normally gone after the DELETEs above.
        for pid in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def _ensure_opener(self) -> urllib.request.OpenerDirector:
        if self._opener is None:
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            # A page load sets the _xsrf cookie that POST/DELETE need (token auth is off).
            with opener.open(self.url + "/lab", timeout=HTTP_TIMEOUT) as resp:
                resp.read()
            self._xsrf = next((c.value for c in jar if c.name == "_xsrf"), "") or ""
            self._opener = opener
        return self._opener


def _child_pids(pid: int) -> list[int]:
    try:
        import psutil
    except ImportError:  # psutil is in the test extra; without it, rely on the DELETEs
        return []
    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))


def start_jupyter_server(base_dir: Path, *, timeout: float = SERVER_START_TIMEOUT) -> JupyterServer:
    """Start ``jupyter lab`` on 127.0.0.1:<free port> with every Jupyter dir under ``base_dir``.

    Token and password are empty, ``--allow-root`` is passed, root_dir is ``base_dir/root``.
    Returns once ``/api/status`` answers and the page config lists the widget lab extensions.
    """
    base_dir = Path(base_dir)
    names = ("config", "data", "runtime", "ipython", "root", "path")
    dirs = {name: base_dir / name for name in names}
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    _link_lab_build(dirs["path"] / "labextensions" / LAB_EXTENSION)

    config_dir = dirs["config"]
    # Let the harness reach the app object (window.jupyterapp) in Lab and in Notebook 7.
    _write_json(
        config_dir / "jupyter_server_config.json",
        {
            "LabApp": {"expose_app_in_browser": True},
            "JupyterNotebookApp": {"expose_app_in_browser": True},
        },
    )
    # No "Would you like to get notified about official Jupyter news?" toast over the page.
    _write_json(
        config_dir
        / "lab"
        / "user-settings"
        / "@jupyterlab"
        / "apputils-extension"
        / "notification.jupyterlab-settings",
        {"fetchNews": "false", "checkForUpdates": False},
    )

    env = os.environ.copy()
    for var in (
        "JUPYTER_PATH",
        "JUPYTER_CONFIG_PATH",
        "JUPYTERLAB_SETTINGS_DIR",
        "JUPYTERLAB_WORKSPACES_DIR",
        "JUPYTER_TOKEN",
        "JUPYTER_PREFER_ENV_PATH",
    ):
        env.pop(var, None)
    env.update(
        JUPYTER_PATH=str(dirs["path"]),  # this tree's lab extension, before the venv's copy
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_DATA_DIR=str(dirs["data"]),
        JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
        IPYTHONDIR=str(dirs["ipython"]),
        JUPYTER_PLATFORM_DIRS="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        # Kernels run with cwd = root_dir; let them import the repo's package.
        PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH")) if p),
        PATH=os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", ""))),
    )

    log_path = base_dir / "jupyter-server.log"
    for attempt in range(3):
        try:
            return _launch(base_dir, dirs, env, log_path, timeout)
        except _PortTaken:  # the free port was grabbed before the server bound it
            if attempt == 2:
                raise HarnessError(f"no free port after 3 tries.\n{log_path.read_text()}") from None
    raise AssertionError("unreachable")


def _link_lab_build(target: Path) -> None:
    """The lab extension as built in this tree, where JupyterLab looks for it first: links to
    its package.json and static files (and the install record pip copies beside them). A tree
    with no build (a fresh git worktree: `jlpm build:prod` in labextension/ builds it) is served
    the venv's copy, as the page config check says."""
    if not (LAB_BUILD / "package.json").exists():
        print(f"browser tests: {LAB_BUILD} is not built; JupyterLab serves the venv's copy")
        return
    target.mkdir(parents=True)
    for name, source in (
        ("package.json", LAB_BUILD / "package.json"),
        ("static", LAB_BUILD / "static"),
        ("install.json", REPO_ROOT / "labextension" / "install.json"),
    ):
        (target / name).symlink_to(source)


class _PortTaken(Exception):
    pass


def _launch(
    base_dir: Path, dirs: dict[str, Path], env: dict[str, str], log_path: Path, timeout: float
) -> JupyterServer:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        "--no-browser",
        "--allow-root",
        "--ServerApp.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={dirs['root']}",
    ]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=dirs["root"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = JupyterServer(
        base_dir=base_dir, root_dir=dirs["root"], port=port, proc=proc, log_path=log_path
    )
    try:
        _wait_for_server(server, timeout)
        _check_server_setup(server)
    except BaseException as exc:
        server.stop()
        if isinstance(exc, HarnessError) and "already in use" in server.log_tail():
            raise _PortTaken() from exc
        raise
    return server


def _wait_for_server(server: JupyterServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last_error = ""
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise HarnessError(
                f"jupyter lab exited with code {server.proc.returncode} before answering.\n"
                f"Log ({server.log_path}):\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.url + "/api/status", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (OSError, urllib.error.URLError) as exc:
            last_error = str(exc)
        time.sleep(0.2)
    raise HarnessError(
        f"jupyter lab did not answer on {server.url} within {timeout:.0f}s ({last_error}).\n"
        f"Log ({server.log_path}):\n{server.log_tail()}"
    )


def _check_lab_build_served(html: str) -> None:
    """Fail fast if the page (``html`` of /lab) loads a prodex lab extension other than this
    tree's build (when the tree has one: `_link_lab_build`)."""
    if not (LAB_BUILD / "package.json").exists():
        return
    config = re.search(r'<script id="jupyter-config-data"[^>]*>(.*?)</script>', html, re.S)
    served = {
        ext["name"]: ext.get("load")
        for ext in json.loads(config.group(1) if config else "{}").get("federated_extensions", [])
    }.get(LAB_EXTENSION)
    built = json.loads((LAB_BUILD / "package.json").read_text())["jupyterlab"]["_build"]["load"]
    if served != built:
        raise HarnessError(
            f"JupyterLab serves {LAB_EXTENSION} {served}, not this tree's build {built} "
            f"({LAB_BUILD})"
        )


def _check_server_setup(server: JupyterServer) -> None:
    """Fail fast if the widget extensions or the venv's kernelspec are not what tests expect."""
    with urllib.request.urlopen(server.url + "/lab", timeout=HTTP_TIMEOUT) as resp:
        html = resp.read().decode(errors="replace")
    wanted = ("@jupyter-widgets/jupyterlab-manager", "jupyter-cytoscape")
    missing = [ext for ext in wanted if ext not in html]
    if missing:
        raise HarnessError(
            f"JupyterLab does not list the lab extension(s) {missing}: the Jupyter data path "
            f"lost {sys.prefix}/share/jupyter/labextensions."
        )
    _check_lab_build_served(html)
    specs = server.api("GET", "/api/kernelspecs")
    spec = specs["kernelspecs"].get(KERNEL_NAME)
    if spec is None:
        raise HarnessError(f"no '{KERNEL_NAME}' kernelspec; got {sorted(specs['kernelspecs'])}")
    argv0 = spec["spec"]["argv"][0]
    # jupyter_client replaces a bare "python"/"python3" with the server's sys.executable.
    pythons = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info)}
    if argv0 not in pythons and Path(argv0) != Path(sys.executable):
        raise HarnessError(
            f"kernelspec '{KERNEL_NAME}' runs {argv0!r}, not this venv's python {sys.executable}"
        )


# --------------------------------------------------------------------------------------------
# Browser
# --------------------------------------------------------------------------------------------


def launch_browser(playwright: Playwright, profile_dir: Path) -> BrowserContext:
    """Headless Debian Chromium with a fresh persistent profile in ``profile_dir``."""
    if not Path(CHROMIUM_PATH).exists():
        raise HarnessError(f"{CHROMIUM_PATH} is missing: run scripts/ensure-chromium.sh")
    return playwright.chromium.launch_persistent_context(
        str(profile_dir),
        executable_path=CHROMIUM_PATH,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=VIEWPORT,
    )


# --------------------------------------------------------------------------------------------
# Notebooks on disk
# --------------------------------------------------------------------------------------------


def unique_name(prefix: str = "nb") -> str:
    """A short unique name such as ``nb-3f9c2a1b`` (for notebooks and workspaces)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def write_notebook(path: str | Path, cells: Iterable[str | nbformat.NotebookNode]) -> Path:
    """Write a notebook (nbformat 4, python3 kernelspec) to ``path``.

    ``cells`` are code-cell sources, or ready cells (e.g. ``nbformat.v4.new_markdown_cell``).
    """
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": KERNEL_DISPLAY_NAME,
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(c) if isinstance(c, str) else c  # type: ignore[misc]
        for c in cells
    ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def new_notebook(
    server: JupyterServer, cells: Iterable[str | nbformat.NotebookNode], *, name: str | None = None
) -> str:
    """Write ``cells`` to a new, uniquely named notebook in the root dir; returns its path there.

    A new name means a new session, hence a fresh kernel when it is opened.
    """
    rel = f"{name or unique_name()}.ipynb"
    if (server.root_dir / rel).exists():
        raise HarnessError(f"{rel} already exists in {server.root_dir}; pick a fresh name")
    write_notebook(server.root_dir / rel, cells)
    return rel


def place_notebook(server: JupyterServer, notebook: str | Path) -> str:
    """Return ``notebook``'s path relative to the root dir, copying it in if it lives elsewhere.

    A copy gets a unique name (``<stem>-<hex>.ipynb``) so it always starts a fresh kernel.
    """
    p = Path(notebook)
    if not p.is_absolute() and (server.root_dir / p).is_file():
        return p.as_posix()
    if p.is_file():
        try:
            return p.resolve().relative_to(server.root_dir.resolve()).as_posix()
        except ValueError:
            rel = f"{unique_name(p.stem)}.ipynb"
            shutil.copyfile(p, server.root_dir / rel)
            return rel
    raise HarnessError(f"notebook {notebook} not found (nor under {server.root_dir})")


# --------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------


def _js(prelude: str, body: str) -> str:
    """An expression for page.evaluate: ``body`` (an arrow function) with ``prelude``'s helper
    functions in scope."""
    return f"(arg) => {{\n{prelude}\nreturn ({body.strip()})(arg);\n}}"


# JS: find the notebook panel shown in the page, in Lab or in Notebook 7.
_JS_PANEL = """
function __panel() {
  const app = window.jupyterapp;
  if (!app || !app.shell) return null;
  const isNb = (w) => w && w.content && w.content.widgets && w.sessionContext;
  const cur = app.shell.currentWidget;
  if (isNb(cur)) return cur;
  for (const w of app.shell.widgets('main')) { if (isNb(w)) return w; }
  return null;
}
"""

_JS_KERNEL_STATE = _js(
    _JS_PANEL,
    """
() => {
  const p = __panel();
  if (!p) return {panel: false, app: !!window.jupyterapp};
  const sc = p.sessionContext;
  const k = sc.session && sc.session.kernel;
  const ind = document.querySelector('.jp-Notebook-ExecutionIndicator');
  const cfg = document.getElementById('jupyter-config-data');
  return {
    panel: true,
    appName: cfg ? JSON.parse(cfg.textContent).appName : null,
    path: sc.path,
    ready: !!sc.isReady,
    kernelName: k ? k.name : null,
    kernelDisplayName: sc.kernelDisplayName,
    status: k ? k.status : null,
    connection: k ? k.connectionStatus : null,
    indicator: ind ? ind.getAttribute('data-status') : null,
    statusBar: Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))
      .map(e => e.textContent.trim()).filter(Boolean),
    dialogs: Array.from(document.querySelectorAll('.jp-Dialog'))
      .map(e => e.innerText.trim().slice(0, 300)),
  };
}
""",
)

_JS_CELLS = _js(
    _JS_PANEL,
    """
() => {
  const p = __panel();
  if (!p) return null;
  const k = p.sessionContext.session && p.sessionContext.session.kernel;
  const cells = p.content.widgets.map((c, i) => {
    const m = c.model;
    const info = {index: i, type: m.type, source: m.sharedModel.getSource().slice(0, 200)};
    if (m.type === 'code') {
      info.count = m.executionCount;
      info.state = m.executionState;
      info.outputs = m.outputs.toJSON();
    }
    return info;
  });
  return {kernelStatus: k ? k.status : null, cells};
}
""",
)


def _save_failure_screenshot(page: Page, label: str) -> str:
    """Screenshot named after the failing check and the running test (``harness-<label>-<test>``;
    a rerun overwrites it). Never raises: returns the path or why there is none."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "").split("::")[-1].split(" ")[0]
    try:
        return str(screenshot(page, f"harness-{label}-{test or unique_name('shot')}"))
    except Exception as exc:  # the page may be gone
        return f"(no screenshot: {exc})"


def _poll(
    page: Page,
    check: Any,
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    describe: Any = None,
) -> Any:
    """Call ``check()`` until it returns a truthy value or ``timeout`` s pass, then fail loudly."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            seen = describe() if describe else last
            shot = _save_failure_screenshot(page, "timeout")
            raise HarnessError(
                f"timed out after {timeout:.0f}s waiting for {what}.\n"
                f"last seen: {json.dumps(seen, default=str)[:3000]}\n"
                f"url: {page.url}\nscreenshot: {shot}"
            )
        page.wait_for_timeout(interval * 1000)


def _kernel_state(page: Page) -> dict[str, Any]:
    return page.evaluate(_JS_KERNEL_STATE)


def wait_for_kernel_idle(page: Page, *, timeout: float = KERNEL_IDLE_TIMEOUT) -> None:
    """Wait until the open notebook's kernel is attached, connected and idle.

    In JupyterLab this includes the status bar reading "Python 3 (ipykernel) | Idle" (the
    toolbar says idle before a kernel is attached; Run All then silently does nothing). Notebook
    7 has no status bar; there the toolbar's execution indicator must read idle. Fails at once
    if a dialog (e.g. "Select Kernel") blocks the page.
    """
    want_bar = f"{KERNEL_DISPLAY_NAME} | Idle"

    def check() -> bool:
        st = _kernel_state(page)
        if st.get("dialogs"):
            shot = _save_failure_screenshot(page, "dialog")
            raise HarnessError(f"a dialog blocks the notebook: {st['dialogs']}\nscreenshot: {shot}")
        if not (st.get("panel") and st.get("ready")):
            return False
        if st.get("status") != "idle" or st.get("connection") != "connected":
            return False
        if st.get("appName") == "JupyterLab":
            return want_bar in st.get("statusBar", [])
        return st.get("indicator") == "idle"  # Notebook 7 has no kernel status in its status bar

    _poll(
        page,
        check,
        timeout=timeout,
        what=f"kernel '{KERNEL_DISPLAY_NAME}' idle",
        describe=lambda: _kernel_state(page),
    )


def _quote(rel_path: str) -> str:
    return urllib.parse.quote(rel_path)


def open_notebook(
    page: Page,
    server: JupyterServer,
    notebook: str | Path,
    *,
    workspace: str | None = None,
    timeout: float = KERNEL_IDLE_TIMEOUT,
) -> str:
    """Open ``notebook`` in JupyterLab and wait for its kernel to be idle.

    ``notebook`` is a path in the root dir (e.g. from :func:`new_notebook`) or a file elsewhere
    (copied in under a unique name). If the page already runs this server's JupyterLab (and no
    ``workspace`` is asked for), the app stays: every open document is closed and the notebook
    opened with ``docmanager:open``, as a person would from the file browser; loading the app
    again costs seconds per test. Otherwise it loads
    ``/lab/workspaces/<workspace>/tree/<nb>?reset``. Returns the notebook's path relative to the
    root dir.
    """
    rel = place_notebook(server, notebook)
    server.attach_kernel(rel)
    if workspace is None and lab_is_running(page, server):
        open_in_running_lab(page, rel, "Notebook")
    else:
        ws = workspace or unique_name("ws")
        page.goto(
            f"{server.url}/lab/workspaces/{ws}/tree/{_quote(rel)}?reset",
            wait_until="domcontentloaded",
            timeout=timeout * 1000,
        )
    wait_for_kernel_idle(page, timeout=timeout)
    _check_opened(page, rel)
    return rel


# JS: whether the page runs JupyterLab (not Notebook 7) with nothing modal over it.
_JS_LAB_RUNNING = """
() => {
  const app = window.jupyterapp;
  const cfg = document.getElementById('jupyter-config-data');
  if (!app || !app.shell || !cfg) return false;
  return JSON.parse(cfg.textContent).appName === 'JupyterLab'
    && !document.querySelector('.jp-Dialog, .lm-Menu');
}
"""

# JS: close every document in the main area. dispose() skips the "save changes?" question (the
# notebooks are throwaway); their kernels are shut down through the REST API by the caller.
_JS_CLOSE_MAIN = """
async () => {
  const app = window.jupyterapp;
  await app.restored;
  for (const w of Array.from(app.shell.widgets('main'))) w.dispose();
}
"""


def lab_is_running(page: Page, server: JupyterServer) -> bool:
    """Whether ``page`` shows ``server``'s JupyterLab, loaded, with no dialog or menu open."""
    if not page.url.startswith(f"{server.url}/lab"):
        return False
    try:
        return bool(page.evaluate(_JS_LAB_RUNNING))
    except Exception:  # navigating, or the page is gone
        return False


def close_documents(page: Page) -> None:
    """Close every document and panel in JupyterLab's main area (no save prompts)."""
    page.evaluate(_JS_CLOSE_MAIN)


def open_in_running_lab(page: Page, path: str, factory: str | None = None) -> None:
    """In the page's running JupyterLab, close every open document, then open ``path`` (with
    ``factory``, e.g. ``"Notebook"``, or the file type's default). Does not wait for a kernel."""
    close_documents(page)
    args = {"path": path, **({"factory": factory} if factory else {})}
    page.evaluate(
        "(args) => { window.jupyterapp.commands.execute('docmanager:open', args)"
        ".catch(e => console.error('docmanager:open ' + args.path + ': ' + e)); }",
        args,
    )


def open_in_notebook7(
    page: Page, server: JupyterServer, notebook: str | Path, *, timeout: float = KERNEL_IDLE_TIMEOUT
) -> str:
    """Open ``notebook`` in the Notebook 7 UI (``/notebooks/<nb>``) and wait for an idle kernel.

    Give it a notebook no other page has open (e.g. a new :func:`new_notebook`), so it gets its
    own fresh kernel. Returns the path relative to the root dir.
    """
    rel = place_notebook(server, notebook)
    # Not on a kernel started ahead: Notebook 7 loads its widget manager with the page, after an
    # attached kernel already reads idle, so Run All raced ipywidgets' restore of the kernel's
    # widgets ("widget model not found", the runs list drawn as a JavaScript error; CI 20:41).
    server.attach_kernel(rel, use_spare=False)
    page.goto(
        f"{server.url}/notebooks/{_quote(rel)}",
        wait_until="domcontentloaded",
        timeout=timeout * 1000,
    )
    wait_for_kernel_idle(page, timeout=timeout)
    _check_opened(page, rel)
    return rel


def _check_opened(page: Page, rel: str) -> None:
    path = _kernel_state(page).get("path")
    if path != rel:
        raise HarnessError(f"expected notebook {rel!r} to be the open one, found {path!r}")


def _cells_state(page: Page) -> dict[str, Any]:
    state = page.evaluate(_JS_CELLS)
    if state is None:
        raise HarnessError(f"no notebook panel in the page ({page.url})")
    return state


def run_all(page: Page, *, timeout: float = RUN_ALL_START_TIMEOUT) -> None:
    """Run all cells through the menu (Run > Run All Cells) and check that execution started.

    Waits for the kernel to be idle first. Does not wait for the cells to finish: follow with
    :func:`wait_for_idle`.
    """
    wait_for_kernel_idle(page)
    before = _cells_state(page)
    code_before = [c for c in before["cells"] if c["type"] == "code"]
    if not code_before:
        return
    page.locator(".lm-MenuBar-item", has_text=re.compile(r"^\s*Run\s*$")).first.click(
        timeout=timeout * 1000
    )
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click(timeout=timeout * 1000)

    counts_before = [c["count"] for c in code_before]

    def started() -> bool:
        st = _cells_state(page)
        code = [c for c in st["cells"] if c["type"] == "code"]
        return (
            any(c["state"] == "running" for c in code)
            or [c["count"] for c in code] != counts_before
            or st["kernelStatus"] == "busy"
        )

    _poll(page, started, timeout=timeout, what="Run All to start executing cells", interval=0.05)


def _format_errors(state: dict[str, Any]) -> list[str]:
    errors = []
    for c in state["cells"]:
        for out in c.get("outputs") or []:
            if out.get("output_type") == "error":
                tb = _ANSI_RE.sub("", "\n".join(out.get("traceback") or []))
                errors.append(
                    f"cell {c['index']} ({c['source'][:60]!r}): {out.get('ename')}: "
                    f"{out.get('evalue')}\n{tb[-2000:]}"
                )
    return errors


def cell_errors(page: Page) -> list[str]:
    """Error outputs of the open notebook, one string per error (name, value, traceback)."""
    return _format_errors(_cells_state(page))


def cell_output_text(page: Page, index: int) -> str:
    """Text of code cell ``index``'s outputs (streams and ``text/plain``), from the model."""
    cell = _cells_state(page)["cells"][index]
    parts = []
    for out in cell.get("outputs") or []:
        if out.get("output_type") == "stream":
            text = out.get("text", "")
            parts.append(text if isinstance(text, str) else "".join(text))
        elif "data" in out and "text/plain" in out["data"]:
            text = out["data"]["text/plain"]
            parts.append(text if isinstance(text, str) else "".join(text))
    return "".join(parts)


def wait_for_idle(
    page: Page, *, timeout: float = EXECUTION_TIMEOUT, raise_on_error: bool = True
) -> dict[str, Any]:
    """Wait until no cell is running or queued and the kernel is idle (stable for 0.3 s).

    Raises :class:`HarnessError` with the traceback(s) if a cell raised (unless
    ``raise_on_error=False``). Returns the notebook state (cells, counts, outputs).
    """
    stable_since: list[float] = []

    def check() -> dict[str, Any] | None:
        st = _cells_state(page)
        busy = st["kernelStatus"] != "idle" or any(
            c.get("state") == "running" for c in st["cells"] if c["type"] == "code"
        )
        if busy:
            stable_since.clear()
            return None
        if not stable_since:
            stable_since.append(time.monotonic())
        return st if time.monotonic() - stable_since[0] >= 0.3 else None

    def describe() -> Any:
        st = _cells_state(page)
        return {
            "kernel": st["kernelStatus"],
            "cells": [
                {k: c.get(k) for k in ("index", "count", "state", "source")}
                for c in st["cells"]
                if c["type"] == "code"
            ],
        }

    state = _poll(page, check, timeout=timeout, what="cells to finish", describe=describe)
    if raise_on_error:
        errors = _format_errors(state)
        if errors:
            shot = _save_failure_screenshot(page, "cell-error")
            raise HarnessError("a cell raised:\n" + "\n\n".join(errors) + f"\nscreenshot: {shot}")
    return state


def run_all_and_wait(page: Page, *, timeout: float = EXECUTION_TIMEOUT) -> dict[str, Any]:
    """:func:`run_all` then :func:`wait_for_idle`; returns the notebook state."""
    run_all(page)
    return wait_for_idle(page, timeout=timeout)


def cell(page: Page, index: int) -> Locator:
    """Locator of the notebook's cell ``index`` (0-based), to scope selectors to its output."""
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def screenshot(page: Page, name: str) -> Path:
    """Save a PNG of the page's viewport as ``test-artifacts/browser/<name>.png``."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "screenshot"
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS_DIR / f"{safe}.png"
    page.screenshot(path=str(path), timeout=15_000)
    return path


# --------------------------------------------------------------------------------------------
# ipycytoscape
# --------------------------------------------------------------------------------------------

# JS: the cytoscape instances in the page. Cytoscape stores itself on its container element as
# `container._cyreg.cy`; ipycytoscape uses the widget's own element (class `custom-widget`,
# plus any `add_class(...)` names) as the container, which also gets the class
# `__________cytoscape_container`.
_JS_CY = """
function __cyContainers(selector) {
  const roots = selector ? Array.from(document.querySelectorAll(selector)) : [document];
  const found = [];
  for (const r of roots) {
    if (r._cyreg && r._cyreg.cy) found.push(r);
    if (r.querySelectorAll) {
      for (const el of r.querySelectorAll('.__________cytoscape_container')) {
        if (el._cyreg && el._cyreg.cy && !found.includes(el)) found.push(el);
      }
    }
  }
  return found;
}
function __nodeCanvas(el) {
  return el.querySelector('canvas[data-id="layer2-node"]') || el.querySelector('canvas');
}
function __painted(canvas) {
  if (!canvas || !canvas.width || !canvas.height) return false;
  const ctx = canvas.getContext('2d');
  const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < d.length; i += 4 * 7) { if (d[i] !== 0) return true; }
  return false;
}
"""

_JS_CY_STATE = _js(
    _JS_CY,
    """
([selector, minNodes]) => {
  const els = __cyContainers(selector);
  return els.map(el => {
    const cy = el._cyreg.cy;
    const canvas = __nodeCanvas(el);
    const n = cy.nodes().length;
    return {
      nodes: n,
      edges: cy.edges().length,
      canvas: !!canvas,
      painted: n >= minNodes ? __painted(canvas) : false,
      classes: el.className,
      listeners: cy.emitter().listeners.map(l => l.event),
    };
  });
}
""",
)

_JS_NODE_POINT = _js(
    _JS_CY,
    """
([selector, nodeId]) => {
  const els = __cyContainers(selector);
  if (!els.length) return {error: 'no cytoscape widget' + (selector ? ' under ' + selector : '')};
  for (const el of els) {
    const cy = el._cyreg.cy;
    const node = cy.getElementById(nodeId);
    if (!node || node.empty() || !node.isNode()) continue;
    const canvas = __nodeCanvas(el);
    if (!canvas) return {error: 'cytoscape widget has no canvas yet'};
    const rect = canvas.getBoundingClientRect();
    const rp = node.renderedPosition();
    const x = rect.left + rp.x, y = rect.top + rp.y;
    const inCanvas = rp.x >= 0 && rp.y >= 0 && rp.x <= rect.width && rp.y <= rect.height;
    const inViewport = x >= 0 && y >= 0 && x < window.innerWidth && y < window.innerHeight;
    let hit = null;
    if (inViewport) {
      const at = document.elementFromPoint(x, y);
      hit = at ? (el.contains(at) ? 'self' : (at.className || at.tagName)) : null;
    }
    return {x, y, rx: rp.x, ry: rp.y, w: rect.width, h: rect.height, inCanvas, inViewport,
            hit, visible: node.visible(), listeners: cy.emitter().listeners.map(l => l.event)};
  }
  return {missing: true, widgets: els.length,
          ids: els.map(e => e._cyreg.cy.nodes().slice(0, 20).map(n => n.id()))};
}
""",
)

_JS_SCROLL_TO = _js(
    _JS_CY,
    """
([selector, nodeId]) => {
  // Scroll the node's widget so that the node's centre lands mid-viewport: adjust the nearest
  // scrollable ancestor of the widget (the notebook panel in Lab, the page in Notebook 7).
  for (const el of __cyContainers(selector)) {
    const node = el._cyreg.cy.getElementById(nodeId);
    if (!node || node.empty()) continue;
    const rect = __nodeCanvas(el).getBoundingClientRect();
    const rp = node.renderedPosition();
    const x = rect.left + rp.x, y = rect.top + rp.y;
    let anc = el.parentElement;
    while (anc && anc !== document.body && anc !== document.documentElement) {
      const s = getComputedStyle(anc);
      if (/(auto|scroll)/.test(s.overflowY) && anc.scrollHeight > anc.clientHeight) break;
      anc = anc.parentElement;
    }
    if (anc && anc !== document.body && anc !== document.documentElement) {
      const a = anc.getBoundingClientRect();
      anc.scrollTop += y - (a.top + a.height / 2);
      anc.scrollLeft += x - (a.left + a.width / 2);
    } else {
      window.scrollBy(x - window.innerWidth / 2, y - window.innerHeight / 2);
    }
    return true;
  }
  return false;
}
""",
)


_JS_CENTER_NODE = _js(
    _JS_CY,
    """
([selector, nodeId]) => {
  for (const el of __cyContainers(selector)) {
    const node = el._cyreg.cy.getElementById(nodeId);
    if (node && node.nonempty()) { el._cyreg.cy.center(node); return true; }
  }
  return false;
}
""",
)


# Each drawn node's box in px from the canvas' top left corner, with the canvas' size: the
# node's body with its halo (underlay) and its gate badge, which overhangs its top by `badge`
# model px.
_JS_NODE_BOXES = """
([selector, badge]) => {
  const cy = document.querySelector(selector)._cyreg.cy;
  const z = cy.zoom(), pan = cy.pan();
  const boxes = cy.nodes(':visible').map(n => {
    const p = n.position();
    const halo = n.pstyle('underlay-opacity').value > 0 ? n.pstyle('underlay-padding').pfValue : 0;
    const hw = n.outerWidth() / 2 + halo, hh = n.outerHeight() / 2 + halo;
    const top = Math.max(hh, n.hasClass('gated') ? n.height() / 2 + badge : 0);
    return {id: n.id(), x1: pan.x + z * (p.x - hw), x2: pan.x + z * (p.x + hw),
            y1: pan.y + z * (p.y - top), y2: pan.y + z * (p.y + hh)};
  });
  return {w: cy.width(), h: cy.height(), boxes, pan, zoom: z,
          attention: cy.nodes('.attention').length};
}
"""
BADGE_OVERHANG = badges.HEIGHT / 2 + 1  # a gate badge over a node's top edge, model px


def cytoscape_boxes(page: Page, selector: str) -> dict[str, Any]:
    """The cytoscape canvas in ``selector`` as drawn: its size (w, h), pan, zoom, how many nodes
    carry ``attention``, and each visible node's box (id, x1, y1, x2, y2 in px, halo and gate
    badge included), for `cut_nodes`."""
    return page.evaluate(_JS_NODE_BOXES, [selector, BADGE_OVERHANG])


def cut_nodes(drawn: dict[str, Any], whole: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The nodes a canvas draws cut by its edge: every node on the canvas at all lies inside its
    left, top and bottom edges (past its right edge the graph runs on, downstream: the width of
    the canvas, unknown to the kernel, ends it); the nodes in `whole` lie inside all four.
    ``drawn``: `cytoscape_boxes`' answer, or the same shape."""
    w, h, tol = drawn["w"], drawn["h"], 0.5
    cut = []
    for b in drawn["boxes"]:
        inside = b["x1"] >= -tol and b["y1"] >= -tol and b["y2"] <= h + tol
        if b["id"] in whole:
            inside = inside and b["x2"] <= w + tol
        elif not (b["x2"] > 0 and b["x1"] < w and b["y2"] > 0 and b["y1"] < h):
            inside = True  # not on the canvas at all
        if not inside:
            cut.append({k: round(v, 1) if isinstance(v, float) else v for k, v in b.items()})
    drawn_ids = {b["id"] for b in drawn["boxes"]}
    return cut + [{"id": n, "not drawn": True} for n in whole if n not in drawn_ids]


def cytoscape_state(page: Page, *, selector: str | None = None, min_nodes: int = 1) -> list[dict]:
    """Node/edge counts, canvas presence and 'painted' flag of each cytoscape widget in view."""
    return page.evaluate(_JS_CY_STATE, [selector, min_nodes])


def wait_for_cytoscape(
    page: Page,
    *,
    selector: str | None = None,
    min_nodes: int = 1,
    min_edges: int = 0,
    timeout: float = CYTOSCAPE_TIMEOUT,
) -> dict[str, Any]:
    """Wait until a cytoscape widget (under ``selector`` if given) has ``min_nodes`` nodes,
    ``min_edges`` edges and its node canvas has pixels drawn. Returns that widget's state.

    ipycytoscape syncs nodes and edges as separate widget lists, so the browser may paint the
    nodes before the edges arrive, even after the kernel is idle: wait for both."""

    def check() -> dict[str, Any] | None:
        for st in cytoscape_state(page, selector=selector, min_nodes=min_nodes):
            if st["nodes"] >= min_nodes and st["edges"] >= min_edges and st["painted"]:
                return st
        return None

    return _poll(
        page,
        check,
        timeout=timeout,
        what=f"a painted cytoscape canvas with >= {min_nodes} nodes and >= {min_edges} edges",
        describe=lambda: cytoscape_state(page, selector=selector, min_nodes=min_nodes),
    )


def cytoscape_node_point(
    page: Page,
    node_id: str,
    *,
    selector: str | None = None,
    listener: str | None = "click",
    pan_into_view: bool = False,
    timeout: float = CYTOSCAPE_TIMEOUT,
) -> tuple[float, float]:
    """Viewport coordinates of node ``node_id``'s centre, scrolled into view and settled.

    The node is looked up in the cytoscape instance of each ipycytoscape widget (the widget's
    element holds it as ``_cyreg.cy``); its position is the node canvas' bounding box plus
    ``node.renderedPosition()``. Waits until the node exists, is inside the canvas and the
    viewport, is not covered by another element, its position is the same on two polls (layout
    done), and (if ``listener``) the instance has a handler for that event, which ipycytoscape
    adds once Python called ``widget.on('node', 'click', ...)``.

    A node that stays outside the widget's canvas (clipped or panned away) fails after 3 s,
    unless ``pan_into_view=True``, which centres the graph on it (``cy.center(node)``) as a
    user would by panning.
    """
    last_xy: list[tuple[float, float]] = []
    seen: dict[str, Any] = {"info": None, "reason": "not checked yet"}
    outside_since: list[float] = []

    def check() -> tuple[float, float] | None:
        info = page.evaluate(_JS_NODE_POINT, [selector, node_id])
        seen["info"] = info
        if info.get("error"):
            seen["reason"] = info["error"]
            return None
        if info.get("missing"):
            seen["reason"] = f"no node {node_id!r} in the cytoscape widget(s) yet"
            return None
        if not info["visible"]:
            seen["reason"] = "node is hidden (display: none / visibility)"
            return None
        if not info["inCanvas"]:
            seen["reason"] = (
                f"node centre ({info['rx']:.0f}, {info['ry']:.0f}) lies outside the widget's "
                f"{info['w']:.0f}x{info['h']:.0f} canvas: clipped or panned away"
            )
            if pan_into_view:
                page.evaluate(_JS_CENTER_NODE, [selector, node_id])
                return None
            key = (round(info["rx"]), round(info["ry"]))
            if not outside_since or outside_since[0] != key:
                outside_since[:] = [key, time.monotonic()]
            elif time.monotonic() - outside_since[1] > 3.0:
                shot = _save_failure_screenshot(page, "cytoscape-node")
                raise HarnessError(
                    f"cannot click cytoscape node {node_id!r}: {seen['reason']} (stable for 3 s;"
                    f" pass pan_into_view=True to pan to it).\ninfo: {info}\nscreenshot: {shot}"
                )
            return None
        outside_since.clear()
        if not info["inViewport"]:
            seen["reason"] = "node is outside the browser viewport; scrolling"
            page.evaluate(_JS_SCROLL_TO, [selector, node_id])
            last_xy.clear()
            return None
        if info["hit"] != "self":
            seen["reason"] = f"another element covers the node: {info['hit']}"
            # e.g. a sticky toolbar over a node at the top edge: bring it to the middle
            page.evaluate(_JS_SCROLL_TO, [selector, node_id])
            last_xy.clear()
            return None
        if listener and listener not in info["listeners"]:
            seen["reason"] = f"no {listener!r} handler on the cytoscape instance yet"
            return None
        xy = (round(info["x"], 1), round(info["y"], 1))
        if last_xy and last_xy[-1] == xy:
            return xy
        seen["reason"] = "node still moving (layout)"
        last_xy.append(xy)
        return None

    return _poll(
        page,
        check,
        timeout=timeout,
        what=f"cytoscape node {node_id!r} to be clickable",
        describe=lambda: seen,
    )


def click_cytoscape_node(
    page: Page,
    node_id: str,
    *,
    selector: str | None = None,
    listener: str | None = "click",
    pan_into_view: bool = False,
    timeout: float = CYTOSCAPE_TIMEOUT,
) -> tuple[float, float]:
    """Click node ``node_id`` of an ipycytoscape widget with the real mouse; returns (x, y).

    ``selector`` narrows the search to one widget (give the widget a class with
    ``widget.add_class('my-graph')`` and pass ``'.my-graph'``). See :func:`cytoscape_node_point`.
    """
    x, y = cytoscape_node_point(
        page,
        node_id,
        selector=selector,
        listener=listener,
        pan_into_view=pan_into_view,
        timeout=timeout,
    )
    page.mouse.click(x, y)
    return x, y


# JS: record (page clock) when Run All is triggered (pointer/mouse up on its menu item), when a
# cytoscape instance first shows up, when it first holds `minNodes` nodes and when the first
# frame with those nodes painted on its node canvas appears. Checked on every animation frame.
_JS_PAINT_WATCH = _js(
    _JS_CY,
    """
([selector, minNodes, timeoutMs]) => {
  const w = {runAllAt: null, widgetAt: null, nodesAt: null, paintedAt: null};
  window.__harnessPaint = w;
  const onUp = (e) => {
    if (w.runAllAt === null && e.target.closest &&
        e.target.closest('[data-command="runmenu:run-all"]')) w.runAllAt = performance.now();
  };
  document.addEventListener('pointerup', onUp, true);
  document.addEventListener('mouseup', onUp, true);
  // Stored, not returned: the caller clicks Run All first, then awaits this promise.
  window.__harnessPaintDone = new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      document.removeEventListener('pointerup', onUp, true);
      document.removeEventListener('mouseup', onUp, true);
      resolve(w);
    };
    setTimeout(finish, timeoutMs);  // bounded even if frames stop coming
    const frame = () => {
      if (done) return;
      const now = performance.now();
      for (const el of __cyContainers(selector)) {
        const cy = el._cyreg.cy;
        if (w.widgetAt === null) w.widgetAt = now;
        if (cy.nodes().length >= minNodes) {
          if (w.nodesAt === null) w.nodesAt = now;
          if (__painted(__nodeCanvas(el))) {
            w.paintedAt = now;
            finish();
            return;
          }
        }
      }
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  });
}
""",
)


def measure_run_all_to_paint(
    page: Page,
    *,
    min_nodes: int,
    selector: str | None = None,
    timeout: float = EXECUTION_TIMEOUT,
) -> dict[str, float | None]:
    """Click Run All and time, on the page's clock, until a cytoscape canvas holding
    ``min_nodes`` nodes is painted. Use on a freshly opened notebook.

    Returns seconds after Run All: ``paint`` (first frame with the nodes drawn), ``widget``
    (first frame with a cytoscape instance in the page) and ``nodes`` (first frame where it
    holds ``min_nodes`` nodes). Frames are sampled with requestAnimationFrame (~16 ms).
    """
    wait_for_kernel_idle(page)
    page.evaluate(_JS_PAINT_WATCH, [selector, min_nodes, timeout * 1000])
    run_all(page)
    result = page.evaluate("() => window.__harnessPaintDone")  # bounded by the page's timer
    if result["paintedAt"] is None or result["runAllAt"] is None:
        shot = _save_failure_screenshot(page, "paint")
        raise HarnessError(
            f"no painted cytoscape canvas with >= {min_nodes} nodes within {timeout:.0f}s of "
            f"Run All: {result}; widgets: {cytoscape_state(page, selector=selector)}\n"
            f"screenshot: {shot}"
        )

    def secs(t: float | None) -> float | None:
        return None if t is None else round((t - result["runAllAt"]) / 1000, 3)

    return {
        "paint": secs(result["paintedAt"]),
        "widget": secs(result["widgetAt"]),
        "nodes": secs(result["nodesAt"]),
    }


_JS_RUN_CELL = _js(
    _JS_PANEL,
    """
async ([index, stamp]) => {
  const p = __panel();
  p.content.activeCellIndex = index;
  p.content.deselectAll();
  if (stamp) window.__harnessPaint.runAllAt = performance.now();
  await window.jupyterapp.commands.execute('notebook:run-cell');
}
""",
)


def run_cell(page: Page, index: int, *, timeout: float = EXECUTION_TIMEOUT) -> dict[str, Any]:
    """Run cell ``index`` alone (the notebook's Run Selected Cell) and wait until idle."""
    wait_for_kernel_idle(page)
    page.evaluate(_JS_RUN_CELL, [index, False])
    return wait_for_idle(page, timeout=timeout)


def measure_cell_to_paint(
    page: Page,
    index: int,
    *,
    min_nodes: int,
    selector: str | None = None,
    timeout: float = EXECUTION_TIMEOUT,
) -> dict[str, float | None]:
    """Run cell ``index`` alone on a warm kernel (earlier cells already run with
    :func:`run_cell`) and time, on the page's clock, until a cytoscape canvas holding
    ``min_nodes`` nodes is painted; the same figures as :func:`measure_run_all_to_paint`,
    counted from the moment the cell is asked to run."""
    wait_for_kernel_idle(page)
    page.evaluate(_JS_PAINT_WATCH, [selector, min_nodes, timeout * 1000])
    page.evaluate(_JS_RUN_CELL, [index, True])
    result = page.evaluate("() => window.__harnessPaintDone")
    if result["paintedAt"] is None:
        shot = _save_failure_screenshot(page, "paint")
        raise HarnessError(
            f"no painted cytoscape canvas with >= {min_nodes} nodes within {timeout:.0f}s of "
            f"running cell {index}: {result}; widgets: "
            f"{cytoscape_state(page, selector=selector)}\nscreenshot: {shot}"
        )

    def secs(t: float | None) -> float | None:
        return None if t is None else round((t - result["runAllAt"]) / 1000, 3)

    return {
        "paint": secs(result["paintedAt"]),
        "widget": secs(result["widgetAt"]),
        "nodes": secs(result["nodesAt"]),
    }


def texts(page: Page, selector: str) -> list[str]:
    """Inner texts of all elements matching ``selector`` (handy for widget labels)."""
    return page.locator(selector).all_inner_texts()


__all__: Sequence[str] = [
    "ARTIFACTS_DIR",
    "CHROMIUM_ARGS",
    "CHROMIUM_PATH",
    "KERNEL_DISPLAY_NAME",
    "HarnessError",
    "JupyterServer",
    "cell",
    "cell_errors",
    "cell_output_text",
    "click_cytoscape_node",
    "close_documents",
    "cytoscape_node_point",
    "cytoscape_state",
    "lab_is_running",
    "launch_browser",
    "measure_cell_to_paint",
    "measure_run_all_to_paint",
    "new_notebook",
    "open_in_notebook7",
    "open_in_running_lab",
    "open_notebook",
    "place_notebook",
    "run_all",
    "run_all_and_wait",
    "run_cell",
    "screenshot",
    "start_jupyter_server",
    "texts",
    "unique_name",
    "wait_for_cytoscape",
    "wait_for_idle",
    "wait_for_kernel_idle",
    "write_notebook",
]
