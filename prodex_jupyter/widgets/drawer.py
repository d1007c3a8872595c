"""The derivation drawer: for the node clicked on the canvas, its value, the code that derived
it, the files it came from, the explanation and the gates it passed; or why it has no value."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as w
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, SqlLexer

from ..runtime import why_not_produced
from ..runtime.humanize import human_size
from ..store import Result, RunState
from .canvas import display_states
from .evidence_view import table_html
from .text import (
    GATE_TONES,
    NODE_TONES,
    chip,
    clock,
    esc,
    file_name,
    short_hash,
    value_text,
)

if TYPE_CHECKING:
    from ..runtime import Run

PREVIEW_ROWS = 10
# Token classes, coloured by the theme's own code-editor colours (style.py: CODE_CSS), so code
# reads like the notebook's cells in a light theme and a dark one alike.
_FORMATTER = HtmlFormatter(cssclass="prodex-hl", nowrap=False)
KIND_NAMES = {"source": "source", "sql": "SQL", "python": "Python", "output": "output"}


def highlight_code(code: str, language: str) -> str:
    """Code as HTML with pygments' token classes (coloured by the run view's stylesheet)."""
    lexer = SqlLexer() if language == "sql" else PythonLexer()
    body = highlight(code, lexer, _FORMATTER)
    return f'<div class="prodex-code prodex-code-{language}">{body}</div>'


def code_language(state: RunState, node_id: str, code: str) -> str:
    """SQL or Python: python nodes are Python; outputs and sql nodes are SQL unless the code
    reads as a Python function."""
    kind = state.nodes[node_id].kind
    if kind == "python" or code.lstrip().startswith(("def ", "@", "import ", "from ")):
        return "python"
    return "sql"


class Drawer(w.VBox):
    """Hidden until a node is chosen; `show(node_id)` opens it, `update(state)` keeps it current."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.node_id: str | None = None
        self.title = w.HTML()
        self.title.add_class("prodex-drawer-title")
        self.close_button = w.Button(
            description="Close", icon="times", layout=w.Layout(width="auto", height="28px")
        )
        self.close_button.add_class("prodex-drawer-close")
        self.close_button.on_click(lambda _b: self.hide())
        head = w.HBox(
            [self.title, self.close_button], layout=w.Layout(justify_content="space-between")
        )
        head.add_class("prodex-drawer-head")
        self.body = w.HTML()
        self.body.add_class("prodex-drawer-body")
        self._on_hide: list[Callable[[], None]] = []
        self._key: Any = None
        super().__init__([head, self.body], layout=w.Layout(display="none"))
        self.add_class("prodex-drawer")

    @property
    def is_open(self) -> bool:
        return self.layout.display != "none"

    def on_hide(self, callback: Callable[[], None]) -> None:
        self._on_hide.append(callback)

    def show(self, node_id: str, state: RunState | None = None) -> None:
        self.node_id = node_id
        self._key = None
        self.update(state or self.run.state)
        self.layout.display = "flex"

    def hide(self) -> None:
        self.layout.display = "none"
        self.node_id = None
        for callback in list(self._on_hide):
            callback()

    def update(self, state: RunState) -> None:
        node_id = self.node_id
        if node_id is None or node_id not in state.nodes:
            return
        node = state.nodes[node_id]
        gate = state.gates.get(node.gate_id) if node.gate_id else None
        shown = display_states(state)[node_id]
        # Re-render only when something this drawer shows changed.
        key = (
            node_id,
            shown,
            node_id in state.results,
            gate.status if gate else None,
            len(gate.decisions) if gate else 0,
            node.error,
        )
        if key == self._key:
            return
        self._key = key
        self.title.value = (
            f'<span class="prodex-title">{esc(node_id)}</span>'
            f'<span class="prodex-subtitle">{esc(KIND_NAMES.get(node.kind, node.kind))} node'
            "</span> "
            f"{chip(shown, NODE_TONES.get(shown, 'grey'), 'prodex-node-state')}"
        )
        self.body.value = self._body(state, node_id)

    # ---------------------------------------------------------------- content
    def _body(self, state: RunState, node_id: str) -> str:
        result = state.results.get(node_id)
        parts: list[str] = []
        if result is None:
            reason = why_not_produced(state, node_id)
            failed = state.nodes[node_id].state == "failed"
            parts.append(
                f'<div class="prodex-why{" prodex-why-failed" if failed else ""}">'
                f"{esc(reason)}</div>"
            )
            if failed and state.nodes[node_id].traceback:
                parts.append(
                    "<details><summary>Traceback</summary>"
                    f'<pre class="prodex-traceback">{esc(state.nodes[node_id].traceback)}'
                    "</pre></details>"
                )
            planned = _template_code(state, node_id)
            if planned:
                title = "Derivation (failed)" if failed else "Derivation (not run yet)"
                parts.append(f"<h4>{title}</h4>")
                parts.append(highlight_code(planned, code_language(state, node_id, planned)))
            explanation = _template_explanation(state, node_id)
            if explanation:
                parts.append(
                    f'<h4>Explanation</h4><div class="prodex-explanation">{esc(explanation)}</div>'
                )
        else:
            parts.append("<h4>Value</h4>")
            parts.append(self._value_html(result))
            if result.derivation_code:
                language = code_language(state, node_id, result.derivation_code)
                parts.append(f"<h4>Derivation ({'SQL' if language == 'sql' else 'Python'})</h4>")
                parts.append(highlight_code(result.derivation_code, language))
            if result.derivation_explanation:
                parts.append(
                    '<h4>Explanation</h4><div class="prodex-explanation">'
                    f"{esc(result.derivation_explanation)}</div>"
                )
            parts.append("<h4>Source files</h4>")
            parts.append(_sources_html(result.sources))
            parts.append("<h4>Gates passed</h4>")
            parts.append(_gates_passed_html(state, result.gates_passed))
            parts.append(
                '<div class="prodex-section-note" style="margin-top:8px">'
                f"Produced at {esc(clock(result.produced_at))} in {result.seconds:.3f} s.</div>"
            )
        own_gate = state.gates.get(state.nodes[node_id].gate_id or "")
        if own_gate is not None:
            parts.append("<h4>This node's gate</h4>")
            parts.append(_own_gate_html(own_gate))
        return "".join(parts)

    def _value_html(self, result: Result) -> str:
        if result.value_kind == "scalar":
            return f'<div class="prodex-value-scalar">{esc(value_text(result.value))}</div>'
        rows = result.rows or 0
        try:
            table = self.run.store.load_table(result.artifact).slice(0, PREVIEW_ROWS)
            preview = table.to_pylist()
            columns = table.column_names
        except Exception as exc:  # an artifact deleted behind the store's back
            return f'<div class="prodex-error">table not loadable: {esc(exc)}</div>'
        n_cols = len(result.columns) or len(columns)
        note = (
            f'<div class="prodex-section-note">{rows:,} rows × {n_cols} columns'
            + (f", first {len(preview)} shown" if rows > len(preview) else "")
            + f' · artifact <span class="prodex-mono">{esc(short_hash(result.artifact or ""))}'
            "</span></div>"
        )
        return note + table_html(preview, columns)


