"""Layer 3: the run store (append-only event log, artifacts, run state as a fold of events)."""

from .deletion import Deletion
from .event_log import Conflict
from .events import (
    GATE_DECISIONS,
    RUN_STATUSES,
    Event,
    GateDecided,
    GatePosed,
    InputConsumed,
    NodeFailed,
    NodeProduced,
    NodeStarted,
    RunCreated,
    RunStatusChanged,
    StoredEvent,
)
from .leases import Lease, LeaseHeld, LeaseLost
from .run_store import RunNotFound, RunStore, open_store
from .state import Decision, GateRecord, InputRecord, NodeRecord, Result, RunFold, RunState
from .verify import Problem, verify_run, verify_store

__all__ = [
    "GATE_DECISIONS",
    "RUN_STATUSES",
    "Conflict",
    "Decision",
    "Deletion",
    "Event",
    "GateDecided",
    "GatePosed",
    "GateRecord",
    "InputConsumed",
    "InputRecord",
    "Lease",
    "LeaseHeld",
    "LeaseLost",
    "NodeFailed",
    "NodeProduced",
    "NodeRecord",
    "NodeStarted",
    "Problem",
    "Result",
    "RunCreated",
    "RunFold",
    "RunNotFound",
    "RunState",
    "RunStatusChanged",
    "RunStore",
    "StoredEvent",
    "open_store",
    "verify_run",
    "verify_store",
]
