"""Which runs are interrupted: their executor is gone (kernel restart, SIGKILL, out of memory,
Ctrl-C) while they could still go on.

A run is interrupted when all three hold:
- its status is not final (`pending` or `executing`);
- no live process holds its lease (store/leases.py: a lease dies with its process on the same
  host at once, elsewhere when its heartbeat is older than the lease's ttl);
- there is work that could go on: a node left `running`, or a node whose upstream values all
  exist and whose upstream gates are all confirmed.

A run waiting only for a gate decision is not interrupted: nothing could move even if a process
executed it. Deciding that gate makes it interrupted until someone resumes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..store import Lease, RunState

FINAL = ("completed", "completed_partial", "failed")


@dataclass
class NodeProgress:
    state: str  # waiting / running / produced / failed, as a RunState's node
    upstream: tuple[str, ...]
    gate_id: str | None


@dataclass
class GateProgress:
    status: str = "not_reached"  # as a RunState's gate: not_reached / pending / confirmed / ...


@dataclass
class Progress:
    """What telling an interrupted run needs of its state, and no more: its nodes' and gates'
    states. Built from a few fields of the events that move them (`progress_of`), so the runs
    list tells every unfinished run in one query, not by folding each run's whole record."""

    status: str
    nodes: dict[str, NodeProgress] = field(default_factory=dict)
    gates: dict[str, GateProgress] = field(default_factory=dict)


def progress_of(statuses: dict[str, str], rows: Iterable[tuple]) -> dict[str, Progress]:
    """Each run's Progress from its rows (run_id, kind, a, b), in event order: the fields of
    store/run_index.py's `progress_rows`. The same moves as RunFold (store/state.py) makes:
    run_created sets the nodes (a: its `nodes`, JSON), node_started and node_retried move the
    nodes in a (JSON list) to running and waiting, node_produced and node_failed node a, and
    gate_posed / gate_decided gate a (b: the decision; reopened is pending again)."""
    found = {run_id: Progress(status) for run_id, status in statuses.items()}
    for run_id, kind, a, b in rows:
        run = found[run_id]
        if kind == "run_created":
            for n in json.loads(a):
                run.nodes[n["id"]] = NodeProgress("waiting", tuple(n["upstream"]), n["gate_id"])
        elif kind in _MOVES:
            for node_id in json.loads(a) if kind in ("node_started", "node_retried") else (a,):
                run.nodes[node_id].state = _MOVES[kind]
        else:
            gate = run.gates.setdefault(a, GateProgress())
            gate.status = "pending" if kind == "gate_posed" or b == "reopened" else b
    return found


_MOVES = {
    "node_started": "running",
    "node_retried": "waiting",
    "node_produced": "produced",
    "node_failed": "failed",
}


def runnable_nodes(state: RunState | Progress) -> list[str]:
    """Nodes that could execute now: not produced or failed, every upstream produced and its gate
    confirmed (a node a dead process left `running` counts)."""
    ready = []
    for node_id, node in state.nodes.items():
        if node.state in ("produced", "failed"):
            continue
        if all(
            state.nodes[up].state == "produced"
            and (
                state.nodes[up].gate_id is None
                or _gate_status(state, state.nodes[up].gate_id) == "confirmed"
            )
            for up in node.upstream
        ):
            ready.append(node_id)
    return ready


def _gate_status(state: RunState | Progress, gate_id: str) -> str:
    gate = state.gates.get(gate_id)
    return gate.status if gate is not None else "not_reached"


def is_interrupted(state: RunState | Progress, holder: Lease | None) -> bool:
    """`state` is interrupted when `holder` (the run's live lease, or None) executes nothing."""
    if state.status in FINAL or holder is not None:
        return False
    return any(n.state == "running" for n in state.nodes.values()) or bool(runnable_nodes(state))
