"""What the Run Information panel shows: status and what the run waits for, `Gates resolved:
k / n`, nodes produced, start, elapsed time, inputs consumed (file, rows, size, short hash) and
the run and template ids. HTML rows over a RunState, for the notebook and JupyterLab alike."""

from __future__ import annotations

from ..runtime.humanize import human_size
from ..store import RunState
from .text import (
    STATUS_TONES,
    between,
    chip,
    clock,
    duration,
    esc,
    file_name,
    short_hash,
)

FINAL = ("completed", "completed_partial", "failed")


def rows_text(n: int) -> str:
    return f"{n:,} row{'s' if n != 1 else ''}"


INPUTS_SHOWN = 4
ROWS = ("status", "gates", "nodes", "started", "elapsed", "inputs", "ids")


def status_note(state: RunState) -> str:
    """A few words under the status: what the run is doing or waiting for."""
    pending = state.pending_gates
    if state.status == "executing":
        parts = []
        running = sum(node.state == "running" for node in state.nodes.values())
        if running:
            parts.append(f"computing {running} node" + ("s" if running > 1 else ""))
        if pending:
            n = len(pending)
            parts.append(f"waiting for a decision on {n} gate" + ("s" if n > 1 else ""))
        return " · ".join(parts)
    if state.status == "completed_partial":
        rejected = [g.gate_id for g in state.gates.values() if g.status == "rejected"]
        return "rejected: " + ", ".join(rejected) if rejected else "some nodes not produced"
    if state.status == "failed":
        failed = [n for n, node in state.nodes.items() if node.state == "failed"]
        return "failed: " + ", ".join(failed) if failed else ""
    return ""


def elapsed_text(state: RunState) -> str:
    """A running clock while the run computes, the final figure once it ended, and the time of
    the last event while it waits for a person."""
    if state.status in FINAL:
        return duration(between(state.created_at, state.updated_at))
    if state.pending_gates and not any(node.state == "running" for node in state.nodes.values()):
        return (
            f"{duration(between(state.created_at, state.updated_at))}, "
            f"waiting since {clock(state.updated_at)}"
        )
    return duration(between(state.created_at))


def elapsed_html(state: RunState) -> str:
    return f'<div class="prodex-row">Elapsed: <b>{esc(elapsed_text(state))}</b></div>'


def run_info_rows(state: RunState) -> dict[str, str]:
    """Every row of the panel as HTML, keyed by `ROWS`."""
    produced, total = len(state.results), len(state.nodes)
    note = status_note(state)
    return {
        "status": '<div class="prodex-status-line">'
        f"{chip(state.status, STATUS_TONES.get(state.status, 'grey'), 'prodex-status-chip')}"
        + (f'<span class="prodex-status-note">{esc(note)}</span>' if note else "")
        + "</div>",
        "gates": gates_html(state),
        "nodes": f'<div class="prodex-row">Nodes produced: <b>{produced} / {total}</b></div>',
        "started": f'<div class="prodex-row">Started: <b>{esc(clock(state.created_at))}</b></div>',
        "elapsed": elapsed_html(state),
        "inputs": inputs_html(state),
        "ids": f'<div class="prodex-row prodex-ids">Run <span class="prodex-mono">'
        f"{esc(state.run_id)}</span><br>Template <b>{esc(state.template_id)}</b> "
        f'<span class="prodex-mono">{esc(state.fingerprint[:12])}</span></div>',
    }


def deleted_sentence(run_id: str, store_root: str) -> str:
    """What a view of a run deleted elsewhere says, in place of acting on it."""
    return (
        f"Run {run_id} was deleted from the store at {store_root}. This view shows it as it "
        "last was; nothing can be decided on it."
    )


def deleted_status_html() -> str:
    return (
        '<div class="prodex-status-line">'
        f"{chip('deleted', 'red', 'prodex-status-chip')}"
        '<span class="prodex-status-note">no longer in the store</span></div>'
    )


def gates_text(state: RunState) -> str:
    """`Gates resolved: k / n`, and how many of those were rejected: a rejection resolves a gate
    but is not a pass, so it is said apart (`Gates resolved: 1 / 1 · 1 rejected`)."""
    k, n = state.gates_resolved
    rejected = sum(g.status == "rejected" for g in state.gates.values())
    return f"Gates resolved: {k} / {n}" + (f" · {rejected} rejected" if rejected else "")


def gates_html(state: RunState) -> str:
    """The gates row and its bar: a green segment for confirmed gates, a red one for rejected."""
    k, n = state.gates_resolved
    rejected = sum(g.status == "rejected" for g in state.gates.values())
    confirmed = k - rejected
    counts = f"<b>{k} / {n}</b>" + (
        f' · <b class="prodex-rejected-count">{rejected} rejected</b>' if rejected else ""
    )
    bar = "".join(
        f'<span class="prodex-progress-{css}" style="width:{100 * part / n:.0f}%"></span>'
        for css, part in (("confirmed", confirmed), ("rejected", rejected))
        if n and part
    )
    return (
        f'<div class="prodex-row">Gates resolved: {counts}</div>'
        f'<div class="prodex-progress" title="{confirmed} confirmed, {rejected} rejected, '
        f'{n - k} open">{bar}</div>'
    )


def inputs_html(state: RunState) -> str:
    if not state.inputs:
        return (
            '<div class="prodex-inputs"><div>Inputs consumed:</div>'
            '<div class="prodex-input-meta">none yet</div></div>'
        )
    rows = []
    records = sorted(state.inputs.values(), key=lambda r: r.node_id)
    for record in records:
        what = "a DataFrame" if record.snapshot else file_name(record.path)
        rows.append(
            f'<div class="prodex-input" title="{esc(record.path)}">'
            f'<div class="prodex-input-name"><span class="prodex-input-node">'
            f"{esc(record.node_id)}</span>: {esc(what)}</div>"
            f'<div class="prodex-input-meta">{rows_text(record.rows)} · '
            f"{human_size(record.size)} · "
            f'<span class="prodex-mono">sha256 {esc(short_hash(record.sha256))}</span></div></div>'
        )
    shown, more = rows[:INPUTS_SHOWN], rows[INPUTS_SHOWN:]
    if more:
        shown.append(
            f"<details><summary>{len(more)} more input{'s' if len(more) > 1 else ''}"
            f"</summary>{''.join(more)}</details>"
        )
    head = "Inputs consumed:" if len(records) < 3 else f"Inputs consumed ({len(records)}):"
    return f'<div class="prodex-inputs"><div>{head}</div>' + "".join(shown) + "</div>"


def header_html(state: RunState) -> str:
    """The view's title line: the template's id and its description (cut at 160 characters)."""
    description = str(state.template.get("description") or "")
    if len(description) > 160:
        description = description[:159] + "…"
    return (
        f'<span class="prodex-title">{esc(state.template_id)}</span>'
        f'<span class="prodex-subtitle">{esc(description)}</span>'
    )
