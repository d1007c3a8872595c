"""The scheduler: executes a template's DAG for one run, pausing at gates.

A node runs as soon as its upstream values exist and every upstream gate is confirmed; independent
branches run concurrently. Node work (reading, DuckDB, python, Parquet, evidence) happens in worker
threads; events are appended from the loop. The scheduler reacts to decisions as events, so a
decision made by a button, a script or another process all resume the run the same way.

One scheduler step writes at most one transaction: what finished nodes produced, then the nodes
this makes ready, started; plain node events of successive steps share one for up to
BATCH_SECONDS. Readiness therefore looks at values and policy decisions not yet written
(`values`, `_decided_here`) as well as at the record. Workers hand finished nodes back through a
queue with one loop wake-up per batch, rather than an asyncio task and future per node, which
cost more than a trivial node's own work (bench/engine.py measures the engine per node).

Exactly one process executes a run: the one holding its lease (store/leases.py). Every event the
scheduler writes is fenced by that lease; the lease is released when the run settles to a final
status, and taken again if a decision in this process gives it more work. While a gate is
pending, a timer re-reads the store every DECISION_POLL_SECONDS so a decision recorded by another
process (the command line, another kernel) is picked up; no polling happens per node.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

import pyarrow as pa

from ..checks import DataRef, Evidence, gather_evidence
from ..store import (
    Event,
    GateDecided,
    GatePosed,
    InputConsumed,
    LeaseHeld,
    LeaseLost,
    NodeFailed,
    NodeProduced,
    NodeStarted,
    RunStatusChanged,
    StoredEvent,
)
from ..template import SourceNode, Template
from .compute import SourceInput, compute_node, read_source
from .deciders import needs_a_person
from .loop import WORKERS, caller_loop
from .policy import Policy, policy_name
from .run import Run
from .sql_sandbox import sandbox_for
from .values import Value, describe_columns, to_table

DECISION_POLL_SECONDS = 0.25
BATCH_SECONDS = 0.02  # the longest a plain node event waits to be written with others
BATCH_EVENTS = 1000
FINAL_STATUSES = ("completed", "completed_partial", "failed")


@dataclass(frozen=True)
class _Outcome:
    """What a worker thread hands back for one node."""

    value: Value
    artifact: str | None
    consumed: InputConsumed | None
    evidence: dict[str, Any] | None
    seconds: float


class Scheduler:
    def __init__(
        self,
        run: Run,
        template: Template,
        sources: dict[str, SourceInput],
        policy: Policy | None,
        loop: asyncio.AbstractEventLoop,
        lease: str | None = None,
    ) -> None:
        self.run = run
        self.template = template
        self.sources = sources
        self.policy = policy
        self.loop = loop
        self.order = template.topological_order()
        self.position = {node_id: i for i, node_id in enumerate(self.order)}
        self.children: dict[str, list[str]] = {n: [] for n in self.order}
        for node_id in self.order:
            for up in template[node_id].upstream:
                self.children[up].append(node_id)
        self.source_ancestors, self.gate_ancestors = _lineage(template, self.order)
        self.values: dict[str, Value] = {}  # produced: landed in the record or about to
        self.inflight: set[str] = set()
        self.candidates: set[str] = set(self.order)
        self.sql = sandbox_for(run.store.artifacts.root)  # where its SQL nodes run, locked down
        self._wake: asyncio.Event | None = None
        self._thread_id: int | None = None
        self._codes: dict[str, str] = {}
        self.task: Any = None  # the drive() task or future, set by whoever starts it
        self._finished: deque[tuple[str, _Outcome | NodeFailed]] = deque()  # from workers
        self._wake_pending = False  # a worker has asked the loop for a step already
        self._failed_here: set[str] = set()
        self._unwritten: list[Event] = []  # node events waiting to share a transaction
        self._unwritten_since = 0.0  # loop time of the oldest of them
        self._flush_timer: asyncio.TimerHandle | None = None
        self._decided_here: dict[str, str] = {}  # policy decisions not yet written, by gate
        self.lease: str | None = None  # token of the run's lease while this process holds it
        self._guard: Any = None
        self._set_lease(lease)
        self._poll: asyncio.TimerHandle | None = None
        self._posed = False  # a gate was posed this step: start watching for decisions

    # ------------------------------------------------------------- interface
    def runs_on_this_thread(self) -> bool:
        if self._thread_id is not None:
            return self._thread_id == threading.get_ident()
        return caller_loop() is self.loop  # not started yet: is its loop this thread's?

    def observe(self, events: list[StoredEvent]) -> None:
        """Called by the Run after events land (any thread): decisions unblock downstream nodes."""
        decided = [e.event.gate_id for e in events if isinstance(e.event, GateDecided)]
        if not decided:
            return
        if self.runs_on_this_thread():
            self._on_decisions(decided)
        else:
            self.loop.call_soon_threadsafe(self._on_decisions, decided)

    def _on_decisions(self, gate_ids: list[str]) -> None:
        for gate_id in gate_ids:
            node_id = self.template.gate_node(gate_id).id
            self.candidates.update(self.children[node_id])
        self._poke()

    def _poke(self) -> None:
        self.run._mark_busy()
        if self._wake is not None:
            self._wake.set()

    # ------------------------------------------------------------------ loop
    async def drive(self) -> None:
        self._thread_id = threading.get_ident()
        self._wake = asyncio.Event()
        try:
            self._posed = any(g.status == "pending" for g in self.run._fold.gates.values())
            first = True
            while True:
                events = self._collect()
                ready = self._take_ready()
                if ready or first:  # first: pending -> executing; later: a run resuming
                    if ready and self.lease is None:  # settled earlier, given work by a decision
                        self._set_lease(self.run.store.leases.acquire(self.run.id))
                    if self.run._fold.status != "executing":
                        events.append(RunStatusChanged("executing"))
                    if ready:
                        events.append(NodeStarted(ready))
                first = False
                self._queue_events(events)
                if self._posed:
                    self._posed = False
                    self._watch_decisions()
                for node_id in ready:
                    self._dispatch(node_id)
                if not self.inflight and not self.candidates:
                    self._flush()
                    self._settle()
                    self.run._mark_idle()
                await self._wake.wait()
                self._wake.clear()
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):  # the process is closing: keep what we have
                self._flush()
            self._release()  # the run waits for a `resume`
            raise
        except LeaseHeld:  # another process executes the run now: it picks decisions up
            self._stop(None)
        except LeaseLost as exc:  # another process took the run over: write nothing more
            self._stop(exc)
        except BaseException as exc:  # the engine itself broke: say so, never leave waiters hanging
            try:
                events, self._unwritten = self._unwritten, []
                failed = RunStatusChanged("failed", reason=f"engine error: {exc!r}")
                self._write(*events, failed)
            finally:
                self._stop(exc)

    # ---------------------------------------------------------------- writing
    def _queue_events(self, events: list[Event]) -> None:
        """Write now what someone may be waiting for (a gate, an input, a failure, a status, a
        stored table); let plain node events wait up to BATCH_SECONDS to share a transaction.

        Readiness never waits for them (`values`, `_decided_here`), and lineage only reads gates
        and inputs, which are written at once; a commit costs about as much as ten events here,
        so batching is most of what a small node costs in the store."""
        if not events and not self._unwritten:
            return
        self._unwritten.extend(events)
        routine = all(_routine(e) for e in events)
        age = self.loop.time() - self._unwritten_since if self._unwritten_since else 0.0
        if not routine or age >= BATCH_SECONDS or len(self._unwritten) >= BATCH_EVENTS:
            self._flush()
        elif self._flush_timer is None:
            self._unwritten_since = self._unwritten_since or self.loop.time()
            self._flush_timer = self.loop.call_later(BATCH_SECONDS, self._flush_due)

    def _flush_due(self) -> None:
        self._flush_timer = None
        self._poke()  # the next step sees the batch old enough and writes it

    def _flush(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        self._unwritten_since = 0.0
        if self._unwritten:
            events, self._unwritten = self._unwritten, []
            self._write(*events)
            self._decided_here.clear()  # the record holds them now

    # ----------------------------------------------------------------- lease
    def _write(self, *events: Event) -> None:
        """Append the executor's events, refused (LeaseLost) unless this process holds the lease."""
        self.run._append(*events, guard=self._guard)

    def _set_lease(self, token: str | None) -> None:
        self.lease = token
        self._guard = self.run.store.leases.guard(self.run.id, token) if token else None

    def _release(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
            self._poll = None
        if self.lease is not None:
            self.run.store.leases.release(self.run.id, self.lease)
            self._set_lease(None)

    def _stop(self, crash: BaseException | None) -> None:
        """This process no longer executes the run."""
        self._release()
        if self.run._scheduler is self:
            self.run._scheduler = None
        self.run._mark_idle(crash=crash)

    def _watch_decisions(self) -> None:
        """While a gate is pending, re-read the store on a timer for decisions made elsewhere."""
        if self._poll is None:
            self._poll = self.loop.call_later(DECISION_POLL_SECONDS, self._poll_store)

    def _poll_store(self) -> None:
        self._poll = None
        if self.lease is None or not any(
            g.status == "pending" for g in self.run._fold.gates.values()
        ):
            return  # nothing to wait for; the next gate posed starts the timer again
        with contextlib.suppress(Exception):  # a busy or vanished store: try again next tick
            self.run.refresh()  # new decisions reach `observe` like local ones
        self._watch_decisions()

    def _take_ready(self) -> list[str]:
        ready = [n for n in self.candidates if self._is_ready(n)]
        self.candidates.clear()
        return sorted(ready, key=self.position.__getitem__) if len(ready) > 1 else ready

    def _is_ready(self, node_id: str) -> bool:
        if node_id in self.inflight or node_id in self.values or node_id in self._failed_here:
            return False
        fold = self.run._fold
        if fold.nodes[node_id].state in ("produced", "failed"):
            return False
        for up in self.template[node_id].upstream:
            if up not in self.values and fold.nodes[up].state != "produced":
                return False
            gate = self.template[up].gate
            if gate is not None:
                status = self._decided_here.get(gate.gate_id) or fold.gates[gate.gate_id].status
                if status != "confirmed":
                    return False
        return True

    def _dispatch(self, node_id: str) -> None:
        self.inflight.add(node_id)
        try:
            upstream = {up: self._value(up) for up in self.template[node_id].upstream}
        except Exception as exc:  # an upstream artifact gone from the store: this node fails
            self._finished.append((node_id, _failure(node_id, exc)))
            self._poke()
            return
        WORKERS.submit(self._run_node, node_id, upstream)

    def _run_node(self, node_id: str, upstream: dict[str, Value]) -> None:
        """In a worker thread: the node's work, handed back to the loop."""
        try:
            outcome: _Outcome | NodeFailed = self._work(node_id, upstream)
        except Exception as exc:
            outcome = _failure(node_id, exc)
        self._finished.append((node_id, outcome))
        if not self._wake_pending:  # one wake-up for however many nodes finish meanwhile
            self._wake_pending = True
            self.loop.call_soon_threadsafe(self._on_finished)

    def _on_finished(self) -> None:
        self._wake_pending = False  # before the step drains the queue: nothing is missed
        self._poke()

    def _collect(self) -> list[Event]:
        """The events of finished nodes; their children become candidates."""
        events: list[Event] = []
        while self._finished:
            node_id, outcome = self._finished.popleft()
            self.inflight.discard(node_id)
            self.candidates.update(self.children[node_id])
            if isinstance(outcome, NodeFailed):
                self._failed_here.add(node_id)
                events.append(outcome)
            else:
                self.values[node_id] = outcome.value
                events.extend(self._landing(node_id, outcome))
        return events

    # ------------------------------------------------------------ node work
    def _work(self, node_id: str, upstream: dict[str, Value]) -> _Outcome:
        """In a worker thread: compute, persist, gather evidence."""
        started = time.perf_counter()
        node = self.template[node_id]
        consumed = None
        if isinstance(node, SourceNode):
            value, consumed = read_source(self.sources[node_id], self.run.store, self.run.id)
        else:
            value = compute_node(node, upstream, self.sql)
        is_table = isinstance(value, pa.Table)
        artifact = self.run.store.put_table(value, self.run.id) if is_table else None
        evidence = self._evidence(node_id, value) if node.gate is not None else None
        return _Outcome(value, artifact, consumed, evidence, time.perf_counter() - started)

    def _evidence(self, node_id: str, value: Value) -> dict[str, Any]:
        node = self.template[node_id]
        assert node.gate is not None
        # Profile the table this process holds (just read, or just computed and stored), rather
        # than parse the file or the artifact again: the same rows, and on a large CSV it saves
        # a whole parse.
        if isinstance(node, SourceNode):
            src = self.sources[node_id]
            label = f"Source: {src.path.name if src.path else f'DataFrame {node_id!r}'}"
        else:
            label = f"Node: {node_id}"
        data = DataRef(table=to_table(value, node_id))
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
        value = self._value(name)
        return DataRef(table=to_table(value, name))

    def _value(self, node_id: str) -> Value:
        if node_id not in self.values:  # produced before this process took over: read it back
            result = self.run._fold.results[node_id]
            self.values[node_id] = (
                self.run.store.load_table(result.artifact) if result.artifact else result.value
            )
        return self.values[node_id]

    def _landing(self, node_id: str, outcome: _Outcome) -> list[Event]:
        """The events recording a produced node, written in one transaction."""
        node = self.template[node_id]
        fold = self.run._fold
        events: list[Event] = []
        if outcome.consumed is not None:
            events.append(outcome.consumed)
        inputs = dict(fold.inputs)
        if outcome.consumed is not None:
            inputs[node_id] = outcome.consumed  # type: ignore[assignment]
        value = outcome.value
        is_table = isinstance(value, pa.Table)
        events.append(
            NodeProduced(
                node_id=node_id,
                value_kind="table" if is_table else "scalar",
                value=None if is_table else value,
                artifact=outcome.artifact,
                rows=value.num_rows if is_table else None,
                columns=describe_columns(value) if is_table else [],
                derivation_code=self._code(node_id),
                derivation_explanation=node.explanation,
                sources=[
                    _source_ref(inputs[s]) for s in self.source_ancestors[node_id] if s in inputs
                ],
                gates_passed=[
                    _gate_ref(fold.gates[g])
                    for g in self.gate_ancestors[node_id]
                    if g in fold.gates
                ],
                seconds=round(outcome.seconds, 6),
            )
        )
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
                self._decided_here[decision.gate_id] = decision.decision
            self._posed = self._posed or not decided
        return events

    def _policy_decision(self, posed: GatePosed) -> list[Event]:
        if self.policy is None or needs_a_person(self.run._fold.gates[posed.gate_id]):
            return []
        gate = replace(
            self.run._fold.gates[posed.gate_id],
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

    def _code(self, node_id: str) -> str:
        if node_id not in self._codes:
            self._codes[node_id] = self.template[node_id].code
        return self._codes[node_id]

    # ---------------------------------------------------------------- status
    def _settle(self) -> None:
        fold = self.run._fold
        gates = fold.gates.values()
        if any(g.status == "pending" for g in gates):
            status = "executing"  # waiting for a decision
            if self.lease is None:  # a gate reopened here after the run had settled
                self._set_lease(self.run.store.leases.acquire(self.run.id))
            self._watch_decisions()
        elif any(n.state == "failed" for n in fold.nodes.values()):
            status = "failed"
        elif any(g.status == "rejected" for g in gates):
            status = "completed_partial"
        elif all(n.state == "produced" for n in fold.nodes.values()):
            status = "completed"
        else:
            status = "completed_partial"
        self._set_status(status)
        if status in FINAL_STATUSES:
            self._release()  # nothing left to execute: the run can be deleted or resumed elsewhere
        # A quiet moment: fold the WAL into the database file now, off the loop, rather than
        # inside one of the engine's commits (store/event_log.py).
        WORKERS.submit(_quietly, self.run.store.log.checkpoint)

    def _set_status(self, status: str) -> None:
        if self.run._fold.status != status:
            self._write(RunStatusChanged(status))


def _lineage(
    template: Template, order: tuple[str, ...]
) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """Per node, the source nodes and the gates above it, in topological order."""
    sources: dict[str, tuple[str, ...]] = {}
    gates: dict[str, tuple[str, ...]] = {}
    for node_id in order:
        node = template[node_id]
        own_sources: dict[str, None] = {node_id: None} if isinstance(node, SourceNode) else {}
        above: dict[str, None] = {}
        for up in node.upstream:
            own_sources.update(dict.fromkeys(sources[up]))
            above.update(dict.fromkeys(gates[up]))
            up_gate = template[up].gate
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


def _routine(event: Event) -> bool:
    """An event nobody waits for: a start, or a scalar landing. A stored table is written at
    once, so the window in which its file exists unreferenced stays as short as before."""
    if isinstance(event, NodeStarted):
        return True
    return isinstance(event, NodeProduced) and event.artifact is None


def _quietly(work: Any) -> None:
    with contextlib.suppress(Exception):  # a busy store checkpoints next time
        work()


def _failure(node_id: str, exc: Exception) -> NodeFailed:
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
