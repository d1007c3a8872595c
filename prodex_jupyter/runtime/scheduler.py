"""The scheduler: the DAG bookkeeping of one run. Which nodes are ready, what a node's work is,
which events record it, and which status the run has when nothing more can move.

It neither writes events nor owns threads: the executor (runtime/executor.py) drives it, hands
its node work to worker threads and writes the events it returns. A node is ready as soon as its
upstream values exist and every upstream gate is confirmed; independent branches run
concurrently. Readiness looks at values and policy decisions not yet written (`values`,
`decided_here`) as well as at the record, because the executor batches plain node events.
"""

from __future__ import annotations

import functools
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import duckdb
import pyarrow as pa

from ..checks import DataRef, Evidence, gather_evidence
from ..store import Event, GateDecided, GatePosed, InputConsumed, NodeFailed, NodeProduced
from ..store.events import make
from ..template import PythonNode, SourceNode, Template
from ..template.nodes import Node
from .compute import SourceInput, compute_node, read_source
from .deciders import needs_a_person
from .policy import Policy, policy_name
from .run import Run
from .sql_sandbox import SqlSandbox, sandbox_for
from .values import StoredTable, Value, describe_columns, to_table

_TABLES = (pa.Table, StoredTable)  # values.is_table, inlined where every produced node passes
FINAL_STATUSES = ("completed", "completed_partial", "failed")
_DONE = ("produced", "failed")  # node states that never run again without a retry


@dataclass(frozen=True)
class Outcome:
    """What a worker thread hands back for one node."""

    value: Value
    artifact: str | None
    consumed: InputConsumed | None
    evidence: dict[str, Any] | None
    seconds: float


