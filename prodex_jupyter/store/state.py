"""A run's state as a fold of its events. Records are frozen; the fold itself is incremental.

The engine, the command line and the widgets all read runs through `RunState`, so they cannot
disagree about what happened.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from types import MappingProxyType
from typing import Any, TypeVar

import orjson

from .events import (
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
    make,
)
from .identity_memo import IdentityMemo

T = TypeVar("T")


@dataclass(frozen=True)
class Decision:
    gate_id: str
    decision: str  # confirmed / rejected / reopened
    by: str
    at: str
    note: str
    confidence_shown: str
    seq: int


@dataclass(frozen=True)
class GateRecord:
    """A gate as it stands on one run (gate state lives on the run, not the template)."""

    gate_id: str
    node_id: str
    name: str
    description: str
    status: str = "not_reached"  # not_reached / pending / confirmed / rejected
    evidence: Mapping[str, Any] = field(default_factory=dict)
    confidence: str = ""
    summary: str = ""
    posed_seq: int | None = None
    posed_at: str = ""
    decisions: tuple[Decision, ...] = ()
    deciders: tuple[str, ...] = ()  # who may decide (users, "group:<name>"); empty: anyone
    four_eyes: bool = False  # the person who started the run cannot confirm it

    @property
    def last_decision(self) -> Decision | None:
        return self.decisions[-1] if self.decisions else None

    @property
    def resolved(self) -> bool:
        return self.status in ("confirmed", "rejected")


@dataclass(frozen=True)
class Result:
    """A produced value with its lineage. Read-only: there is no way to set a value by hand."""

    node_id: str
    value_kind: str
    value: Any
    artifact: str | None
    rows: int | None
    columns: tuple[tuple[str, str], ...]
    derivation_code: str
    derivation_explanation: str
    sources: tuple[Mapping[str, Any], ...]
    gates_passed: tuple[Mapping[str, Any], ...]
    produced_at: str
    seconds: float
    seq: int
    _load: Callable[[str], Any] | None = field(default=None, repr=False, compare=False)

    def table(self) -> Any:
        """The produced table as a pandas DataFrame (scalars come back as themselves)."""
        if self.value_kind == "scalar":
            return self.value
        if self._load is None or self.artifact is None:
            raise LookupError(f"the table of {self.node_id} is not loadable without its store")
        return self._load(self.artifact).to_pandas()

    def get(self) -> Any:
        """The value: a scalar, or the table as a DataFrame."""
        return self.value if self.value_kind == "scalar" else self.table()


@dataclass(frozen=True)
class NodeRecord:
    node_id: str
    kind: str
    upstream: tuple[str, ...]
    gate_id: str | None
    state: str = "waiting"  # waiting / running / produced / failed
    error: str = ""
    traceback: str = ""
    started_at: str = ""
    attempt: int = 1  # the latest attempt; earlier ones failed (`failures`)
    failures: tuple[str, ...] = ()  # the errors of earlier attempts, oldest first


@dataclass(frozen=True)
class InputRecord:
    node_id: str
    path: str
    size: int
    sha256: str
    rows: int
    format: str
    snapshot: bool
    at: str


@dataclass(frozen=True)
class RunState:
    """Everything known about a run after its events so far."""

    run_id: str
    template_id: str
    fingerprint: str
    created_at: str
    updated_at: str
    status: str
    template: Mapping[str, Any]
    node_digests: Mapping[str, Mapping[str, str]]
    nodes: Mapping[str, NodeRecord]
    gates: Mapping[str, GateRecord]
    results: Mapping[str, Result]
    inputs: Mapping[str, InputRecord]
    base_dir: str
    last_seq: int
    started_by: str = ""

    @property
    def gates_resolved(self) -> tuple[int, int]:
        """(decided, all gates): the Run Information panel's 'Gates resolved: k / n'."""
        return sum(g.resolved for g in self.gates.values()), len(self.gates)

    @property
    def pending_gates(self) -> list[GateRecord]:
        return sorted(
            (g for g in self.gates.values() if g.status == "pending"),
            key=lambda g: g.posed_seq or 0,
        )

    def gate_of(self, node_id: str) -> GateRecord | None:
        gate_id = self.nodes[node_id].gate_id
        return self.gates[gate_id] if gate_id else None


