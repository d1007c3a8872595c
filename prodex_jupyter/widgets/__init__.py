"""Layer 5: notebook widgets, thin views over runs.

- `RunView(run)`: the run view (canvas, Run Information panel, gate cards, derivation drawer).
- `enable_notebook_display()`: in a kernel, `run = tpl.run()` / `px.load_run(id)` and a bare
  `run` display the run view (`import prodex_jupyter` calls it inside an IPython kernel).
- `auto_display`: set to False to stop runs displaying themselves.

Importing this package imports ipywidgets; nothing below it does.
"""

from .compare_view import CompareView
from .display import enable_notebook_display, show_run, suppressed
from .run_view import RunView
from .runs_list import RunsList, register_display  # shows px.runs()/px.compare() as widgets

auto_display = True

__all__ = ["RunView", "auto_display", "enable_notebook_display", "show_run", "suppressed"]
__all__ += ["CompareView", "RunsList", "register_display"]
