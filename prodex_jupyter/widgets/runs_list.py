"""The runs list widget: a thin, sortable, filterable view over `px.runs()`.

`RunsList(px.runs())` (or `RunsList(store=...)`) shows one page of runs at a time: click a
column header to sort (again to reverse), pick a pipeline or status to filter, tick runs to
select them. Per run: Open shows its run view below the list, Compare compares it with the
selected runs (same pipeline), Delete asks to confirm, then deletes the whole run (refused, with
the reason, while a process executes it).

In a notebook, a `px.runs()` result at the end of a cell displays as this widget (registered with
IPython by `register_display()`, called when `prodex_jupyter.widgets` is imported in a kernel).
The widget keeps no state the store does not hold beyond the view's own sort, filter, page and
selection; Refresh (and every delete) re-reads the store.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as w
import pandas as pd

from ..runtime import compare, load_run
from ..runtime.history import RunsTable, runs
from ..runtime.humanize import short_duration
from ..store import RUN_STATUSES, RunStore, open_store
from ..view.css import PALETTE
from ..view.text import clock
from .compare_view import CompareView

log = logging.getLogger(__name__)

ALL = "(all)"
SORTABLE = (
    ("run_id", "Run"),
    ("pipeline", "Pipeline"),
    ("status", "Status"),
    ("gates_resolved", "Gates"),
    ("started", "Started"),
    ("duration", "Duration"),
    ("inputs", "Inputs"),
)
# Each column's CSS class (grid cells of one column share it), so the stylesheet can drop
# the least needed columns when the list is narrow (container queries below).
COLUMN_CSS = ["select", *(c for c, _ in SORTABLE), "actions"]

# Fits 1000 px (a notebook in a 1000 px window): the run id and pipeline shrink with an ellipsis
# (full text on hover), the actions column always holds its buttons whole. Narrower, inputs and
# then duration give way rather than any button or header being cut. An interrupted run's row is
# wider (a second chip, a fourth button): the status column is as wide as its widest chip (the
# "interrupted" chip goes under the status), and the actions column may narrow to its widest
# button, the row's buttons wrapping onto a second line rather than running past the grid.
# Column widths, and the widths of the list below which columns give way, least needed first.
COLUMN_WIDTHS = {
    "select": "22px",
    "run_id": "max-content",
    "pipeline": "minmax(64px, 1fr)",
    "status": "min-content",
    "gates_resolved": "max-content",
    "started": "max-content",
    "duration": "max-content",
    "inputs": "minmax(40px, 1fr)",
    "actions": "minmax(min-content, max-content)",
}
NARROWER = (  # (container width in px, what changes at or below it)
    (900, "inputs"),
    (800, "duration"),
    (700, "started-short"),  # the year and the seconds go
    (640, "pipeline"),
    (580, "gates_resolved"),
)


def _column_rules() -> list[str]:
    """The grid's columns, then one container query per step in NARROWER."""
    hidden: list[str] = []

    def template() -> str:
        return " ".join(w for c, w in COLUMN_WIDTHS.items() if c not in hidden)

    rules = [f".prodex-runs-grid {{ grid-template-columns: {template()}; }}"]
    for width, change in NARROWER:
        if change == "started-short":
            body = ".prodex-runs-grid .prodex-started-extra { display: none; }"
        else:
            hidden.append(change)
            body = (
                f".prodex-runs-grid {{ grid-template-columns: {template()}; }}\n"
                f"  .prodex-runs-grid .prodex-runs-col-{change} {{ display: none !important; }}"
            )
        rules.append(f"@container (max-width: {width}px) {{\n  {body}\n}}")
    return rules


