"""The JSON the REST API serves, built from the store's records (docs/rest-api.md shows each).

Plain functions from frozen records to TypedDicts: no Jupyter here, so the shapes are tested
and benchmarked without a server.
"""

from __future__ import annotations

import functools
import math
from datetime import datetime
from typing import Any, TypedDict

from ..checks.json_values import json_safe
from ..runtime import prompt_queue
from ..runtime.compare import Comparison
from ..runtime.interruption import is_interrupted
from ..store import GateRecord, InputRecord, Lease, Result, RunState
from ..store.run_index import RunRow
from ..view.canvas import display_states
from ..view.drawer import PREVIEW_ROWS, TableLoader
from ..view.panel import PanelView, run_panel


class RunSummary(TypedDict):
    run_id: str
    pipeline: str
    status: str
    gates_resolved: int
    gates_total: int
    pending_gates: int
    started: str
    duration: float
    executing: bool
    interrupted: bool


class DecisionJSON(TypedDict):
    decision: str
    by: str
    at: str
    note: str
    confidence_shown: str


class GateJSON(TypedDict):
    gate_id: str
    node_id: str
    name: str
    description: str
    status: str
    confidence: str
    summary: str
    evidence: dict[str, Any]
    posed_at: str
    decisions: list[DecisionJSON]


class TablePreview(TypedDict):
    rows: int | None
    columns: list[dict[str, str]]
    first_rows: list[dict[str, Any]]


class ResultJSON(TypedDict):
    node_id: str
    value_kind: str
    value: Any
    table: TablePreview | None
    artifact: str | None
    derivation_code: str
    derivation_explanation: str
    sources: list[dict[str, Any]]
    gates_passed: list[dict[str, Any]]
    produced_at: str
    seconds: float


class RunRecord(TypedDict):
    run_id: str
    pipeline: str
    fingerprint: str
    status: str
    created: str
    updated: str
    last_seq: int
    base_dir: str
    executing: bool
    interrupted: bool
    executor: dict[str, Any] | None
    gates_resolved: int
    gates_total: int
    nodes: list[dict[str, Any]]
    gates: list[GateJSON]
    prompts: list[dict[str, Any]]
    results: list[ResultJSON]
    inputs: list[dict[str, Any]]
    view: PanelView


def run_summary(row: RunRow, pending: int, executing: bool, interrupted: bool) -> RunSummary:
    """One line of `GET runs`."""
    return {
        "run_id": row.run_id,
        "pipeline": row.template_id,
        "status": row.status,
        "gates_resolved": row.gates_resolved,
        "gates_total": row.gates_total,
        "pending_gates": pending,
        "started": row.created_at,
        "duration": _seconds(row.created_at, row.last_at),
        "executing": executing,
        "interrupted": interrupted,
    }


def gate_json(gate: GateRecord) -> GateJSON:
    return {
        "gate_id": gate.gate_id,
        "node_id": gate.node_id,
        "name": gate.name,
        "description": gate.description,
        "status": gate.status,
        "confidence": gate.confidence,
        "summary": gate.summary,
        "evidence": json_safe(dict(gate.evidence)),
        "posed_at": gate.posed_at,
        "decisions": [
            {
                "decision": d.decision,
                "by": d.by,
                "at": d.at,
                "note": d.note,
                "confidence_shown": d.confidence_shown,
            }
            for d in gate.decisions
        ],
    }


def run_record(
    state: RunState,
    executor: Lease | None,
    load_table: TableLoader,
    drawer: set[str] | None = None,
) -> RunRecord:
    """`GET runs/{id}`: the run's record and the panel view computed by `prodex_jupyter.view`
    (with the drawer of the nodes in `drawer`; of every node when None)."""
    load_table = functools.lru_cache(maxsize=None)(load_table)  # the record and drawer share reads
    executing = executor is not None
    k, n = state.gates_resolved
    shown = display_states(state)
    return {
        "run_id": state.run_id,
        "pipeline": state.template_id,
        "fingerprint": state.fingerprint,
        "status": state.status,
        "created": state.created_at,
        "updated": state.updated_at,
        "last_seq": state.last_seq,
        "base_dir": state.base_dir,
        "executing": executing,
        "interrupted": is_interrupted(state, executor),
        "executor": _executor(executor),
        "gates_resolved": k,
        "gates_total": n,
        "nodes": [
            {
                "node_id": node_id,
                "kind": node.kind,
                "state": shown[node_id],
                "upstream": list(node.upstream),
                "gate_id": node.gate_id,
                "error": node.error,
                "traceback": node.traceback,
            }
            for node_id, node in state.nodes.items()
        ],
        "gates": [gate_json(g) for g in state.gates.values()],
        "prompts": [
            {"gate_ids": list(p.gate_ids), "batch": p.is_batch, "confidence": p.confidence}
            for p in prompt_queue(state)
        ],
        "results": [_result(r, load_table) for r in state.results.values()],
        "inputs": [_input(r) for r in state.inputs.values()],
        "view": run_panel(state, load_table, drawer),
    }


