"""prodex-jupyter: auditable data pipelines for JupyterLab.

import prodex_jupyter as px
tpl = px.Template.load("examples/plant_kpis.prodex.yaml")
run = tpl.run(policy=px.confirm_high)
"""

from .runtime import (
    GateStateError,
    InputError,
    Prompt,
    Run,
    confirm_high,
    load_run,
    start_run,
)
from .store import RunStore, verify_run, verify_store
from .template import Gate, Template, TemplateError, load_template

__version__ = "0.1.0"

__all__ = [
    "Gate",
    "GateStateError",
    "InputError",
    "Prompt",
    "Run",
    "RunStore",
    "Template",
    "TemplateError",
    "__version__",
    "confirm_high",
    "load_run",
    "load_template",
    "start_run",
    "verify_run",
    "verify_store",
]
