"""The events a run is made of. A run's state is a fold of these; none is ever changed.

Each kind is a frozen dataclass whose fields are JSON-safe, so the payload stored is exactly the
dataclass and the hash chain covers every field.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import orjson

R = TypeVar("R")

RUN_STATUSES = ("pending", "executing", "completed", "completed_partial", "failed")
GATE_DECISIONS = ("confirmed", "rejected", "reopened")


@dataclass(frozen=True)
class Event:
    kind: ClassVar[str] = ""

    def payload(self) -> dict[str, Any]:
        # Shallow on purpose: fields are already JSON-safe, and a deep copy of a whole template
        # per event would cost more than writing it. The instance dict holds exactly the fields
        # (`kind` is a ClassVar), and reading it is ten times cheaper than dataclasses.fields().
        return dict(vars(self))


@dataclass(frozen=True)
class RunCreated(Event):
    """First event of every run: what is being run, so the record stands on its own."""

    kind: ClassVar[str] = "run_created"
    template_id: str
    fingerprint: str
    template: dict[str, Any]
    node_digests: dict[str, dict[str, str]]
    nodes: list[dict[str, Any]]  # id, kind, upstream, gate_id
    gates: list[dict[str, Any]]  # gate_id, node_id, name, description[, deciders, four_eyes]
    inputs: dict[str, str] = field(default_factory=dict)  # source id -> what was handed in
    base_dir: str = ""
    started_by: str = ""  # who started the run (four-eyes gates: not who confirms them)
    # How a process resuming the run finds each python node's function again (runtime/
    # functions.py): node id -> {"how": "import", "ref", "digest"} or {"how": "capture",
    # "artifact", "digest"}. Empty for nodes the template itself rebuilds (YAML refs, inline code).
    functions: dict[str, dict[str, str]] = field(default_factory=dict)
    timeout_s: float | None = None  # the run's default node time limit


@dataclass(frozen=True)
class RunStatusChanged(Event):
    kind: ClassVar[str] = "run_status"
    status: str
    reason: str = ""


@dataclass(frozen=True)
class InputConsumed(Event):
    """A source read: what exactly fed the run (spec: inputs consumed)."""

    kind: ClassVar[str] = "input_consumed"
    node_id: str
    path: str
    size: int
    sha256: str
    rows: int
    format: str
    snapshot: bool = False  # a DataFrame input, stored as a Parquet artifact


@dataclass(frozen=True)
class NodeStarted(Event):
    """Nodes the engine handed to its workers together, in one scheduler step: one event per
    step, not per node, because on a large DAG of small nodes the events are the engine's cost."""

    kind: ClassVar[str] = "node_started"
    node_ids: list[str]


@dataclass(frozen=True)
class NodeProduced(Event):
    """A value landed, with its whole lineage."""

    kind: ClassVar[str] = "node_produced"
    node_id: str
    value_kind: str  # "scalar" or "table"
    value: Any  # the JSON scalar, or None for tables
    artifact: str | None  # sha256 of the Parquet artifact for tables
    rows: int | None
    columns: list[list[str]]  # [name, type] for tables
    derivation_code: str
    derivation_explanation: str
    sources: list[dict[str, Any]]  # node_id, path, size, sha256 of every upstream source
    gates_passed: list[dict[str, Any]]  # gate_id, decided_seq, by, at
    seconds: float


@dataclass(frozen=True)
class NodeFailed(Event):
    kind: ClassVar[str] = "node_failed"
    node_id: str
    error: str
    traceback: str


@dataclass(frozen=True)
class NodeRetried(Event):
    """Failed nodes given a new attempt (`resume(retry_failed=True)`); their failures stay on
    the record, before this event."""

    kind: ClassVar[str] = "node_retried"
    node_ids: list[str]
    reason: str = ""


@dataclass(frozen=True)
class GatePosed(Event):
    """The checker gathered evidence; the gate waits for a person (or an explicit policy)."""

    kind: ClassVar[str] = "gate_posed"
    gate_id: str
    node_id: str
    evidence: dict[str, Any]
    confidence: str
    summary: str


@dataclass(frozen=True)
class GateDecided(Event):
    """Confirm, reject or reopen: who, why, and the confidence they were shown."""

    kind: ClassVar[str] = "gate_decided"
    gate_id: str
    decision: str
    by: str
    note: str = ""
    confidence_shown: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        RunCreated,
        RunStatusChanged,
        InputConsumed,
        NodeStarted,
        NodeProduced,
        NodeFailed,
        NodeRetried,
        GatePosed,
        GateDecided,
    )
}


@dataclass(frozen=True)
class StoredEvent:
    """An event as the log holds it: its place in the run, when, and the hash chain."""

    run_id: str
    seq: int
    at: str
    event: Event
    prev_hash: str
    hash: str

    @property
    def kind(self) -> str:
        return self.event.kind


def make(cls: type[R], fields: dict[str, Any]) -> R:
    """A record (a frozen dataclass without __post_init__) from every one of its fields.

    The generated __init__ of a frozen dataclass sets each field through object.__setattr__,
    which made building the few records of a node (its event, its stored event, its result) a
    large part of what the engine spends per node; this fills the instance dict at once. Given
    fewer fields than the class has, it falls back to the class itself (defaults, or its error)."""
    if len(fields) != _FIELD_COUNTS.get(cls, -1):
        if cls not in _FIELD_COUNTS:
            _FIELD_COUNTS[cls] = len(dataclasses.fields(cls))  # type: ignore[arg-type]
            return make(cls, fields)
        return cls(**fields)
    record = object.__new__(cls)
    record.__dict__.update(fields)
    return record


_FIELD_COUNTS: dict[type, int] = {}


def canonical_json(obj: Any) -> str:
    """The serialisation of an event's payload: sorted keys, no spaces, UTF-8.

    orjson, a tenth of the standard library's cost per event. Keys other than text (which orjson
    writes as the standard library does only when told to, at some cost to every event) take a
    second try; an integer beyond 64 bits, which orjson refuses, the standard library. The hash
    chain covers the stored text, so which encoder wrote an event never matters to `verify`."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS, default=str).decode()
    except orjson.JSONEncodeError:
        pass
    try:
        return orjson.dumps(obj, option=_NON_STR_KEYS, default=str).decode()
    except orjson.JSONEncodeError:
        return json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
        )


_NON_STR_KEYS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def decode_event(kind: str, payload: str) -> Event:
    """The event a stored row holds. Read with the standard library: orjson turns an integer
    beyond 64 bits into a float, and a record must come back exactly as it was written."""
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r}")
    data = json.loads(payload)
    if cls is NodeStarted and "node_id" in data:  # written before starts were batched per step
        data = {"node_ids": [data.pop("node_id")]}
    return cls(**data)
