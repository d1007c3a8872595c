"""The Run Information panel: status, `Gates resolved: k / n`, nodes produced, inputs, times."""

from __future__ import annotations

import ipywidgets as w

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
INPUTS_SHOWN = 4


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


class RunInfo(w.VBox):
    """A thin view of a run's state; `update(state)` re-renders every row from it."""

    def __init__(self) -> None:
        self.title = w.HTML('<div class="prodex-panel-title">Run Information</div>')
        self.status = _row("prodex-status")
        self.gates = _row("prodex-gates-resolved")
        self.nodes = _row("prodex-nodes-produced")
        self.started = _row("prodex-started")
        self.elapsed = _row("prodex-elapsed")
        self.inputs = _row("prodex-inputs-consumed")
        self.ids = _row("prodex-run-ids")
        super().__init__(
            [
                self.title,
                self.status,
                self.gates,
                self.nodes,
                self.started,
                self.elapsed,
                self.inputs,
                self.ids,
            ]
        )
        self.add_class("prodex-run-info")
        self.status_text = ""
        self.gates_text = ""
        self.nodes_text = ""

    def update(self, state: RunState) -> None:
        k, n = state.gates_resolved
        produced = len(state.results)
        total = len(state.nodes)
        self.status_text = state.status
        self.gates_text = f"Gates resolved: {k} / {n}"
        self.nodes_text = f"Nodes produced: {produced} / {total}"
        note = status_note(state)
        _set(
            self.status,
            '<div class="prodex-status-line">'
            f"{chip(state.status, STATUS_TONES.get(state.status, 'grey'), 'prodex-status-chip')}"
            + (f'<span class="prodex-status-note">{esc(note)}</span>' if note else "")
            + "</div>",
        )
        share = 100 * k / n if n else 100
        _set(
            self.gates,
            f'<div class="prodex-row">Gates resolved: <b>{k} / {n}</b></div>'
            f'<div class="prodex-progress"><span style="width:{share:.0f}%"></span></div>',
        )
        _set(
            self.nodes,
            f'<div class="prodex-row">Nodes produced: <b>{produced} / {total}</b></div>',
        )
        _set(
            self.started,
            f'<div class="prodex-row">Started: <b>{esc(clock(state.created_at))}</b></div>',
        )
        self.update_elapsed(state)
        _set(self.inputs, _inputs_html(state))
        _set(
            self.ids,
            f'<div class="prodex-row prodex-ids">Run <span class="prodex-mono">{esc(state.run_id)}'
            f"</span><br>Template <b>{esc(state.template_id)}</b> "
            f'<span class="prodex-mono">{esc(state.fingerprint[:12])}</span></div>',
        )

    def update_elapsed(self, state: RunState) -> None:
        """Only the elapsed row: a running clock while the run computes, the final figure once
        it ended, and the time of the last event while it waits for a person."""
        if state.status in FINAL:
            text = duration(between(state.created_at, state.updated_at))
        elif state.pending_gates and not any(
            node.state == "running" for node in state.nodes.values()
        ):
            text = (
                f"{duration(between(state.created_at, state.updated_at))}, "
                f"waiting since {clock(state.updated_at)}"
            )
        else:
            text = duration(between(state.created_at))
        _set(
            self.elapsed,
            f'<div class="prodex-row">Elapsed: <b>{esc(text)}</b></div>',
        )


def _inputs_html(state: RunState) -> str:
    if not state.inputs:
        return (
            '<div class="prodex-inputs"><div>Inputs consumed:</div>'
            '<div class="prodex-input-meta">none yet</div></div>'
        )
    rows = []
    records = sorted(state.inputs.values(), key=lambda r: r.node_id)
    for record in records:
        name = file_name(record.path) if not record.snapshot else f"{record.node_id} (DataFrame)"
        rows.append(
            f'<div class="prodex-input" title="{esc(record.path)}">'
            f'<div class="prodex-input-name">{esc(name)}</div>'
            f'<div class="prodex-input-meta">{record.rows:,} rows · {human_size(record.size)} · '
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


def _row(css: str) -> w.HTML:
    row = w.HTML()
    row.add_class(css)
    return row


def _set(widget: w.HTML, value: str) -> None:
    if widget.value != value:  # unchanged rows send nothing
        widget.value = value
