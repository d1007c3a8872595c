"""Layer 3: the run store (append-only event log, artifacts, run state as a fold of events)."""

from .anchors import Anchor, AnchorError, AnchorRefused, load_anchor, take_anchor, verify_against
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
    NodeRetried,
    NodeStarted,
    RunCreated,
    RunStatusChanged,
    StoredEvent,
)
from .leases import Lease, LeaseHeld, LeaseLost
from .ledger import Tombstone
from .run_store import RunNotFound, RunStore, open_store
from .state import Decision, GateRecord, InputRecord, NodeRecord, Result, RunFold, RunState
from .verify import Problem, verify_run, verify_store

__all__ = [
    "GATE_DECISIONS",
    "RUN_STATUSES",
    "Anchor",
    "AnchorError",
    "AnchorRefused",
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
    "NodeRetried",
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
    "Tombstone",
    "load_anchor",
    "open_store",
    "take_anchor",
    "verify_against",
    "verify_run",
    "verify_store",
]