class RunFold:
    """Applies events one at a time; `snapshot()` gives a frozen RunState.

    `apply_progress` folds the store's light rows of events instead (a few fields of each): the
    same node and gate moves, for what needs no more than the nodes' and gates' states."""

    def __init__(self, loader: Callable[[str], Any] | None = None) -> None:
        self._load = loader
        self.run_id = ""
        self.created: RunCreated | None = None
        self.created_at = ""
        self.updated_at = ""
        self.status = "pending"
        self.nodes: dict[str, NodeRecord] = {}
        self.gates: dict[str, GateRecord] = {}
        self.results: dict[str, Result] = {}
        self.inputs: dict[str, InputRecord] = {}
        self.last_seq = -1
        self._snapshot: RunState | None = None
        # Lineage entries as a Result holds them: read-only. The engine hands the same list of
        # entries to node after node (most nodes of a run share their sources and gates), so a
        # list is wrapped once and the Results share it: fewer objects kept per node.
        self._wrapped: IdentityMemo[tuple[Mapping[str, Any], ...]] = IdentityMemo(_wrap, 256)
        # How many times a source was read or a gate moved: what a result's lineage names.
        self.lineage_changes = 0

    def apply(self, stored: StoredEvent) -> None:
        if stored.seq <= self.last_seq:
            return  # already folded (events read back after being written here)
        if stored.seq != self.last_seq + 1:
            raise ValueError(
                f"run {stored.run_id}: event {stored.seq} arrived after {self.last_seq}; "
                "events must be folded in order"
            )
        self.last_seq = stored.seq
        self.updated_at = stored.at
        self._snapshot = None
        e = stored.event
        # The frequent kinds first (a result and a start per node); the rest are a few per run.
        if isinstance(e, NodeProduced):
            nodes = self.nodes
            nodes[e.node_id] = _evolve(nodes[e.node_id], _PRODUCED)
            self.results[e.node_id] = make(
                Result,
                {
                    "node_id": e.node_id,
                    "value_kind": e.value_kind,
                    "value": e.value,
                    "artifact": e.artifact,
                    "rows": e.rows,
                    "columns": tuple((c[0], c[1]) for c in e.columns) if e.columns else (),
                    "derivation_code": e.derivation_code,
                    "derivation_explanation": e.derivation_explanation,
                    "sources": self._read_only(e.sources),
                    "gates_passed": self._read_only(e.gates_passed),
                    "produced_at": stored.at,
                    "seconds": e.seconds,
                    "seq": stored.seq,
                    "_load": self._load,
                },
            )
        elif isinstance(e, NodeStarted):
            # One change for every node of the step (a step starts many), made once.
            started = {
                "state": _NODE_MOVES[e.kind],
                "started_at": stored.at,
                "error": "",
                "traceback": "",
            }
            nodes = self.nodes
            for node_id in e.node_ids:
                nodes[node_id] = _evolve(nodes[node_id], started)
        elif isinstance(e, RunCreated):
            self.run_id, self.created, self.created_at = stored.run_id, e, stored.at
            self._create(*_shared_records(e.nodes, e.gates))
        elif isinstance(e, RunStatusChanged):
            self.status = e.status
        elif isinstance(e, InputConsumed):
            self.lineage_changes += 1
            self.inputs[e.node_id] = InputRecord(
                e.node_id, e.path, e.size, e.sha256, e.rows, e.format, e.snapshot, stored.at
            )
        elif isinstance(e, NodeFailed):
            self._node(e.node_id, state=_NODE_MOVES[e.kind], error=e.error, traceback=e.traceback)
        elif isinstance(e, NodeRetried):
            for node_id in e.node_ids:
                node = self.nodes[node_id]
                self._node(
                    node_id,
                    state=_NODE_MOVES[e.kind],
                    error="",
                    traceback="",
                    attempt=node.attempt + 1,
                    failures=(*node.failures, node.error),
                )
        elif isinstance(e, GatePosed):
            self._gate(
                e.gate_id,
                status=_gate_status(e.kind, None),
                evidence=MappingProxyType(e.evidence),
                confidence=e.confidence,
                summary=e.summary,
                posed_seq=stored.seq,
                posed_at=stored.at,
            )
        elif isinstance(e, GateDecided):
            gate = self.gates[e.gate_id]
            decision = Decision(
                e.gate_id, e.decision, e.by, stored.at, e.note, e.confidence_shown, stored.seq
            )
            status = _gate_status(e.kind, e.decision)
            self._gate(e.gate_id, status=status, decisions=(*gate.decisions, decision))

    def apply_progress(self, kind: str, a: str, b: str | None = None) -> None:
        """Folds a light row of an event, in order: its kind, a and b as the store's
        `progress_rows` gives them (a: run_created's [nodes, gates], or the nodes started or
        retried, as JSON; the node produced or failed; the gate posed or decided; b: the
        decision). Only the nodes' and gates' states move, as `apply` moves them; telling which
        runs are interrupted needs no more, and reads no whole payload (runtime/interruption.py).
        A fold of light rows has no snapshot: read its `status`, `nodes` and `gates`."""
        state = _NODE_MOVES.get(kind)
        if state is not None:
            for node_id in orjson.loads(a) if kind in _MANY_NODES else (a,):
                self._node(node_id, state=state)
        elif kind == RunCreated.kind:
            self._create(*_created_records(a))
        else:
            self._gate(a, status=_gate_status(kind, b))

    def _create(self, nodes: dict[str, NodeRecord], gates: dict[str, GateRecord]) -> None:
        """The created run's records (`_records`), shared: frozen, a move replaces one."""
        self.lineage_changes += 1
        self.nodes.update(nodes)
        self.gates.update(gates)

    def _read_only(self, entries: list[dict[str, Any]]) -> tuple[Mapping[str, Any], ...]:
        return self._wrapped(entries) if entries else ()

    def _node(self, node_id: str, **changes: Any) -> None:
        self.nodes[node_id] = _evolve(self.nodes[node_id], changes)

    def _gate(self, gate_id: str, **changes: Any) -> None:
        self.lineage_changes += 1
        self.gates[gate_id] = _evolve(self.gates[gate_id], changes)

    def snapshot(self) -> RunState:
        if self._snapshot is None:
            created = self.created
            if created is None:
                raise ValueError("a run's first event must be run_created")
            self._snapshot = RunState(
                run_id=self.run_id,
                template_id=created.template_id,
                fingerprint=created.fingerprint,
                created_at=self.created_at,
                updated_at=self.updated_at,
                status=self.status,
                template=MappingProxyType(created.template),
                node_digests=MappingProxyType(created.node_digests),
                nodes=MappingProxyType(dict(self.nodes)),
                gates=MappingProxyType(dict(self.gates)),
                results=MappingProxyType(dict(self.results)),
                inputs=MappingProxyType(dict(self.inputs)),
                base_dir=created.base_dir,
                last_seq=self.last_seq,
                started_by=created.started_by,
            )
        return self._snapshot


