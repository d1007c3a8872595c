"""The Jupyter server extension: `ProdexApp`, the REST API under `{base_url}prodex/api/`.

Loaded by jupyter_server from `prodex_jupyter._jupyter_server_extension_points` (enabled by
`jupyter-config/server-config/prodex_jupyter.json`). The store is the one the server was started
with: `$PRODEX_STORE` (a folder or a PostgreSQL URL), else `$PRODEX_HOME`, else `.prodex` under
the server's root directory.
"""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode

from ..store import open_store
from .handlers import (
    CompareHandler,
    GateHandler,
    ResumeHandler,
    RunHandler,
    RunsHandler,
    TemplatesHandler,
)
from .record_cache import RecordCache
from .runs_pages import RunsPages
from .workers import Workers

RUN_ID = r"(?P<run_id>[^/]+)"
GATE_ID = r"(?P<gate_id>[^/]+)"


class ProdexApp(ExtensionApp):
    name = "prodex_jupyter"
    handlers = [  # noqa: RUF012 (ExtensionApp's own class attribute)
        (r"prodex/api/templates", TemplatesHandler),
        (r"prodex/api/runs", RunsHandler),
        (rf"prodex/api/runs/{RUN_ID}", RunHandler),
        (rf"prodex/api/runs/{RUN_ID}/gates/{GATE_ID}", GateHandler),
        (rf"prodex/api/runs/{RUN_ID}/resume", ResumeHandler),
        (r"prodex/api/compare", CompareHandler),
    ]

    store_path = Unicode(
        "",
        config=True,
        help=(
            "The run store: a folder or a postgresql:// URL (default: $PRODEX_STORE, else "
            "$PRODEX_HOME, else .prodex under the root directory)."
        ),
    )

    def initialize_settings(self) -> None:
        root = Path(self.serverapp.root_dir).resolve()
        where = (
            self.store_path
            or os.environ.get("PRODEX_STORE")
            or os.environ.get("PRODEX_HOME")
            or str(root / ".prodex")
        )
        store = open_store(where)
        self.settings.update(
            prodex_root=root,
            prodex_store=store,
            prodex_workers=Workers(store, root, self.log),
            prodex_records=RecordCache(store),
            prodex_pages=RunsPages(store),
        )
        self.log.info("prodex: REST API on prodex/api/, run store %s", store.root)
