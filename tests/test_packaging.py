"""The wheel is a JupyterLab extension: it ships the prebuilt front end where JupyterLab finds
prebuilt extensions and the config that enables the server extension, so `pip install` needs no
Node and no `jupyter labextension install`. The tests build the wheel once, look inside it, and
install it (not `pip install -e`) the way a user does, to see JupyterLab and jupyter_server find
and serve what it brought."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import sys
import sysconfig
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .server_support import http

REPO = Path(__file__).resolve().parents[1]
SHARED = "share/jupyter/labextensions/prodex-jupyter"  # in an environment, where pip puts it
LABEXT = f"prodex_jupyter-0.1.0.data/data/{SHARED}"  # in the wheel
SERVER_CONFIG = (
    "prodex_jupyter-0.1.0.data/data/etc/jupyter/jupyter_server_config.d/prodex_jupyter.json"
)
PAGE_CONFIG = r'<script id="jupyter-config-data" type="application/json">(.*?)</script>'
COLOR = re.compile(r"\x1b\[[0-9;]*m")  # jupyter's "enabled"/"OK" come in ANSI green


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel pip builds from this tree (the front end is built first if it is missing)."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
        check=True,
    )
    (built,) = out.glob("prodex_jupyter-*.whl")
    return built


def test_wheel_ships_the_prebuilt_extension_and_the_server_config(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        package = json.loads(zf.read(f"{LABEXT}/package.json"))
        config = json.loads(zf.read(SERVER_CONFIG))
    assert f"{LABEXT}/static/style.js" in names
    assert f"{LABEXT}/install.json" in names
    assert any(n.startswith(f"{LABEXT}/static/remoteEntry.") for n in names)
    assert package["name"] == "prodex-jupyter"
    assert package["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    assert config["ServerApp"]["jpserver_extensions"] == {"prodex_jupyter": True}
    # The built front end is shipped once, as shared data, not again inside the package.
    assert not [n for n in names if n.startswith("prodex_jupyter/labextension/")]


@pytest.fixture
def installed(wheel: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A venv with the wheel installed as a user installs it: (its python, the environment to
    run it in).

    Nothing is downloaded: the venv is made without pip, the test venv's pip installs the wheel
    alone into it (`--python`, `--no-deps`), and only then a .pth file adds the test venv's
    site-packages for the dependencies (JupyterLab, jupyter_server, pandas, ...). A .pth path
    comes after the venv's own site-packages, so the wheel's prodex_jupyter and its dist-info
    are found first; and it is not a site dir, so the .pth files in it are not run, among them
    the editable install's, which would put the checkout on the path. The environment drops
    PYTHONPATH (a developer's checkout) and PRODEX_* and gives Jupyter empty config, data and
    runtime dirs: the front end and the server config can then only come from the venv's
    share/ and etc/, where the wheel put them (the test venv's copies, from `pip install -e`,
    are not on this venv's Jupyter paths)."""
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    pip = [sys.executable, "-m", "pip", "--python", str(python), "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "--no-deps", str(wheel)], check=True)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    test_venv = sorted({sysconfig.get_path("purelib"), sysconfig.get_path("platlib")})
    (site / "test_venv_site_packages.pth").write_text("".join(f"{p}\n" for p in test_venv))
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "PYTHONHOME") and not k.startswith(("JUPYTER", "PRODEX"))
    }
    for name in ("config", "data", "runtime"):
        env[f"JUPYTER_{name.upper()}_DIR"] = str(tmp_path / "jupyter" / name)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    return python, env


def test_jupyterlab_and_jupyter_server_find_an_install_from_the_wheel(
    installed: tuple[Path, dict[str, str]], demo_dir: Path
) -> None:
    """Fails when the wheel lacks the front end or the server config (pyproject.toml's
    shared-data): nothing else puts them where this venv's Jupyter looks."""
    python, env = installed
    venv = python.parents[1]
    spec = run(
        python, env, "-c", "import importlib.util as u; print(u.find_spec('prodex_jupyter'))"
    )
    assert str(venv / "lib") in spec, spec

    labextensions = run(python, env, "-m", "jupyterlab.labextensions", "list")
    listed = section(labextensions, str((venv / SHARED).parent))
    assert "prodex-jupyter v0.1.0 enabled OK (python, prodex-jupyter)" in listed, labextensions

    server_extensions = run(python, env, "-m", "jupyter_server.extension.serverextension", "list")
    enabled = section(server_extensions, f"Config dir: {venv / 'etc' / 'jupyter'}")
    assert "prodex_jupyter enabled" in enabled, server_extensions
    assert "prodex_jupyter 0.1.0 OK" in enabled, server_extensions

    # JupyterLab started in a folder of templates: the REST API answers, the page loads the
    # wheel's front end, and its files are served.
    with running_lab(python, env, demo_dir) as (url, token):
        code, body = http("GET", f"{url}prodex/api/templates", token)
        assert code == 200, body
        assert [t["path"] for t in body["templates"]] == ["plant_kpis.prodex.yaml"]
        page = re.search(PAGE_CONFIG, get(f"{url}lab", token).decode(), re.S)
        assert page, "no page config in /lab"
        loaded = {e["name"]: e["load"] for e in json.loads(page[1])["federated_extensions"]}
        shipped = json.loads((venv / SHARED / "package.json").read_text())
        assert loaded.get("prodex-jupyter") == shipped["jupyterlab"]["_build"]["load"], loaded
        assert get(f"{url}lab/extensions/prodex-jupyter/{loaded['prodex-jupyter']}", token)


def run(python: Path, env: dict[str, str], *args: str) -> str:
    """`python ARGS` in the installed venv, from a folder holding no package: its output."""
    done = subprocess.run(
        [str(python), *args], env=env, cwd=python.parent, capture_output=True, text=True
    )
    output = COLOR.sub("", done.stdout + done.stderr)
    assert done.returncode == 0, output
    return output


def section(output: str, header: str) -> str:
    """The lines `jupyter ... list` prints under `header` (up to the next unindented line)."""
    lines = output.splitlines()
    assert header in lines, output
    body = []
    for line in lines[lines.index(header) + 1 :]:
        if line and not line[0].isspace():
            break
        body.append(line.strip())
    return "\n".join(body)


@contextlib.contextmanager
def running_lab(python: Path, env: dict[str, str], root: Path) -> Iterator[tuple[str, str]]:
    """`jupyter lab` of the installed venv serving `root` on a port the OS picks: (its base URL,
    read from the server info file it writes once it listens; its token)."""
    token = secrets.token_hex(16)
    log_path = root.parent / "lab.log"
    command = [str(python), "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1"]
    command += ["--port=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}"]
    with log_path.open("wb") as log:
        lab = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    info = Path(env["JUPYTER_RUNTIME_DIR"]) / f"jpserver-{lab.pid}.json"
    try:
        deadline = time.monotonic() + 90
        while (url := written_url(info)) is None:
            if lab.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"jupyter lab did not start:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield url, token
    finally:
        lab.terminate()
        lab.wait(30)


def written_url(info: Path) -> str | None:
    """The URL in a server info file, once the server has written it whole."""
    try:
        return json.loads(info.read_text())["url"]
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def get(url: str, token: str) -> bytes:
    """The body of a GET that answers 200."""
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200, url
        return response.read()
