"""Notebook display hooks: a run started or loaded in a cell shows its run view.

`enable_notebook_display()` (called by `import prodex_jupyter` inside an IPython kernel):
- registers a `runtime.on_run_opened` listener, so `run = tpl.run()` and
  `run = px.load_run(id)`, assignments that display nothing by themselves, display a `RunView`;
- registers an IPython display printer for `Run`, so a bare `run` at the end of a cell shows the
  view too (once per cell: not again when the same cell already showed it).

Switch the automatic display off with `prodex_jupyter.widgets.auto_display = False`, or for a
block of code with `with suppressed(): ...` (e.g. a runs list opening runs on a click).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from ..runtime import Run, on_run_opened
from ..view.canvas import canvas_plan
from ..view.first_paint import first_paint_html
from ..view.static import run_text

log = logging.getLogger(__name__)

_enabled = False
_suppress = threading.local()
# run id -> execution count of the cell that displayed its view automatically
_shown_in_cell: dict[str, int] = {}


def _auto_display_on() -> bool:
    from . import auto_display  # read at call time: users switch it on and off

    return bool(auto_display) and not getattr(_suppress, "depth", 0)


@contextlib.contextmanager
def suppressed() -> Iterator[None]:
    """No automatic run views inside this block (on this thread)."""
    _suppress.depth = getattr(_suppress, "depth", 0) + 1
    try:
        yield
    finally:
        _suppress.depth -= 1


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return None  # plain IPython in a terminal: no front end to draw widgets
    return shell


def _in_cell_execution(shell: Any) -> bool:
    """True while a cell runs (not while a button's click is handled, whose output has no cell
    to go to)."""
    try:
        parent = shell.kernel.get_parent()
    except Exception:
        return True
    header = (parent or {}).get("header") or {}
    return header.get("msg_type", "execute_request") == "execute_request"


def show_run(run: Run) -> None:
    """Display the run view of `run` in the current cell's output, and with it the run's
    static HTML (`view.static`), kept up to date, which is what a saved notebook shows once no
    kernel draws the widget (reopened, exported by nbconvert, on GitHub).

    That output is sent first, before any widget is made, holding the view's first paint
    (`view.first_paint`): the graph on screen while the browser builds the live view, which
    takes its place once its canvas has painted."""
    from IPython.display import display

    from .run_view import RunView

    shell = _shell()
    state = run.state
    plan = canvas_plan(state)
    store_root = str(run.store.root)
    handle = display(
        {
            "text/html": first_paint_html(state, plan),
            "text/plain": run_text(state, store_root),
        },
        raw=True,
        display_id=True,
    )
    view = RunView(run, plan=plan)
    display(view)
    kept = first_paint_html(state, plan, hydrate=False)  # shown only while hydrating

    def keep(bundle: Mapping[str, str]) -> None:
        handle.update({**bundle, "text/html": kept + bundle["text/html"]}, raw=True)

    view.keep_static(keep)
    if shell is not None:
        _shown_in_cell[run.id] = shell.execution_count


def _on_run_opened(run: Run) -> None:
    if not _auto_display_on():
        return
    shell = _shell()
    if shell is None or not _in_cell_execution(shell):
        return
    try:
        show_run(run)
    except Exception:  # a view must never stop a run from starting
        log.exception("could not display the run view of %s", run.id)


def _display_run(run: Run) -> None:
    """IPython's printer for a bare `run` at the end of a cell."""
    shell = _shell()
    if shell is not None and _shown_in_cell.get(run.id) == shell.execution_count:
        return  # this cell already shows it (`run = tpl.run(); run`)
    show_run(run)


def enable_notebook_display() -> bool:
    """Hook runs into the notebook display; returns False outside a kernel with a front end."""
    global _enabled
    shell = _shell()
    if shell is None:
        return False
    if not _enabled:
        on_run_opened(_on_run_opened)
        formatter = shell.display_formatter.ipython_display_formatter
        formatter.for_type(Run, _display_run)
        _enabled = True
    return True
