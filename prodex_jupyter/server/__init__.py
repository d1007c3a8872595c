"""The Jupyter server extension: a REST API over the run store under `{base_url}prodex/api/`
(docs/rest-api.md). Runs execute in worker processes the server starts (`worker.py`).

Importing this package imports nothing from Jupyter: the worker processes start from it.
"""

from __future__ import annotations

from typing import Any


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import ProdexApp

    return [{"module": "prodex_jupyter.server", "app": ProdexApp}]
