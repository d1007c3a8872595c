"""The wheel is a JupyterLab extension: it ships the prebuilt front end where JupyterLab finds
prebuilt extensions and the config that enables the server extension, so `pip install` needs no
Node and no `jupyter labextension install`."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LABEXT = "prodex_jupyter-0.1.0.data/data/share/jupyter/labextensions/prodex-jupyter"
SERVER_CONFIG = (
    "prodex_jupyter-0.1.0.data/data/etc/jupyter/jupyter_server_config.d/prodex_jupyter.json"
)


def test_wheel_ships_the_prebuilt_extension_and_the_server_config(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)],
        check=True,
    )
    (wheel,) = tmp_path.glob("prodex_jupyter-*.whl")
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
