"""What the derivation drawer shows for a node: its value, the code that derived it (coloured
by pygments), the files it came from, the explanation and the gates it passed; or why it has no
value. HTML strings over a RunState, for the notebook's drawer and the JupyterLab run panel."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer, SqlLexer

from ..runtime import why_not_produced
from ..runtime.humanize import human_size
from ..store import Result, RunState
from .evidence import table_html
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

PREVIEW_ROWS = 10
TableLoader = Callable[[str], pa.Table]  # artifact sha256 -> the stored table
# Token classes, coloured by the theme's own code-editor colours (css.py: CODE_CSS), so code
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


def drawer_title_html(state: RunState, node_id: str, shown: str) -> str:
    """The drawer's title: node id, kind and its state on the canvas."""
    node = state.nodes[node_id]
    return (
        f'<span class="prodex-title">{esc(node_id)}</span>'
        f'<span class="prodex-subtitle">{esc(KIND_NAMES.get(node.kind, node.kind))} node'
        "</span> "
        f"{chip(shown, NODE_TONES.get(shown, 'grey'), 'prodex-node-state')}"
    )


def drawer_html(state: RunState, node_id: str, load_table: TableLoader) -> str:
    """The drawer's body for one node: the value and its lineage, or why there is none."""
    result = state.results.get(node_id)
    parts: list[str] = []
    if result is None:
        reason = why_not_produced(state, node_id)
        failed = state.nodes[node_id].state == "failed"
        parts.append(
            f'<div class="prodex-why{" prodex-why-failed" if failed else ""}">{esc(reason)}</div>'
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
        parts.append(value_html(result, load_table))
        if state.nodes[node_id].kind == "source":
            parts.append("<h4>What it read</h4>")
            parts.append(read_html(state, node_id))
        elif result.derivation_code:
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


def read_html(state: RunState, node_id: str) -> str:
    """What a source node read: the file (or DataFrame snapshot), its format, rows, size and
    content hash, and when; a source's "derivation" is this, not code."""
    record = state.inputs.get(node_id)
    if record is None:
        return '<div class="prodex-section-note">No input recorded for this source.</div>'
    what = (
        "a DataFrame handed in at run time, snapshotted to Parquet"
        if record.snapshot
        else f'<span class="prodex-mono">{esc(record.path)}</span>'
    )
    fmt = f" ({esc(record.format)})" if record.format and not record.snapshot else ""
    rows = f"{record.rows:,} row{'s' if record.rows != 1 else ''}"
    return (
        f'<div class="prodex-read">Read {what}{fmt}: {rows}, {esc(human_size(record.size))}, '
        f'sha256 <span class="prodex-mono" title="{esc(record.sha256)}">'
        f"{esc(short_hash(record.sha256))}</span>, at {esc(clock(record.at))}.</div>"
    )


def value_html(result: Result, load_table: TableLoader) -> str:
    """A scalar, or a table's shape and its first rows (read from the stored artifact)."""
    if result.value_kind == "scalar":
        return f'<div class="prodex-value-scalar">{esc(value_text(result.value))}</div>'
    rows = result.rows or 0
    try:
        table = load_table(result.artifact or "").slice(0, PREVIEW_ROWS)
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
