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

from collections.abc import Iterable

from ..store import Lease, RunFold, RunState

FINAL = ("completed", "completed_partial", "failed")


def progress_of(statuses: dict[str, str], rows: Iterable[tuple]) -> dict[str, RunFold]:
    """Each run's nodes and gates as far as telling an interrupted run needs, from its rows
    (run_id, kind, a, b), in event order: store/run_index.py's `progress_rows`, a few fields of
    the events that move a node or a gate, folded by RunFold itself (`apply_progress`, the same
    moves as its whole events make). The runs list tells every unfinished run so, in one query,
    not by folding each run's whole record."""
    found = {}
    for run_id, status in statuses.items():
        found[run_id] = RunFold()
        found[run_id].status = status
    for run_id, kind, a, b in rows:
        found[run_id].apply_progress(kind, a, b)
    return found


def runnable_nodes(state: RunState | RunFold) -> list[str]:
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


def _gate_status(state: RunState | RunFold, gate_id: str) -> str:
    gate = state.gates.get(gate_id)
    return gate.status if gate is not None else "not_reached"


def is_interrupted(state: RunState | RunFold, holder: Lease | None) -> bool:
    """`state` is interrupted when `holder` (the run's live lease, or None) executes nothing."""
    if state.status in FINAL or holder is not None:
        return False
    return any(n.state == "running" for n in state.nodes.values()) or bool(runnable_nodes(state))