# The state each event kind moves its nodes to (`apply` and `apply_progress` alike), and the
# kinds that move a list of nodes.
_NODE_MOVES = {
    NodeStarted.kind: "running",
    NodeRetried.kind: "waiting",
    NodeProduced.kind: "produced",
    NodeFailed.kind: "failed",
}
_MANY_NODES = (NodeStarted.kind, NodeRetried.kind)
_PRODUCED = {"state": _NODE_MOVES[NodeProduced.kind]}  # a result's move, one dict for every node


def _records(
    nodes: list[dict[str, Any]], gates: list[dict[str, Any]]
) -> tuple[dict[str, NodeRecord], dict[str, GateRecord]]:
    """A created run's nodes, waiting, and gates, not reached, from run_created's lists."""
    node_records = {
        n["id"]: make(
            NodeRecord,
            {
                **_WAITING,
                "node_id": n["id"],
                "kind": n["kind"],
                "upstream": tuple(n["upstream"]),
                "gate_id": n["gate_id"],
            },
        )
        for n in nodes
    }
    gate_records = {
        g["gate_id"]: GateRecord(
            g["gate_id"],
            g["node_id"],
            g["name"],
            g.get("description", ""),
            deciders=tuple(g.get("deciders", ())),
            four_eyes=bool(g.get("four_eyes", False)),
        )
        for g in gates
    }
    return node_records, gate_records


def _wrap(entries: list[dict[str, Any]]) -> tuple[Mapping[str, Any], ...]:
    return tuple(map(MappingProxyType, entries))


# `_records` of a run_created event's lists. Runs of one template object started in this process
# share those lists (runtime/created.py: read only), so their records are built once per
# template. Records are frozen and the fold copies the dicts, as for `_created_records`.
_shared_records = IdentityMemo(_records, 64)


@functools.lru_cache(maxsize=64)
def _created_records(
    nodes_and_gates: str,
) -> tuple[dict[str, NodeRecord], dict[str, GateRecord]]:
    """`_records` of a light run_created row ([nodes, gates], JSON). The runs of one template
    share the text, and records are frozen (a move makes a new one), so the runs list builds
    them once per template, not once per run. The fold copies the dicts, never changes them."""
    return _records(*orjson.loads(nodes_and_gates))


def _gate_status(kind: str, decision: str | None) -> str:
    """A gate's status after it is posed, or decided (reopened: waiting for a decision again)."""
    return "pending" if kind == GatePosed.kind or decision == "reopened" else str(decision)


# A node's record before anything happened to it: NodeRecord's own defaults.
_WAITING = {f.name: f.default for f in fields(NodeRecord) if f.default is not MISSING}


def _evolve(record: T, changes: dict[str, Any]) -> T:
    """`dataclasses.replace` for the fold's own records, without its per-call introspection of
    fields (the fold applies an event per node, and replace() was its largest cost). The records
    have no __post_init__ and no init=False fields, so copying the instance dict is the same."""
    new = object.__new__(type(record))
    fields = new.__dict__
    fields.update(record.__dict__)
    fields.update(changes)  # not `**changes`: that copies the changes into a new dict first
    return new