class Scheduler:
    """One run's DAG: readiness, node work, and the events of a finished node."""

    def __init__(
        self,
        run: Run,
        template: Template,
        sources: dict[str, SourceInput],
        policy: Policy | None,
    ) -> None:
        self.run = run
        self.template = template
        self.sources = sources
        self.policy = policy
        self.order = template.topological_order()
        self.position = {node_id: i for i, node_id in enumerate(self.order)}
        self.nodes = nodes = template.nodes  # a dict of its own: read per node, never a method
        children: dict[str, list[str]] = {n: [] for n in self.order}
        # Per node, its upstream nodes and the gates on them: what readiness looks at, per node.
        self.upstream: dict[str, tuple[str, ...]] = {}
        self.upstream_gates: dict[str, tuple[str, ...]] = {}
        for node_id in self.order:
            ups = tuple(nodes[node_id].upstream)
            self.upstream[node_id] = ups
            gates = [nodes[up].gate for up in ups]
            self.upstream_gates[node_id] = tuple(g.gate_id for g in gates if g is not None)
            for up in ups:
                children[up].append(node_id)
        # Tuples of text, which the collector stops tracking: nothing here for it to walk per node.
        self.children = {n: tuple(c) for n, c in children.items()}
        self.source_ancestors, self.gate_ancestors = _lineage(nodes, self.order)
        self.values: dict[str, Value] = {}  # produced: landed in the record or about to
        self.inflight: set[str] = set()
        # What can be ready now: the roots, and (a resumed run) the nodes below one produced;
        # every other node becomes a candidate when an upstream node lands or a gate is decided
        # (readiness was checked for every node at the start, once per node for nothing).
        self.candidates: set[str] = {n for n in self.order if not self.upstream[n]}
        for node_id, record in run.fold.nodes.items():
            if record.state == "produced":
                self.candidates.update(self.children.get(node_id, ()))
        self._sql: SqlSandbox | None = None
        self.failed_here: set[str] = set()
        self.decided_here: dict[str, str] = {}  # policy decisions not yet written, by gate
        self.posed = False  # a gate was posed without a policy decision: watch for decisions
        self._codes: dict[str, str] = {}
        # Lineage entries as last built, kept while what they describe has not changed: most nodes
        # of a run share its sources and gates, and their records are read-only.
        self._source_refs: dict[str, tuple[Any, dict[str, Any]]] = {}
        self._gate_refs: dict[str, tuple[Any, dict[str, Any]]] = {}
        # Whole lineage lists, by the ancestors they name, while the fold's sources and gates
        # stand as they were (`RunFold.lineage_changes`): a chain's nodes share two lists.
        self._lineage_seen = -1
        self._source_lists: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        self._gate_lists: dict[tuple[str, ...], list[dict[str, Any]]] = {}

    def sql(self) -> SqlSandbox:
        """Where the run's SQL runs, locked down (runtime/sql_sandbox.py), made when the first
        SQL node needs it: a new database costs more than a whole run of python nodes."""
        if self._sql is None:
            self._sql = sandbox_for(self.run.store.artifacts.root)
        return self._sql

    # -------------------------------------------------------------- readiness
    def on_decisions(self, gate_ids: list[str]) -> None:
        """Decisions recorded (here or elsewhere): the gated nodes' children may be ready."""
        gates = self.run.fold.gates  # the gate's node as recorded (the template's is a scan)
        for gate_id in gate_ids:
            self.candidates.update(self.children[gates[gate_id].node_id])

    @property
    def idle(self) -> bool:
        """Nothing in flight and nothing left to look at: the run waits or is done."""
        return not self.inflight and not self.candidates

    def take_ready(self) -> list[str]:
        """The candidates that can run now, in topological order; they count as in flight.

        A candidate is ready when it is neither in flight nor done, its upstream values exist
        and every upstream gate is confirmed. One loop with what it reads bound once per step:
        it runs for every node of a run."""
        values, inflight, failed = self.values, self.inflight, self.failed_here
        fold = self.run.fold
        records, gates, decided = fold.nodes, fold.gates, self.decided_here
        upstream, upstream_gates = self.upstream, self.upstream_gates
        ready = []
        for node_id in self.candidates:
            if (
                node_id in inflight
                or node_id in values
                or node_id in failed
                or records[node_id].state in _DONE
            ):
                continue
            for up in upstream[node_id]:
                if up not in values and records[up].state != "produced":
                    break
            else:
                for gate_id in upstream_gates[node_id]:
                    if (decided.get(gate_id) or gates[gate_id].status) != "confirmed":
                        break
                else:
                    ready.append(node_id)
        self.candidates.clear()
        if len(ready) > 1:
            ready.sort(key=self.position.__getitem__)
        inflight.update(ready)
        return ready

    def upstream_values(self, node_id: str) -> dict[str, Value]:
        """The node's inputs (raises when a stored upstream artifact is gone)."""
        values = self.values
        return {up: values[up] if up in values else self.value(up) for up in self.upstream[node_id]}

    def value(self, node_id: str) -> Value:
        if node_id not in self.values:  # produced before this process took over: read it back
            result = self.run.fold.results[node_id]
            self.values[node_id] = (
                self.run.store.load_table(result.artifact) if result.artifact else result.value
            )
        return self.values[node_id]

    # ------------------------------------------------------------- node work
    def work(
        self,
        node_id: str,
        upstream: dict[str, Value],
        on_query: Callable[[str, duckdb.DuckDBPyConnection], None] | None = None,
    ) -> Outcome:
        """In a worker thread: compute, persist, gather evidence. `on_query(node_id, con)` is told
        which DuckDB connection runs the node's SQL (so a time limit can interrupt it)."""
        started = time.perf_counter()
        node = self.nodes[node_id]
        if isinstance(node, SourceNode):  # read, stored and profiled in one pass
            gather = functools.partial(self._evidence, node_id) if node.gate else None
            read = read_source(self.sources[node_id], self.run.store, self.run.id, gather)
            seconds = time.perf_counter() - started
            return Outcome(read.value, read.artifact, read.consumed, read.evidence, seconds)
        if isinstance(node, PythonNode):
            value = compute_node(node, upstream, None)
        else:
            told = functools.partial(on_query, node_id) if on_query is not None else None
            value = compute_node(node, upstream, self.sql(), on_query=told)
        artifact = None
        if isinstance(value, StoredTable):
            artifact = value.artifact
        elif isinstance(value, pa.Table):
            artifact = self.run.store.put_table(value, self.run.id)
        evidence = None
        if node.gate is not None:
            evidence = self._evidence(node_id, DataRef(table=to_table(value, node_id)))
        seconds = time.perf_counter() - started
        return make(
            Outcome,
            {
                "value": value,
                "artifact": artifact,
                "consumed": None,
                "evidence": evidence,
                "seconds": seconds,
            },
        )

    def _evidence(self, node_id: str, data: DataRef) -> dict[str, Any]:
        node = self.template[node_id]
        assert node.gate is not None
        # Profile the data as this process reads or computes it, rather than parse the file or
        # the artifact again: the same rows, and on a large CSV it saves a whole parse.
        if isinstance(node, SourceNode):
            src = self.sources[node_id]
            label = f"Source: {src.path.name if src.path else f'DataFrame {node_id!r}'}"
        else:
            label = f"Node: {node_id}"
        baseline = self.run.store.last_confirmed_evidence(
            self.template.id, node.gate.gate_id, exclude_run=self.run.id
        )
        try:
            evidence = gather_evidence(
                node.gate,
                data,
                label=label,
                baseline=Evidence.from_dict(baseline) if baseline else None,
                resolve_node=self._resolve_node,
                base_dir=self.template.base_dir,
            )
            return evidence.to_dict()
        except Exception as exc:  # the checker failing must not lose the node's value
            return _checker_failure(label, exc)

    def _resolve_node(self, name: str) -> DataRef | None:
        if name not in self.template:
            return None
        value = self.value(name)
        if isinstance(value, StoredTable):
            return DataRef(path=str(value.path), format="parquet")
        return DataRef(table=to_table(value, name))

    # ------------------------------------------------------------- recording
    def finished(self, node_id: str, outcome: Outcome | NodeFailed) -> list[Event]:
        """A node came back from its worker: the events recording it; its children become
        candidates."""
        self.inflight.discard(node_id)
        self.candidates.update(self.children[node_id])
        if isinstance(outcome, NodeFailed):
            self.failed_here.add(node_id)
            return [outcome]
        self.values[node_id] = outcome.value
        return self._landing(node_id, outcome)

    def _landing(self, node_id: str, outcome: Outcome) -> list[Event]:
        """The events recording a produced node, written in one transaction."""
        node = self.nodes[node_id]
        fold = self.run.fold
        events: list[Event] = []
        inputs: Any = fold.inputs
        if outcome.consumed is not None:
            events.append(outcome.consumed)
            inputs = {**inputs, node_id: outcome.consumed}
        gates = fold.gates
        if fold.lineage_changes != self._lineage_seen:  # a source read or a gate moved
            self._lineage_seen = fold.lineage_changes
            self._source_lists.clear()
            self._gate_lists.clear()
        value = outcome.value
        table = isinstance(value, _TABLES)
        code = self._codes.get(node_id)
        if code is None:
            code = self._codes[node_id] = node.code
        produced = {
            "node_id": node_id,
            "value_kind": "table" if table else "scalar",
            "value": None if table else value,
            "artifact": outcome.artifact,
            "rows": value.num_rows if table else None,
            "columns": describe_columns(value) if table else [],
            "derivation_code": code,
            "derivation_explanation": node.explanation,
            "sources": self._sources(self.source_ancestors[node_id], inputs, outcome.consumed),
            "gates_passed": self._gates_passed(self.gate_ancestors[node_id], gates),
            "seconds": round(outcome.seconds, 6),
        }
        events.append(make(NodeProduced, produced))
        if outcome.evidence is not None and node.gate is not None:
            posed = GatePosed(
                node.gate.gate_id,
                node_id,
                outcome.evidence,
                outcome.evidence.get("confidence", "low"),
                outcome.evidence.get("summary", ""),
            )
            events.append(posed)
            decided = self._policy_decision(posed)
            events.extend(decided)
            for decision in decided:
                self.decided_here[decision.gate_id] = decision.decision
            self.posed = self.posed or not decided
        return events

    def _policy_decision(self, posed: GatePosed) -> list[Event]:
        if self.policy is None or needs_a_person(self.run._fold.gates[posed.gate_id]):
            return []
        gate = replace(
            self.run.fold.gates[posed.gate_id],
            status="pending",
            evidence=posed.evidence,
            confidence=posed.confidence,
            summary=posed.summary,
        )
        verdict = self.policy(gate)
        if verdict is None:
            return []
        decision = {"confirm": "confirmed", "reject": "rejected"}[verdict]
        by = policy_name(self.policy)
        note = f"{by}: confidence {posed.confidence}"
        return [GateDecided(posed.gate_id, decision, by, note, posed.confidence)]

    def _sources(
        self, ancestors: tuple[str, ...], inputs: Any, consumed: InputConsumed | None
    ) -> list[dict[str, Any]]:
        """The lineage's sources: those of `ancestors` read so far (the list of the last node
        with the same ones unless the fold's inputs changed since, or this node read one)."""
        known = None if consumed is not None else self._source_lists.get(ancestors)
        if known is None:
            known = [self._source_ref(inputs[s]) for s in ancestors if s in inputs]
            if consumed is None:
                self._source_lists[ancestors] = known
        return known

    def _gates_passed(self, ancestors: tuple[str, ...], gates: Any) -> list[dict[str, Any]]:
        """The lineage's gates (the list of the last node with the same ones, as `_sources`)."""
        known = self._gate_lists.get(ancestors)
        if known is None:
            known = self._gate_lists[ancestors] = [
                self._gate_ref(gates[g]) for g in ancestors if g in gates
            ]
        return known

    def _source_ref(self, consumed: Any) -> dict[str, Any]:
        """A source as a produced value's lineage names it (the same entry while its input
        record is the same object)."""
        known = self._source_refs.get(consumed.node_id)
        if known is None or known[0] is not consumed:
            known = self._source_refs[consumed.node_id] = (consumed, _source_ref(consumed))
        return known[1]

    def _gate_ref(self, gate: Any) -> dict[str, Any]:
        """A gate as a produced value's lineage names it (the fold replaces a gate's record
        whenever the gate changes, so the same record means the same entry)."""
        known = self._gate_refs.get(gate.gate_id)
        if known is None or known[0] is not gate:
            known = self._gate_refs[gate.gate_id] = (gate, _gate_ref(gate))
        return known[1]

    # ---------------------------------------------------------------- status
    def settled_status(self) -> str:
        """The run's status once nothing more can move without a decision."""
        fold = self.run.fold
        gates = fold.gates.values()
        if any(g.status == "pending" for g in gates):
            return "executing"  # waiting for a decision
        if any(n.state == "failed" for n in fold.nodes.values()):
            return "failed"
        if any(g.status == "rejected" for g in gates):
            return "completed_partial"
        if all(n.state == "produced" for n in fold.nodes.values()):
            return "completed"
        return "completed_partial"


