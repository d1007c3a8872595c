"""Runs as terminal text: prompts, decisions, results with their derivations."""

from __future__ import annotations

import textwrap
from typing import Any

import pandas as pd

from ..runtime import Prompt, Run
from ..runtime.humanize import human_size, short_duration
from ..store import GateRecord, Lease, Result, RunState

_MARK = {"pass": "ok  ", "fail": "FAIL", "manual": "?   ", "warn": "warn", "skipped": "skip"}


def short(sha: str) -> str:
    return sha[:12]


def prompt_text(prompt: Prompt) -> str:
    head = "Gate prompt" + (
        f" (batch of {len(prompt.gates)} clean gates)" if prompt.is_batch else ""
    )
    return "\n".join([head, *(gate_text(g) for g in prompt.gates)])


def gate_text(gate: GateRecord) -> str:
    lines = [f"  [{gate.gate_id}] {gate.name}  — confidence: {gate.confidence or '?'}"]
    if gate.description:
        lines.extend("    " + line for line in textwrap.wrap(gate.description, 96))
    if gate.summary:
        lines.extend("    " + line for line in textwrap.wrap(gate.summary, 96))
    for check in gate.evidence.get("checks", []):
        mark = _MARK.get(check.get("status", ""), check.get("status", ""))
        lines.append(f"      {mark} {check.get('message') or check.get('bullet')}")
    for warning in gate.evidence.get("warnings", []):
        lines.append(f"      warn {warning}")
    return "\n".join(lines)


def decision_text(gate: GateRecord) -> str:
    last = gate.last_decision
    if last is None:
        return f"  [{gate.gate_id}] {gate.status}"
    note = f" — {last.note}" if last.note else ""
    return f"  [{gate.gate_id}] {last.decision} by {last.by} at {last.at[:19]}{note}"


def value_text(result: Result, max_rows: int = 10) -> str:
    if result.value_kind == "scalar":
        return repr(result.value)
    try:
        frame = result.table()
    except LookupError:
        return f"table of {result.rows} rows"
    body = frame.head(max_rows).to_string(index=False)
    more = f"\n({result.rows} rows)" if (result.rows or 0) > max_rows else ""
    return body + more


def derivation_text(result: Result) -> str:
    lines = [f"{result.node_id} = " + _indent_after_first(value_text(result), "    ")]
    if result.derivation_explanation:
        lines.append("  why:  " + result.derivation_explanation)
    lines.append("  code:")
    lines.extend("    " + line for line in result.derivation_code.splitlines())
    for src in result.sources:
        lines.append(
            f"  from: {src['path']} ({human_size(src['size'])}, sha256 {short(src['sha256'])})"
        )
    for gate in result.gates_passed:
        by = f" by {gate['by']}" if gate.get("by") else ""
        lines.append(f"  gate: {gate['gate_id']} {gate['status']}{by}")
    return "\n".join(lines)


def _indent_after_first(text: str, pad: str) -> str:
    """A one-line value stays on the line; a table starts on the next, indented."""
    lines = text.splitlines() or [""]
    if len(lines) == 1:
        return lines[0]
    return "\n" + "\n".join(pad + line for line in lines)


def run_text(run: Run) -> str:
    state: RunState = run.state
    k, n = state.gates_resolved
    lines = [
        f"Run {state.run_id} of {state.template_id} (template {short(state.fingerprint)})",
        f"  status: {state.status}    gates resolved: {k} / {n}    "
        f"nodes produced: {len(state.results)} / {len(state.nodes)}",
        f"  started: {state.created_at[:19]}    last event: {state.updated_at[:19]}",
    ]
    if run.interrupted:
        lines.append(
            "  INTERRUPTED: no process executes this run, and it could go on; continue it with: "
            f"prodex resume {state.run_id}"
        )
    lines += [
        "Inputs consumed:",
    ]
    for inp in state.inputs.values():
        lines.append(
            f"  {inp.node_id}: {inp.path} ({inp.rows} rows, {human_size(inp.size)}, "
            f"sha256 {short(inp.sha256)})"
        )
    lines.append("Gates:")
    for gate in state.gates.values():
        lines.append(decision_text(gate) if gate.decisions else f"  [{gate.gate_id}] {gate.status}")
    lines.append("Results:")
    for node_id, node in state.nodes.items():
        if node_id in state.results:
            if node.kind == "output":
                lines.append(derivation_text(state.results[node_id]))
        else:
            lines.append(f"  {node_id}: {run.why_not_produced(node_id)}")
            if node.attempt > 1:
                lines.append(f"    attempt {node.attempt}; earlier: {'; '.join(node.failures)}")
            if node.state == "failed":
                lines.extend("    " + line for line in node.traceback.rstrip().splitlines()[-6:])
    return "\n".join(lines)


def event_line(kind: str, data: dict[str, Any]) -> str | None:
    """One progress line per event worth telling a person about."""
    if kind == "node_produced":
        what = f"{data['rows']} rows" if data["value_kind"] == "table" else repr(data["value"])
        return f"  produced {data['node_id']}: {what}"
    if kind == "node_failed":
        return f"  FAILED   {data['node_id']}: {data['error']}"
    if kind == "gate_posed":
        return (
            f"  gate     {data['gate_id']} waiting for a decision (confidence {data['confidence']})"
        )
    if kind == "gate_decided":
        return f"  decided  {data['gate_id']}: {data['decision']} by {data['by']}"
    if kind == "run_status":
        return f"  status   {data['status']}"
    return None


def executor_text(lease: Lease) -> str:
    return "this process" if lease.mine else f"process {lease.pid} on {lease.host}"


def runs_text(table: pd.DataFrame) -> str:
    """The runs list as a fixed-width table (newest first); * marks runs a process executes,
    INTERRUPTED those nobody executes that could go on."""
    if table.empty:
        return "no runs"
    rows = [("RUN", "PIPELINE", "TEMPLATE", "STATUS", "GATES", "STARTED", "DURATION", "INPUTS")]
    for r in table.itertuples(index=False):
        rows.append(
            (
                r.run_id,
                r.pipeline,
                r.fingerprint[:12],
                r.status
                + (" *" if r.executing else "")
                + (" INTERRUPTED" if r.interrupted else ""),
                r.gates_resolved,
                r.started.strftime("%Y-%m-%d %H:%M:%S"),
                short_duration(r.duration.total_seconds()),
                r.inputs,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]
    lines.append(
        f"{len(table)} runs"
        + ("; * = a process is executing it" if table["executing"].any() else "")
        + (
            "; INTERRUPTED = no process executes it and it could go on: prodex resume RUN"
            if table["interrupted"].any()
            else ""
        )
    )
    return "\n".join(line.rstrip() for line in lines)