def comparison_json(comparison: Comparison) -> dict[str, Any]:
    """`GET compare`: outputs side by side (change first run -> last), tables, and per pair of
    consecutive runs what changed (inputs by hash, template nodes, gates)."""
    ids = comparison.run_ids
    outputs = []
    for node_id, row in comparison.outputs.iterrows():
        outputs.append(
            {
                "node_id": str(node_id),
                "kind": str(row["kind"]),
                "values": [json_safe(_plain(row[i])) for i in ids],
                "absolute_change": _number(row["change"]),
                "relative_change": _number(row["rel_change"]),
            }
        )
    pairs = []
    tables = []
    for pair in comparison.pairs:
        for diff in pair.tables.values():
            tables.append(
                {
                    "a": pair.run_a,
                    "b": pair.run_b,
                    "node_id": diff.node_id,
                    "identical": diff.identical,
                    "rule": diff.rule,
                    "summary": diff.summary(),
                    "key": list(diff.key),
                    "rows_a": diff.rows_a,
                    "rows_b": diff.rows_b,
                    "only_in_a": diff.only_in_a,
                    "only_in_b": diff.only_in_b,
                    "changed_rows": diff.changed_rows,
                    "changed_cells": diff.changed_cells,
                }
            )
        pairs.append(
            {
                "a": pair.run_a,
                "b": pair.run_b,
                "verdict": pair.verdict(),
                "inputs": [
                    {
                        "node_id": c.node_id,
                        "changed": c.changed,
                        "description": c.describe(),
                        "a": _input_ref(c.a),
                        "b": _input_ref(c.b),
                    }
                    for c in pair.inputs
                ],
                "template": [
                    {"node_id": node_id, "changed": list(aspects)}
                    for node_id, aspects in pair.template.nodes.items()
                ],
                "template_description": pair.template.describe(),
                "nodes_added": list(pair.template.added),
                "nodes_removed": list(pair.template.removed),
                "fingerprint_changed": pair.template.fingerprint_a != pair.template.fingerprint_b,
                "gates": {g: {"a": a, "b": b} for g, (a, b) in pair.gates.items()},
            }
        )
    return {
        "runs": ids,
        "pipeline": comparison.runs[0].template_id,
        "verdict": comparison.verdict(),
        "outputs": outputs,
        "tables": tables,
        "pairs": pairs,
    }


# ------------------------------------------------------------------ helpers
def _result(result: Result, load_table: TableLoader) -> ResultJSON:
    table: TablePreview | None = None
    if result.value_kind != "scalar":
        first: list[dict[str, Any]] = []
        try:
            first = [
                {str(k): json_safe(v) for k, v in row.items()}
                for row in load_table(result.artifact or "").slice(0, PREVIEW_ROWS).to_pylist()
            ]
        except Exception:  # an artifact removed behind the store's back: the shape still shows
            first = []
        table = {
            "rows": result.rows,
            "columns": [{"name": name, "type": kind} for name, kind in result.columns],
            "first_rows": first,
        }
    return {
        "node_id": result.node_id,
        "value_kind": result.value_kind,
        "value": json_safe(result.value) if result.value_kind == "scalar" else None,
        "table": table,
        "artifact": result.artifact,
        "derivation_code": result.derivation_code,
        "derivation_explanation": result.derivation_explanation,
        "sources": [json_safe(dict(s)) for s in result.sources],
        "gates_passed": [json_safe(dict(g)) for g in result.gates_passed],
        "produced_at": result.produced_at,
        "seconds": result.seconds,
    }


def _input(record: InputRecord) -> dict[str, Any]:
    return {
        "node_id": record.node_id,
        "path": record.path,
        "size": record.size,
        "sha256": record.sha256,
        "rows": record.rows,
        "format": record.format,
        "snapshot": record.snapshot,
        "at": record.at,
    }


def _input_ref(record: InputRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"path": record.path, "sha256": record.sha256, "rows": record.rows}


def _executor(lease: Lease | None) -> dict[str, Any] | None:
    if lease is None:
        return None
    return {
        "pid": lease.pid,
        "host": lease.host,
        "since": datetime.fromtimestamp(lease.acquired_at).astimezone().isoformat(),
        "heartbeat": datetime.fromtimestamp(lease.heartbeat_at).astimezone().isoformat(),
    }


def _seconds(start: str, end: str) -> float:
    try:
        delta = datetime.fromisoformat(end) - datetime.fromisoformat(start)
    except ValueError:
        return 0.0
    return max(0.0, delta.total_seconds())


def _plain(value: Any) -> Any:
    """A pandas cell as a plain Python value (numpy scalars unwrapped, NaN as None)."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _number(value: Any) -> float | None:
    value = _plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None
