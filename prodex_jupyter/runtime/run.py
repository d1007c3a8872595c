"""`Run`: the handle a user holds on one run. It reads (a fold of the run's events) and decides
(it appends gate decisions); it never executes anything.

Executing is the executor's (runtime/executor.py): it starts and resumes runs, writes their node
events and tells the Run through a narrow interface (`fold`, `absorb`, `attach`, `detach`,
`mark_busy`, `mark_idle`). The same object serves a run executing in this process and a stored
run opened later or elsewhere (`load_run`): decisions are events either way, and the process that
executes the run reacts to them wherever they were made.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..store import (
    Conflict,
    GateDecided,
    GateRecord,
    InputRecord,
    Lease,
    Result,
    RunFold,
    RunNotFound,
    RunState,
    RunStore,
    StoredEvent,
    open_store,
)
from ..store.actor import current_actor
from ..store.disk_full import disk_full_message, is_disk_full
from ..template import Template
from .deciders import DecisionRefused, refusal
from .explain import display_state, why_not_produced
from .interruption import is_interrupted
from .observers import announce
from .prompts import Prompt, prompt_queue

if TYPE_CHECKING:
    from .policy import Policy

Listener = Callable[["Run", list[StoredEvent]], None]

# Which decisions each gate status allows (spec: Gate States).
_ALLOWED = {
    "confirmed": {"pending", "rejected"},  # confirm, or re-confirm after a rejection
    "rejected": {"pending"},
    "reopened": {"confirmed", "rejected"},
}


class Execution(Protocol):
    """What a Run asks of the executor executing it in this process."""

    @property
    def active(self) -> bool:
        """Still executing the run here (it holds, or will take again, the run's lease)."""
        ...

    def runs_on_this_thread(self) -> bool:
        """The run's event loop is this thread's (a notebook kernel): blocking would stall it."""
        ...


class GateStateError(ValueError):
    """A decision that the gate's current status does not allow, or that lacks its note."""


class RunEngineError(RuntimeError):
    """The engine itself failed (not a node): the run could not go on."""

    run_id: str | None = None


class Run:
    """One run of a template against one set of inputs."""

    def __init__(self, store: RunStore, run_id: str, template: Template | None = None) -> None:
        self.store = store
        self.id = run_id
        self.template = template
        self._lock = threading.RLock()
        self._fold = RunFold(loader=store.load_table)
        self._listeners: list[Listener] = []
        self._waiters: list[
            tuple[Callable[[], bool], asyncio.AbstractEventLoop, asyncio.Future]
        ] = []
        self._idle = threading.Event()
        self._idle.set()
        self._execution: Execution | None = None
        self._crash: BaseException | None = None
        self.resume_notes: list[str] = []  # what `resume()` wants a person to know

    # ------------------------------------------------------------------ state
    def refresh(self) -> Run:
        """Fold in events written since we last looked (by this process or any other)."""
        self.absorb(self.store.events(self.id, after=self._fold.last_seq))
        return self

    @property
    def state(self) -> RunState:
        if not self.is_executing_here:  # the executor here folds every event as it writes it
            self.refresh()
        with self._lock:
            return self._fold.snapshot()

    @property
    def status(self) -> str:
        return self.state.status

    @property
    def gates(self) -> Mapping[str, GateRecord]:
        return self.state.gates

    @property
    def results(self) -> Mapping[str, Result]:
        return self.state.results

    @property
    def inputs(self) -> Mapping[str, InputRecord]:
        return self.state.inputs

    @property
    def prompts(self) -> list[Prompt]:
        """The gate prompts to put in front of a person now (see `prompts.prompt_queue`)."""
        return prompt_queue(self.state)

    @property
    def outputs(self) -> dict[str, Any]:
        """Values of the produced output nodes."""
        state = self.state
        return {
            node_id: result.get()
            for node_id, result in state.results.items()
            if state.nodes[node_id].kind == "output"
        }

    def value(self, node_id: str) -> Any:
        """A node's value (scalar or DataFrame); a clear error says why when there is none."""
        state = self.state
        if node_id not in state.nodes:
            raise KeyError(
                f"run {self.id} has no node {node_id!r} (nodes: {', '.join(state.nodes)})"
            )
        result = state.results.get(node_id)
        if result is None:
            raise LookupError(f"run {self.id}: {why_not_produced(state, node_id)}")
        return result.get()

    def why_not_produced(self, node_id: str) -> str:
        return why_not_produced(self.state, node_id)

    def node_state(self, node_id: str) -> str:
        return display_state(self.state, node_id)

    @property
    def deleted(self) -> bool:
        """True once the run was deleted from its store (by another process or person)."""
        return self._fold.last_seq >= 0 and not self.store.log.has_run(self.id)

    @property
    def is_executing_here(self) -> bool:
        execution = self._execution
        return execution is not None and execution.active

    @property
    def executor(self) -> Lease | None:
        """The live lease of the process executing this run (this one or another), or None."""
        return self.store.leases.holder(self.id)

    @property
    def interrupted(self) -> bool:
        """No process executes the run any more, yet it could go on (see `is_interrupted`):
        `resume()` continues it."""
        if self.is_executing_here:
            return False
        return is_interrupted(self.state, self.executor)

    def resume(self, policy: Policy | None = None, *, retry_failed: bool = False) -> Run:
        """Continue a run no process is executing (kernel restarted, command line exited), here.

        Nodes whose result is stored are not recomputed; nodes left running by a dead process run
        again; with `retry_failed`, failed nodes get a new attempt (the failure stays on the
        record). Refused (LeaseHeld) while another live process executes the run. Returns at
        once, like `Template.run`; `policy` decides gates posed from now on.
        """
        from .executor import EXECUTOR  # the one executor of this process

        return EXECUTOR.resume(self, policy=policy, retry_failed=retry_failed)

    def __repr__(self) -> str:
        state = self.state
        k, n = state.gates_resolved
        return (
            f"<Run {self.id} of {state.template_id}: {state.status}, gates resolved {k} / {n}, "
            f"{len(state.results)} / {len(state.nodes)} nodes produced>"
        )

    # -------------------------------------------------------------- decisions
    def confirm(self, gate_id: str, note: str | None = None, by: str | None = None) -> Run:
        """Approve a gate; downstream nodes unblock (also re-confirms a rejected gate).

        A note is required to re-confirm after a rejection and to confirm a gate whose checks
        failed: an override an auditor must be able to read the reason for."""
        return self._decide(gate_id, "confirmed", note or "", by)

    def reject(self, gate_id: str, note: str | None = None, by: str | None = None) -> Run:
        """Flag a problem; downstream stays blocked. A reason is required: it is the audit trail."""
        return self._decide(gate_id, "rejected", note or "", by)

    def reopen(self, gate_id: str, note: str | None = None, by: str | None = None) -> Run:
        """Take a decision back (a note says why): values already produced stay; new downstream
        work blocks."""
        return self._decide(gate_id, "reopened", note or "", by)

    def _decide(self, gate_id: str, decision: str, note: str, by: str | None) -> Run:
        actor = by or current_actor()
        for _attempt in range(20):
            with self._lock:
                if self.deleted:
                    raise RunNotFound(
                        f"run {self.id} was deleted from the store at {self.store.root}: "
                        f"nothing can be decided on it (gate {gate_id!r} not {decision})"
                    )
                self.refresh()
                state = self._fold.snapshot()
                gate = state.gates.get(gate_id)
                if gate is None:
                    raise KeyError(
                        f"run {self.id} has no gate {gate_id!r} (gates: {', '.join(state.gates)})"
                    )
                if gate.status not in _ALLOWED[decision]:
                    raise GateStateError(_refusal(gate, decision))
                why = note_required(gate, decision)
                if why and not note.strip():
                    raise GateStateError(why)
                if refused := refusal(gate, decision, actor, state.started_by, self.id):
                    raise DecisionRefused(refused)
                event = GateDecided(gate_id, decision, actor, note, gate.confidence)
                try:
                    stored = self.store.append(self.id, event, expect_last=state.last_seq)
                    self.absorb(stored)  # an executor here hears it before this returns
                    return self
                except Conflict:
                    continue  # another process wrote meanwhile: re-read and re-check
        raise RuntimeError(f"run {self.id}: the store kept changing; decision not recorded")

    # ---------------------------------------------------------------- waiting
    def wait(self, timeout: float | None = None) -> Run:
        """Block until nothing more can progress without a decision (outside an event loop)."""
        execution = self._execution
        if execution is not None and execution.active and execution.runs_on_this_thread():
            raise RuntimeError(
                "run.wait() would block the event loop this run executes on (a notebook kernel); "
                "use `await run.until_idle()` instead"
            )
        if not self._idle.wait(timeout):
            raise TimeoutError(f"run {self.id} still busy after {timeout} s")
        if self._crash is not None:
            failed = f"the engine failed: {self._crash!r}"
            if is_disk_full(self._crash):  # in Python, resume is `px.load_run(id).resume()`
                failed = disk_full_message(self.store.root, self.id)
            error = RunEngineError(f"run {self.id}: {failed}")
            error.run_id = self.id
            raise error from self._crash
        return self

    async def until_idle(self) -> Run:
        """In a running loop: wait, without blocking it, until the run needs a decision or ends."""
        await self._until(self._idle.is_set)
        return self

    async def next_prompt(self) -> Prompt | None:
        """The next gate prompt, as soon as there is one; None if the run ends without one."""
        await self._until(lambda: bool(self.prompts) or self._idle.is_set())
        prompts = self.prompts
        return prompts[0] if prompts else None

    async def _until(self, predicate: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        with self._lock:
            if predicate():
                return
            self._waiters.append((predicate, loop, future))
        await future

    # ------------------------------------------------------------ observation
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(run, new_events)` after events land; returns a function to unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    # ------------------------------------------------------ executor interface
    @property
    def fold(self) -> RunFold:
        """The fold as it stands, without taking a snapshot: the executor reads it per node.
        Read it; only `absorb` applies events to it."""
        return self._fold

    def absorb(self, stored: list[StoredEvent]) -> None:
        """Fold in events just written to the store (by this process), then tell listeners.
        Anything written by others in between is read from the store first."""
        if not stored:
            return
        with self._lock:
            last = self._fold.last_seq
            if stored[0].seq > last + 1:  # someone else wrote in between
                stored = self.store.events(self.id, after=last)
            # What one append returned follows the fold's last event (the usual case) or, read
            # back after another process wrote, starts at or before it.
            fresh = (
                stored
                if stored and stored[0].seq == last + 1
                else [e for e in stored if e.seq > last]
            )
            for event in fresh:
                self._fold.apply(event)
            listeners = list(self._listeners)
        if not fresh:
            return
        for listener in listeners:
            listener(self, fresh)
        self._check_waiters()

    def attach(self, execution: Execution) -> None:
        """This process starts executing the run: `wait()` now waits for it."""
        with self._lock:
            self._execution = execution
            self._crash = None
        self.mark_busy()

    def detach(self, execution: Execution, crash: BaseException | None = None) -> None:
        """This process no longer executes the run (`crash`: the engine itself failed)."""
        with self._lock:
            if self._execution is not execution:
                return  # an older execution, retired: a newer one drives the run
            self._execution = None
        self.mark_idle(crash)

    def mark_busy(self) -> None:
        """The executor has work in hand: `wait()` blocks until `mark_idle`."""
        self._idle.clear()

    def mark_idle(self, crash: BaseException | None = None) -> None:
        """Nothing more moves without a decision, or the run ended."""
        if crash is not None:
            self._crash = crash
        self._idle.set()
        self._check_waiters()

    def _check_waiters(self) -> None:
        with self._lock:
            if not self._waiters:
                return
            due = [w for w in self._waiters if w[0]()]
            self._waiters = [w for w in self._waiters if w not in due]
        for _, loop, future in due:
            loop.call_soon_threadsafe(_resolve, future)


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _refusal(gate: GateRecord, decision: str) -> str:
    verb = {"confirmed": "confirm", "rejected": "reject", "reopened": "reopen"}[decision]
    if gate.status == "not_reached":
        return f"gate {gate.gate_id!r} has not been reached yet: there is nothing to {verb}"
    hint = {
        ("confirmed", "confirmed"): "it is already confirmed",
        ("rejected", "rejected"): "it is already rejected",
        ("rejected", "confirmed"): "reopen it first, then reject",
        ("reopened", "pending"): "it is already open (pending)",
    }.get((decision, gate.status), f"it is {gate.status}")
    return f"cannot {verb} gate {gate.gate_id!r}: {hint}"


def note_required(gate: GateRecord, decision: str) -> str:
    """Why `decision` on `gate` needs a note (the refusal's sentence), or "" when it does not.

    Rejecting, reopening, re-confirming after a rejection and confirming over a failing check
    all override something; the note is what an auditor reads to see why."""
    name = f"gate {gate.gate_id!r}"
    if decision == "rejected":
        return f"rejecting {name} needs a note saying what is wrong"
    if decision == "reopened":
        return f"reopening {name} needs a note saying why"
    if decision != "confirmed":
        return ""
    if gate.status == "rejected":
        return f"re-confirming {name} after its rejection needs a note saying why"
    failing = failing_checks(gate)
    if failing:
        listed = "; ".join(failing[:3]) + ("; …" if len(failing) > 3 else "")
        plural = "s" if len(failing) > 1 else ""
        return f"confirming {name} needs a note saying why: its check{plural} failed ({listed})"
    if gate.confidence == "low":
        return f"confirming {name} needs a note saying why: its confidence is low"
    return ""


def failing_checks(gate: GateRecord) -> list[str]:
    """The bullets of the gate's checks that failed, as the evidence recorded them."""
    checks = (gate.evidence or {}).get("checks") or ()
    return [str(c.get("bullet", "")) for c in checks if c.get("status") == "fail"]


def load_run(run_id: str, store: RunStore | str | None = None) -> Run:
    """A stored run, to review or decide on (it does not execute in this process)."""
    run = Run(open_store(store), run_id)
    run.refresh()
    if run.fold.last_seq < 0:
        raise RunNotFound(f"no run {run_id!r} in the store at {run.store.root}")
    announce(run)
    return run