CSS = (
    PALETTE
    + """
.prodex-runs-list { font-family: var(--jp-ui-font-family); font-size: var(--jp-ui-font-size1, 13px);
  color: var(--jp-ui-font-color1); gap: 6px; width: 100%; container-type: inline-size; }
.prodex-runs-list .prodex-style { display: none; }
.prodex-runs-toolbar { flex-wrap: wrap; gap: 4px 8px; }
.prodex-runs-grid { border: 1px solid var(--jp-border-color2); border-radius: 8px;
  padding: 4px 6px; overflow-x: auto; display: grid; gap: 2px 6px; align-items: center; }
.prodex-runs-grid .widget-html, .prodex-runs-grid .widget-checkbox { margin: 0; min-width: 0; }
.prodex-runs-grid .widget-html-content { line-height: 26px; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.prodex-runs-head.jupyter-button { font-weight: 600; background: transparent; text-align: left;
  padding: 0 2px; width: auto; min-width: max-content; overflow: visible; }
.prodex-runs-grid .prodex-runs-col-status .widget-html-content { white-space: normal; }
.prodex-runs-actions { gap: 4px; flex-wrap: wrap; }
.prodex-runs-actions .jupyter-button { width: auto; min-width: max-content; padding: 0 7px;
  margin: 0; overflow: visible; }
.prodex-runs-list .prodex-chip { border-radius: 10px; padding: 1px 8px; font-size: 12px;
  font-weight: 600; white-space: nowrap; }
.prodex-chip-completed { background: #dcfce7; color: #14532d; }
.prodex-chip-completed_partial { background: #fef3c7; color: #713f12; }
.prodex-chip-failed { background: #fee2e2; color: #7f1d1d; }
.prodex-chip-executing { background: #dbeafe; color: #1e3a8a; }
.prodex-chip-pending { background: #e2e8f0; color: #1e293b; }
.prodex-chip-interrupted { background: #ffedd5; color: #7c2d12; }
.prodex-runs-list .prodex-mono { font-family: var(--jp-code-font-family); font-size: 12px; }
.prodex-runs-message .widget-html-content { color: var(--jp-ui-font-color1); }
.prodex-runs-error .widget-html-content { color: var(--prodex-red); }
.prodex-runs-empty { padding: 8px 10px; border: 1px dashed var(--jp-border-color1);
  border-radius: 8px; line-height: 1.5; white-space: normal; }
.prodex-confirm-delete { border: 1px solid var(--prodex-red); background: var(--prodex-red-bg);
  border-radius: 8px; padding: 6px 10px; gap: 8px; align-items: center; }
.prodex-confirm-delete .widget-html-content { color: var(--jp-ui-font-color1); }
"""
    + "\n".join(_column_rules())
)


def _esc(value: Any) -> str:
    import html

    return html.escape(str(value), quote=True)


@contextlib.contextmanager
def _no_auto_display() -> Iterator[None]:
    """Opening a run from the list shows it here, not again through the automatic display."""
    try:
        from .display import suppressed
    except ImportError:  # the display hooks are optional
        yield
        return
    with suppressed():
        yield


class _Row:
    """The widgets of one visible line, reused across pages, sorts and filters."""

    def __init__(self, owner: RunsList) -> None:
        self.run_id: str | None = None
        self.select = w.Checkbox(value=False, indent=False, layout=w.Layout(width="20px"))
        self.cells = [w.HTML() for _ in SORTABLE]
        self.open = w.Button(description="Open", tooltip="Show this run's view below the list")
        self.compare = w.Button(description="Compare", tooltip="Compare with the ticked runs")
        self.delete = w.Button(description="Delete", tooltip="Delete this whole run (asks first)")
        self.resume = w.Button(
            description="Resume",
            button_style="primary",
            tooltip="Nobody executes this run and it could go on: continue it in this kernel",
        )
        self.resume.add_class("prodex-runs-resume")
        self.resume.on_click(lambda _: owner.resume_run(self.run_id))
        self.open.add_class("prodex-runs-open")
        self.compare.add_class("prodex-runs-compare")
        self.delete.add_class("prodex-runs-delete")
        self.actions = w.HBox([self.open, self.compare, self.delete])
        self.actions.add_class("prodex-runs-actions")
        self.select.observe(lambda change: owner._on_select(self.run_id, change["new"]), "value")
        self.open.on_click(lambda _: owner.open_run(self.run_id))
        self.compare.on_click(lambda _: owner.compare_with_selected(self.run_id))
        self.delete.on_click(lambda _: owner.ask_delete(self.run_id))
        self.widgets = [self.select, *self.cells, self.actions]
        for widget, column in zip(self.widgets, COLUMN_CSS, strict=True):
            widget.add_class(f"prodex-runs-col-{column}")

    def show(self, row: Any | None, selected: bool) -> None:
        visible = row is not None
        for widget in self.widgets:
            widget.layout.display = None if visible else "none"
        if row is None:
            self.run_id = None
            return
        self.run_id = None  # no selection callbacks while the checkbox is set below
        self.select.value = selected
        self.run_id = row.run_id
        status = (
            f'<span class="prodex-chip prodex-chip-{_esc(row.status)}">{_esc(row.status)}</span>'
        )
        if row.executing:
            status += '\u00a0<span title="a process is executing this run">●</span>'
        if row.interrupted:
            status += (
                ' <span class="prodex-chip prodex-chip-interrupted" title="no process executes '
                'this run any more, and it could go on: Resume continues it">interrupted</span>'
            )
        actions = (self.open, self.compare, self.delete)  # Resume first, on interrupted runs
        actions = (self.resume, *actions) if row.interrupted else actions
        if self.actions.children != actions:
            self.actions.children = actions
        values = [
            f'<span class="prodex-mono" title="{_esc(row.run_id)}">{_esc(short_run_id(row.run_id))}'
            "</span>",
            f'<span title="template {_esc(row.pipeline)}, fingerprint {_esc(row.fingerprint)}">'
            f"{_esc(row.pipeline)}</span>",
            status,
            _esc(row.gates_resolved),
            started_html(clock(row.started.isoformat())),
            _esc(short_duration(row.duration.total_seconds())),
            f'<span title="{_esc(row.inputs)}">{_esc(row.inputs)}</span>',
        ]
        for cell, value in zip(self.cells, values, strict=True):
            cell.value = value
        self.delete.disabled = bool(row.executing)
        self.delete.tooltip = (
            "a process is executing this run: it cannot be deleted" if row.executing else ""
        )


