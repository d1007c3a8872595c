"""prodex-jupyter: auditable data pipelines for JupyterLab.

import prodex_jupyter as px
tpl = px.Template.load("examples/plant_kpis.prodex.yaml")
run = tpl.run(policy=px.confirm_high)
"""

from .runtime import (
    DecisionRefused,
    GateStateError,
    InputError,
    Prompt,
    ResumeError,
    Run,
    compare,
    confirm_high,
    delete_run,
    load_run,
    runs,
    start_run,
)
from .store import LeaseHeld, RunStore, take_anchor, verify_against, verify_run, verify_store
from .template import Gate, Template, TemplateError, load_template

__version__ = "0.1.0"

__all__ = [
    "DecisionRefused",
    "Gate",
    "GateStateError",
    "InputError",
    "LeaseHeld",
    "Prompt",
    "ResumeError",
    "Run",
    "RunStore",
    "Template",
    "TemplateError",
    "__version__",
    "compare",
    "confirm_high",
    "delete_run",
    "load_run",
    "load_template",
    "openlineage_events",
    "runs",
    "start_run",
    "take_anchor",
    "verify_against",
    "verify_run",
    "verify_store",
]


def __getattr__(name: str) -> object:
    """`openlineage_events` imports the OpenLineage client (0.2 s) only when first asked for."""
    if name == "openlineage_events":
        from .runtime.lineage_export import openlineage_events

        return openlineage_events
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where `jupyter labextension develop` finds the built front end (labextension/ builds it
    into prodex_jupyter/labextension; a wheel ships it in share/jupyter/labextensions)."""
    return [{"src": "labextension", "dest": "prodex-jupyter"}]


def _jupyter_server_extension_points() -> list[dict]:
    """The Jupyter server extension (REST API, worker processes); see `prodex_jupyter.server`."""
    from .server import _jupyter_server_extension_points as points

    return points()


if "ipykernel" in __import__("sys").modules:  # in a notebook kernel: runs show their run view
    from .widgets import enable_notebook_display as _enable_notebook_display

    _enable_notebook_display()
