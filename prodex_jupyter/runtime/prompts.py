"""The prompt queue: which pending gates to put in front of a person, and how to group them.

Rules (spec: "one gate at a time by default"):
- a pending gate waits while a gate upstream of it is pending (decide the upstream one first);
- the rest are prompted at once: they sit on independent branches, each needing its own decision;
- high-confidence gates that became pending together (posed within `BATCH_WINDOW_S` of each other)
  are batched, up to `BATCH_MAX` to a prompt; a batch still records one decision per gate.
"""

from __future__ import annotations

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
    """The prompts to show now, oldest first."""
    pending = state.pending_gates
    if not pending:
        return []
    pending_nodes = {g.node_id for g in pending}
    ready = [g for g in pending if not (_ancestors(state, g.node_id) & pending_nodes)]
    prompts = [Prompt((g,)) for g in ready if g.confidence != "high"]
    batch: list[GateRecord] = []
    for gate in (g for g in ready if g.confidence == "high"):
        if batch and (len(batch) >= BATCH_MAX or _apart(batch[0], gate) > BATCH_WINDOW_S):
            prompts.append(Prompt(tuple(batch)))
            batch = []
        batch.append(gate)
    if batch:
        prompts.append(Prompt(tuple(batch)))
    return sorted(prompts, key=lambda p: p.gates[0].posed_seq or 0)


def _apart(first: GateRecord, later: GateRecord) -> float:
    delta = datetime.fromisoformat(later.posed_at) - datetime.fromisoformat(first.posed_at)
    return delta.total_seconds()


def _ancestors(state: RunState, node_id: str) -> set[str]:
    found: set[str] = set()
    stack = list(state.nodes[node_id].upstream)
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(state.nodes[current].upstream)
    return found
