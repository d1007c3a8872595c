"""`GET templates`: every `*.prodex.yaml` under the server's root, loaded or with its error.

Hidden folders (the store `.prodex` among them), virtual environments and `node_modules` are not
searched. A file that does not load is listed with the loader's message (it names the file,
node and field), so one broken template never hides the others.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypedDict

from ..runtime.interruption import FINAL, is_interrupted
from ..store import RunStore
from ..template import TemplateError, load_template

TEMPLATE_SUFFIX = ".prodex.yaml"
SKIPPED = {"node_modules", "__pycache__", "site-packages", "venv"}


class LastRun(TypedDict):
    run_id: str
    status: str
    started: str
    interrupted: bool  # nobody executes it and work is left (runtime/interruption.py)


class TemplateEntry(TypedDict):
    path: str
    id: str
    description: str
    nodes: int
    gates: int
    error: str | None
    last_run: LastRun | None


def template_files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED)
        found += [Path(folder) / f for f in sorted(files) if f.endswith(TEMPLATE_SUFFIX)]
    return found


def list_templates(root: Path, store: RunStore) -> list[TemplateEntry]:
    entries: list[TemplateEntry] = []
    for path in template_files(root):
        entry: TemplateEntry = {
            "path": path.relative_to(root).as_posix(),
            "id": path.name[: -len(TEMPLATE_SUFFIX)],
            "description": "",
            "nodes": 0,
            "gates": 0,
            "error": None,
            "last_run": None,
        }
        try:
            template = load_template(path)
        except TemplateError as exc:
            entry["error"] = str(exc)
        except Exception as exc:  # whatever a broken file raises, it is that file's problem
            entry["error"] = f"{entry['path']}: {type(exc).__name__}: {exc}"
        else:
            entry.update(
                id=template.id,
                description=template.description,
                nodes=len(template),
                gates=len(template.gates),
            )
        entries.append(entry)
    last = _last_runs(store, {e["id"] for e in entries})
    for entry in entries:
        entry["last_run"] = last.get(entry["id"])
    return entries


def _last_runs(store: RunStore, pipelines: set[str]) -> dict[str, LastRun]:
    last: dict[str, LastRun] = {}
    for pipeline in sorted(pipelines):  # each pipeline's newest run: one indexed read
        for row in store.index.list_runs(store.log, pipelines=[pipeline], limit=1):
            last[row.template_id] = {
                "run_id": row.run_id,
                "status": row.status,
                "started": row.created_at,
                "interrupted": row.status not in FINAL
                and is_interrupted(store.state(row.run_id), store.leases.holder(row.run_id)),
            }
    return last