def _sources_html(sources: Any) -> str:
    if not sources:
        return '<div class="prodex-section-note">No source files (an in-memory input).</div>'
    rows = "".join(
        f'<tr><td title="{esc(s.get("path", ""))}">{esc(file_name(str(s.get("path", ""))))}</td>'
        f'<td class="prodex-num">{esc(human_size(s.get("size")))}</td>'
        f'<td class="prodex-mono">{esc(short_hash(str(s.get("sha256", ""))))}</td>'
        f"<td>{esc(s.get('node_id', ''))}</td>"
        f'<td class="prodex-section-note">{esc(s.get("path", ""))}</td></tr>'
        for s in sources
    )
    return (
        '<div class="prodex-table-wrap"><table class="prodex-table prodex-sources"><thead><tr>'
        "<th>file</th><th>size</th><th>sha256</th><th>node</th><th>path</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


def _gates_passed_html(state: RunState, passed: Any) -> str:
    if not passed:
        return '<div class="prodex-section-note">No gate upstream of this value.</div>'
    items = []
    for ref in passed:
        gate = state.gates.get(ref.get("gate_id", ""))
        name = gate.name if gate else ref.get("gate_id", "")
        status = ref.get("status", "")
        items.append(
            f"<li>{chip(status, GATE_TONES.get(status, 'grey'))} <b>{esc(name)}</b> "
            f"<code>{esc(ref.get('gate_id', ''))}</code>"
            f' <span class="prodex-decision">by {esc(ref.get("by", "?"))} at '
            f"{esc(clock(str(ref.get('at', ''))))}</span></li>"
        )
    return '<ul class="prodex-gates-passed">' + "".join(items) + "</ul>"


def _own_gate_html(gate: Any) -> str:
    head = (
        f"{chip(gate.status.replace('_', ' '), GATE_TONES.get(gate.status, 'grey'))} "
        f"<b>{esc(gate.name)}</b> <code>{esc(gate.gate_id)}</code>"
    )
    history = "".join(
        f"<li>{esc(d.decision)} by <b>{esc(d.by)}</b> at {esc(clock(d.at))}"
        + (f" — “{esc(d.note)}”" if d.note else "")
        + "</li>"
        for d in gate.decisions
    )
    summary = f'<div class="prodex-summary">{esc(gate.summary)}</div>' if gate.summary else ""
    return f"<div>{head}</div>{summary}" + (f"<ul>{history}</ul>" if history else "")


def _template_spec(state: RunState, node_id: str) -> Mapping[str, Any]:
    for spec in state.template.get("nodes", ()):
        if spec.get("id") == node_id:
            return spec
    return {}


def _template_code(state: RunState, node_id: str) -> str:
    spec = _template_spec(state, node_id)
    code = spec.get("sql") or spec.get("code") or ""
    if not code and spec.get("of"):
        code = f"SELECT * FROM {spec['of']}"
    if not code and spec.get("function"):
        code = f"# calls {spec['function']}"
    return str(code).strip()


def _template_explanation(state: RunState, node_id: str) -> str:
    return str(_template_spec(state, node_id).get("explanation") or "")
