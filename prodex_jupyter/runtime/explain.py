"""Why a node has no value, and what state to draw it in. Pure functions over a RunState."""

from __future__ import annotations

from ..store import RunState


def blocking_gate(state: RunState, node_id: str) -> tuple[str, str] | None:
    """The nearest unconfirmed gate above a node: (gate_id, its status), or None."""
    seen: set[str] = set()
    frontier = list(state.nodes[node_id].upstream)
    while frontier:
        next_frontier = []
        for up in frontier:
            if up in seen:
                continue
            seen.add(up)
            gate = state.gate_of(up)
            if (
                gate is not None
                and state.nodes[up].state == "produced"
                and gate.status != "confirmed"
            ):
                return gate.gate_id, gate.status
            next_frontier.extend(state.nodes[up].upstream)
        frontier = next_frontier
    return None


def failed_ancestor(state: RunState, node_id: str) -> str | None:
    stack, seen = list(state.nodes[node_id].upstream), set()
    while stack:
        up = stack.pop()
        if up in seen:
            continue
        seen.add(up)
        if state.nodes[up].state == "failed":
            return up
        stack.extend(state.nodes[up].upstream)
    return None


def display_state(state: RunState, node_id: str) -> str:
    """waiting / running / produced / blocked / failed: what the canvas shows."""
    node = state.nodes[node_id]
    if node.state in ("running", "produced", "failed"):
        return node.state
    if failed_ancestor(state, node_id) or blocking_gate(state, node_id):
        return "blocked"
    return "waiting"


def why_not_produced(state: RunState, node_id: str) -> str:
    """A sentence for the derivation drawer of a node with no value; '' when it has one."""
    node = state.nodes[node_id]
    if node.state == "produced":
        return ""
    if node.state == "failed":
        return f"{node_id} failed: {node.error}"
    if node.state == "running":
        return f"{node_id} is being computed"
    failed = failed_ancestor(state, node_id)
    if failed:
        return f"not produced: upstream node '{failed}' failed"
    blocked = blocking_gate(state, node_id)
    if blocked:
        gate_id, status = blocked
        name = state.gates[gate_id].name
        if status == "rejected":
            return f"not produced: gate '{name}' ({gate_id}) was rejected"
        return f"waiting on gate '{name}' ({gate_id}) to be confirmed"
    return "not reached yet"
