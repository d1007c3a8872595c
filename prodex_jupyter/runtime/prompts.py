"""The prompt queue: which pending gates to put in front of a person, and how to group them.

Rules (spec: "one gate at a time by default"):
- a pending gate waits while a gate upstream of it is pending (decide the upstream one first);
- the rest are prompted at once: they sit on independent branches, each needing its own decision;
- high-confidence gates that became pending together (posed within `BATCH_WINDOW_S` of each other)
  are batched, up to `BATCH_MAX` to a prompt; a batch still records one decision per gate;
- prompts come in the template's topological order (not the order the gates happened to be
  posed in, which changes between runs of the same template as branches race).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import datetime

from ..store import GateRecord, RunState

BATCH_MAX = 3
BATCH_WINDOW_S = 2.0


@dataclass(frozen=True)
class Prompt:
    """One card in the gate-card area: one gate, or a batch of trivially clean ones."""

    gates: tuple[GateRecord, ...]

    @property
    def gate_ids(self) -> tuple[str, ...]:
        return tuple(g.gate_id for g in self.gates)

    @property
    def is_batch(self) -> bool:
        return len(self.gates) > 1

    @property
    def confidence(self) -> str:
        order = {"low": 0, "medium": 1, "high": 2}
        return min((g.confidence for g in self.gates), key=lambda c: order.get(c, 0))

    def text(self) -> str:
        """The prompt as a person reads it in a terminal."""
        lines = []
        for gate in self.gates:
            lines.append(f"[{gate.gate_id}] {gate.name}")
            if gate.description:
                lines.append(f"  {gate.description}")
            lines.append(f"  {gate.summary}")
        return "\n".join(lines)


def prompt_queue(state: RunState) -> list[Prompt]:
    """The prompts to show now, in the template's topological order."""
    pending = state.pending_gates
    if not pending:
        return []
    pending_nodes = {g.node_id for g in pending}
    ready = [g for g in pending if not (_ancestors(state, g.node_id) & pending_nodes)]
    rank = topological_rank(state)
    prompts = [Prompt((g,)) for g in ready if g.confidence != "high"]
    batch: list[GateRecord] = []
    clean = sorted((g for g in ready if g.confidence == "high"), key=lambda g: rank[g.node_id])
    for gate in clean:  # batched in topological order, not in the order workers finished
        if batch and (len(batch) >= BATCH_MAX or _apart(batch[0], gate) > BATCH_WINDOW_S):
            prompts.append(Prompt(tuple(batch)))
            batch = []
        batch.append(gate)
    if batch:
        prompts.append(Prompt(tuple(batch)))
    prompts = [Prompt(tuple(sorted(p.gates, key=lambda g: rank[g.node_id]))) for p in prompts]
    return sorted(prompts, key=lambda p: rank[p.gates[0].node_id])


def topological_rank(state: RunState) -> dict[str, int]:
    """Each node's place in the template's topological order: upstream first, ties broken by
    the order the template lists its nodes (stable from one run of a template to the next)."""
    listed = list(state.nodes)
    waiting = {n: len(state.nodes[n].upstream) for n in listed}
    below: dict[str, list[str]] = {n: [] for n in listed}
    for n in listed:
        for u in state.nodes[n].upstream:
            below.setdefault(u, []).append(n)
    ready = [(i, n) for i, n in enumerate(listed) if not waiting[n]]
    position = {n: i for i, n in enumerate(listed)}
    rank: dict[str, int] = {}
    while ready:
        _, node = heapq.heappop(ready)
        rank[node] = len(rank)
        for d in below.get(node, ()):
            waiting[d] -= 1
            if not waiting[d]:
                heapq.heappush(ready, (position[d], d))
    for n in listed:  # a malformed record with a cycle: the rest in listed order
        rank.setdefault(n, len(rank))
    return rank


def _apart(first: GateRecord, later: GateRecord) -> float:
    delta = datetime.fromisoformat(later.posed_at) - datetime.fromisoformat(first.posed_at)
    return abs(delta.total_seconds())


def _ancestors(state: RunState, node_id: str) -> set[str]:
    found: set[str] = set()
    stack = list(state.nodes[node_id].upstream)
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(state.nodes[current].upstream)
    return found