def _lineage(
    nodes: Mapping[str, Node], order: tuple[str, ...]
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Per node, the source nodes and the gates above it, in topological order. A node with one
    upstream node and no gate of its own between shares that node's tuples (a chain's nodes all
    hold the same two objects)."""
    sources: dict[str, tuple[str, ...]] = {}
    gates: dict[str, tuple[str, ...]] = {}
    for node_id in order:
        node = nodes[node_id]
        ups = node.upstream
        if len(ups) == 1 and not isinstance(node, SourceNode):
            up = ups[0]
            up_gate = nodes[up].gate
            sources[node_id] = sources[up]
            if up_gate is None or up_gate.gate_id in gates[up]:
                gates[node_id] = gates[up]
            else:
                gates[node_id] = (*gates[up], up_gate.gate_id)
            continue
        own_sources: dict[str, None] = {node_id: None} if isinstance(node, SourceNode) else {}
        above: dict[str, None] = {}
        for up in ups:
            own_sources.update(dict.fromkeys(sources[up]))
            above.update(dict.fromkeys(gates[up]))
            up_gate = nodes[up].gate
            if up_gate is not None:
                above[up_gate.gate_id] = None
        sources[node_id] = tuple(own_sources)
        gates[node_id] = tuple(above)
    return sources, gates


def _source_ref(consumed: Any) -> dict[str, Any]:
    return {
        "node_id": consumed.node_id,
        "path": consumed.path,
        "size": consumed.size,
        "sha256": consumed.sha256,
    }


def _gate_ref(gate: Any) -> dict[str, Any]:
    last = gate.last_decision
    return {
        "gate_id": gate.gate_id,
        "status": gate.status,
        "by": last.by if last else "",
        "at": last.at if last else "",
        "decided_seq": last.seq if last else None,
    }


def failure(node_id: str, exc: BaseException) -> NodeFailed:
    """A node's error as recorded: the message, and the traceback kept."""
    tb = "".join(traceback.format_exception(exc))
    return NodeFailed(node_id, f"{type(exc).__name__}: {exc}", tb)


def _checker_failure(label: str, exc: Exception) -> dict[str, Any]:
    message = f"the checker could not run: {type(exc).__name__}: {exc}"
    return {
        "label": label,
        "row_count": 0,
        "columns": [],
        "sample": [],
        "checks": [
            {
                "bullet": "(checker)",
                "status": "fail",
                "message": message,
                "observed": {},
                "unexpected_count": None,
                "unexpected_rows": [],
            }
        ],
        "drift": [],
        "warnings": [message],
        "confidence": "low",
        "summary": f"{label}. {message}. Confidence: low.",
    }