class RunsList(w.VBox):
    """The runs list: `RunsList(px.runs())`, or `RunsList(store=...)` for every run in a store."""

    def __init__(
        self,
        table: pd.DataFrame | None = None,
        *,
        store: RunStore | str | None = None,
        page_size: int = 25,
        open_view: Callable[[Any], w.Widget] | None = None,
    ) -> None:
        attrs = table.attrs if table is not None else {}
        self.store = open_store(store if store is not None else attrs.get("store"))
        self.page_size = page_size
        self.page = 0
        self.sort_by, self.ascending = "started", False
        self.selected: list[str] = []
        self.table: pd.DataFrame = table if table is not None else runs(store=self.store)
        self._open_view = open_view or _run_view
        pipelines = attrs.get("pipeline") or []
        statuses = attrs.get("status") or []

        self.pipeline_filter = w.Dropdown(description="Pipeline", layout=w.Layout(width="260px"))
        self.status_filter = w.Dropdown(
            description="Status", options=[ALL, *RUN_STATUSES], layout=w.Layout(width="230px")
        )
        self._set_pipeline_options(pipelines[0] if len(pipelines) == 1 else ALL)
        self.status_filter.value = statuses[0] if len(statuses) == 1 else ALL
        self.pipeline_filter.observe(self._on_filter, "value")
        self.status_filter.observe(self._on_filter, "value")
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.compare_button = w.Button(description="Compare selected", disabled=True)
        self.compare_button.on_click(lambda _: self.compare_with_selected(None))
        toolbar = w.HBox(
            [self.pipeline_filter, self.status_filter, self.refresh_button, self.compare_button]
        )
        toolbar.add_class("prodex-runs-toolbar")

        self.headers: dict[str, w.Button] = {}
        head: list[w.Widget] = [w.HTML("")]
        for column, label in SORTABLE:
            button = w.Button(description=label)
            button.add_class("prodex-runs-sort")
            button.on_click(lambda _, c=column: self.sort(c))
            self.headers[column] = button
            head.append(button)
        head.append(w.HTML(""))
        for widget, column in zip(head, COLUMN_CSS, strict=True):
            widget.add_class("prodex-runs-head")
            widget.add_class(f"prodex-runs-col-{column}")
        self.rows = [_Row(self) for _ in range(page_size)]
        # The columns come from the stylesheet (not the Layout), so that narrow containers can
        # change them.
        self.grid = w.GridBox(
            head + [widget for row in self.rows for widget in row.widgets],
            layout=w.Layout(width="100%"),
        )
        self.grid.add_class("prodex-runs-grid")

        self.prev_button = w.Button(description="‹ Prev", layout=w.Layout(width="80px"))
        self.next_button = w.Button(description="Next ›", layout=w.Layout(width="80px"))
        self.prev_button.on_click(lambda _: self.go(self.page - 1))
        self.next_button.on_click(lambda _: self.go(self.page + 1))
        self.page_label = w.HTML()
        self.message = w.HTML()
        self.message.add_class("prodex-runs-message")
        self.empty = w.HTML()  # says where the store is when it holds no runs
        self.empty.add_class("prodex-runs-empty-note")
        self.detail = w.VBox()
        self.detail.add_class("prodex-runs-detail")
        style = w.HTML(f"<style>{CSS}</style>")
        style.add_class("prodex-style")
        super().__init__(
            [
                style,
                toolbar,
                self.empty,
                self.grid,
                w.HBox([self.prev_button, self.page_label, self.next_button]),
                self.message,
                self.detail,
            ]
        )
        self.add_class("prodex-runs-list")
        self.render()

    # ----------------------------------------------------------------- view
    @property
    def view(self) -> pd.DataFrame:
        """The runs shown, across pages: filtered and sorted (a plain DataFrame)."""
        frame = pd.DataFrame(self.table)
        if self.pipeline_filter.value not in (ALL, None):
            frame = frame[frame["pipeline"] == self.pipeline_filter.value]
        if self.status_filter.value != ALL:
            frame = frame[frame["status"] == self.status_filter.value]
        key = self.sort_by
        if key == "gates_resolved":  # "k / n": sort by k, then n, as numbers
            parts = frame["gates_resolved"].str.split(" / ", expand=True).astype(int)
            order = parts.sort_values([0, 1], ascending=self.ascending, kind="stable").index
            return frame.loc[order]
        return frame.sort_values(key, ascending=self.ascending, kind="stable")

    def render(self) -> None:
        view = self.view
        pages = max(1, -(-len(view) // self.page_size))
        self.page = min(max(self.page, 0), pages - 1)
        start = self.page * self.page_size
        shown = list(view.iloc[start : start + self.page_size].itertuples(index=False))
        for i, row in enumerate(self.rows):
            item = shown[i] if i < len(shown) else None
            row.show(item, item is not None and item.run_id in self.selected)
        for column, label in SORTABLE:
            arrow = (" ▲" if self.ascending else " ▼") if column == self.sort_by else ""
            self.headers[column].description = label + arrow
        end = start + len(shown)
        self.page_label.value = (
            f"&nbsp;{start + 1 if shown else 0}–{end} of {len(view)} runs"
            + (f" ({len(self.table)} in all)" if len(view) != len(self.table) else "")
            + "&nbsp;"
        )
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= pages - 1
        self.compare_button.disabled = len(self.selected) < 2
        self.empty.value = "" if len(self.table) else empty_html(str(self.store.root))
        self.grid.layout.display = "none" if not len(self.table) else None

    @property
    def visible_run_ids(self) -> list[str]:
        return [row.run_id for row in self.rows if row.run_id is not None]

    def sort(self, column: str) -> None:
        if column == self.sort_by:
            self.ascending = not self.ascending
        else:
            self.sort_by, self.ascending = column, column not in ("started", "duration")
        self.page = 0
        self.render()

    def go(self, page: int) -> None:
        self.page = page
        self.render()

    def refresh(self) -> None:
        """Re-read the runs from the store (keeps sort, filters and still-existing selection)."""
        self.table = runs(store=self.store)
        self.selected = [r for r in self.selected if r in set(self.table["run_id"])]
        current = self.pipeline_filter.value
        self._set_pipeline_options(current)
        self.render()

    def _set_pipeline_options(self, value: str) -> None:
        names = sorted(set(self.table["pipeline"])) if len(self.table) else []
        self._quiet = True  # one render after the options change, not one per trait event
        try:
            self.pipeline_filter.options = [ALL, *names]
            self.pipeline_filter.value = value if value in names else ALL
        finally:
            self._quiet = False

    def _on_filter(self, _change: Any) -> None:
        if getattr(self, "_quiet", False):
            return
        self.page = 0
        self.render()

    def _on_select(self, run_id: str | None, value: bool) -> None:
        if run_id is None:
            return
        if value and run_id not in self.selected:
            self.selected.append(run_id)
        elif not value and run_id in self.selected:
            self.selected.remove(run_id)
        self.compare_button.disabled = len(self.selected) < 2

    def _say(self, text: str, error: bool = False) -> None:
        self.message.value = _esc(text)
        if error:
            self.message.add_class("prodex-runs-error")
        else:
            self.message.remove_class("prodex-runs-error")

    # -------------------------------------------------------------- actions
    def open_run(self, run_id: str | None) -> None:
        """Show the run's view below the list."""
        if run_id is None:
            return
        try:
            with _no_auto_display():
                run = load_run(run_id, self.store)
            self.detail.children = [self._open_view(run)]
            self._say(f"opened {run_id}")
        except Exception as exc:
            self._say(f"could not open run {run_id}: {exc}", error=True)

    def resume_run(self, run_id: str | None) -> None:
        """Continue an interrupted run in this kernel, and show its view below the list."""
        if run_id is None:
            return
        try:
            with _no_auto_display():
                run = load_run(run_id, self.store)
            run.resume()
            self.detail.children = [self._open_view(run)]
            self._say(f"resumed {run_id}")
        except Exception as exc:
            self._say(f"could not resume run {run_id}: {exc}", error=True)
        self.refresh()

    def compare_with_selected(self, run_id: str | None) -> None:
        """Compare `run_id` with the selected runs (or the selected runs alone), oldest first."""
        ids = list(dict.fromkeys([*self.selected, *([run_id] if run_id else [])]))
        if len(ids) < 2:
            self._say(
                f"select runs of the same pipeline (tick them) to compare with {run_id}"
                if run_id
                else "select at least two runs to compare"
            )
            return
        started = dict(zip(self.table["run_id"], self.table["started"], strict=True))
        ids.sort(key=lambda r: started.get(r, pd.Timestamp.min.tz_localize("UTC")))
        try:
            comparison = compare(*ids, store=self.store)
        except Exception as exc:
            self._say(f"cannot compare {', '.join(ids)}: {exc}", error=True)
            return
        self.detail.children = [CompareView(comparison)]
        self._say(f"comparing {len(ids)} runs")

    def ask_delete(self, run_id: str | None) -> None:
        """Ask before deleting: a confirmation bar replaces the detail area."""
        if run_id is None:
            return
        row = self.table[self.table["run_id"] == run_id]
        what = f"{run_id} of {row['pipeline'].iloc[0]}" if len(row) else run_id
        question = w.HTML(
            f"Delete run <b>{_esc(what)}</b>? Its events and the artifacts no other run uses "
            "are removed; other runs are untouched."
        )
        yes = w.Button(description="Delete", button_style="danger")
        no = w.Button(description="Cancel")
        yes.add_class("prodex-confirm-yes")
        no.add_class("prodex-confirm-no")
        yes.on_click(lambda _: self.delete(run_id))
        no.on_click(lambda _: self._cancel_delete())
        bar = w.HBox([question, yes, no])
        bar.add_class("prodex-confirm-delete")
        self.detail.children = [bar]

    def _cancel_delete(self) -> None:
        self.detail.children = []
        self._say("nothing deleted")

    def delete(self, run_id: str) -> None:
        """Delete the run now (the Delete button asks first, through `ask_delete`)."""
        try:
            deletion = self.store.delete_run(run_id)
        except Exception as exc:
            self.detail.children = []
            self._say(str(exc), error=True)
            self.refresh()
            return
        self.detail.children = []
        if run_id in self.selected:
            self.selected.remove(run_id)
        self.refresh()
        self._say(str(deletion))


def started_html(stamp: str) -> str:
    """'2026-12-02 08:00:54' with its year and seconds marked, so a narrow list can drop them
    ('12-02 08:00'); the whole time shows on hover."""
    if len(stamp) != 19:
        return _esc(stamp)
    return (
        f'<span title="{_esc(stamp)}"><span class="prodex-started-extra">{stamp[:5]}</span>'
        f'{stamp[5:16]}<span class="prodex-started-extra">{stamp[16:]}</span></span>'
    )


def short_run_id(run_id: str) -> str:
    """The part of a run id that tells runs apart in a narrow column: 'run-20261202-080054-e9524f'
    reads '…080054-e9524f' (its date is in the Started column; the full id shows on hover)."""
    parts = run_id.split("-")
    if len(parts) == 4 and parts[0] == "run" and len(parts[1]) == 8:
        return "…" + "-".join(parts[2:])
    return run_id


def empty_html(store_root: str) -> str:
    """What an empty list says: where it looked, and how runs get there."""
    return (
        '<div class="prodex-runs-empty">No runs yet in the store at '
        f'<span class="prodex-mono">{_esc(store_root)}</span>.<br>Runs started with '
        "<code>tpl.run()</code> from this folder land here (<code>store=</code> or "
        "<code>PRODEX_HOME</code> choose another store).</div>"
    )


def _run_view(run: Any) -> w.Widget:
    """The run view of the other widgets engineer, or the run's text when it is unavailable."""
    try:
        from .run_view import RunView
    except ImportError:
        return w.HTML(f"<pre>{_esc(repr(run))}</pre>")
    return RunView(run)


# ------------------------------------------------------------- notebook display
_registered = False


def _display_runs_table(table: RunsTable) -> None:
    from IPython.display import display

    display(RunsList(table))


def register_display() -> bool:
    """Show `px.runs()` results (and `px.compare(...)` results) as widgets in a kernel."""
    global _registered
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    if not _registered:
        from ..runtime.compare import Comparison
        from .compare_view import display_comparison

        formatter = shell.display_formatter.ipython_display_formatter
        formatter.for_type(RunsTable, _display_runs_table)
        formatter.for_type(Comparison, display_comparison)
        _registered = True
    return True


register_display()
