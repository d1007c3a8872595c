"""Decision policies: explicit, named rules that may decide a gate instead of a person.

A policy sees the gate as posed and returns "confirm", "reject" or None (leave it to a person).
Its decisions are recorded like anyone's, with `by="policy:<name>"`, so the trail says who decided.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from ..store import GateRecord

PolicyDecision = Literal["confirm", "reject"] | None
Policy = Callable[[GateRecord], PolicyDecision]


def confirm_high(gate: GateRecord) -> PolicyDecision:
    """Confirm gates the checker graded high confidence; leave the rest to a person."""
    return "confirm" if gate.confidence == "high" else None


def policy_name(policy: Policy) -> str:
    return f"policy:{getattr(policy, '__name__', type(policy).__name__)}"
