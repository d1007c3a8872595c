"""The executor: the one object in a process that executes runs. It starts new runs, resumes
stored ones and drives them; `Template.run()`, `Run.resume()`, the command line (`prodex run`,
`prodex resume`) and the Jupyter server's worker processes all go through `EXECUTOR`.

It owns what executing takes: the run's lease (store/leases.py: exactly one process executes a
run, and every event it writes is fenced by the lease), the event loop the run is driven on (the
kernel's own in a notebook, else a background loop thread), the worker threads nodes compute in,
node time limits, and the registry of runs executing here. A `Run` only reads and decides; an
`Execution` tells it what happens through `Run.absorb`, `attach`, `detach`, `mark_busy` and
`mark_idle`, and hears its decisions through `Run.subscribe`.

One scheduler step writes at most one transaction: what finished nodes produced, then the nodes
this makes ready, started; plain node events of successive steps share one for up to
BATCH_SECONDS. Workers hand finished nodes back through a queue with one loop wake-up per batch,
rather than an asyncio task and future per node, which cost more than a trivial node's own work
(bench/engine.py measures the engine per node). While a gate is pending, a decision recorded by
another process (the command line, another kernel) is picked up: a PostgreSQL store notifies the
executor (LISTEN/NOTIFY); an SQLite store is re-read every DECISION_POLL_SECONDS. No polling
happens per node.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from ..store import (
    Event,
    GateDecided,
    LeaseHeld,
    LeaseLost,
    NodeFailed,
    NodeProduced,
    NodeStarted,
    RunCreated,
    RunStatusChanged,
    RunStore,
    StoredEvent,
    open_store,
)
from ..store.actor import current_actor
from ..store.disk_full import is_disk_full
from ..store.leases import HOST
from ..template import Template
from . import collector
from .compute import SourceInput, resolve_inputs
from .created import template_record
from .functions import record_functions
from .interruption import FINAL, runnable_nodes
from .loop import WORKERS, background_loop, caller_loop
from .observers import announce
from .policy import Policy
from .resume import plan_resume
from .run import Run, load_run
from .scheduler import Outcome, Scheduler, failure

DECISION_POLL_SECONDS = 0.25


@dataclass(frozen=True)
class _Watching:
    """A store's watch on a run's decisions, cancelled like the timer it replaces."""

    cancel: Callable[[], None]


BATCH_SECONDS = 0.02  # the longest a plain node event waits to be written with others
BATCH_EVENTS = 1000


class Executor:
    """Starts, resumes and drives runs in this process. Use the module's `EXECUTOR`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Executions of this process, kept alive while they work or wait for decisions (asyncio
        # holds tasks only weakly, and a decision may come from another process long after the
        # caller has dropped its Run). One whose run ended leaves (`_forget`): only its Run
        # keeps it then, to hear a decision taken on that Run (a gate reopened or re-confirmed).
        self._live: dict[str, Execution] = {}

    # ------------------------------------------------------------------ public
    def start(
        self,
        template: Template,
        inputs: Mapping[str, Any] | None = None,
        *,
        store: RunStore | str | None = None,
        policy: Policy | None = None,
        timeout_s: float | None = None,
        started_by: str | None = None,
    ) -> Run:
        """Create the run record (status pending, no results, no gate decisions) and execute it.

        Returns at once. Inside a running event loop (a notebook kernel) the run is a task on
        that loop; elsewhere it runs on a background loop thread and `run.wait()` blocks until it
        needs a decision or ends. `timeout_s` is the time limit of every node that sets none.
        `started_by` names who started it (four-eyes gates compare deciders with it); by default
        the one acting here (store/actor.py), and the Jupyter server passes its authenticated user.
        Refused before any record exists when an input is unusable or a python node could not be
        resumed in another process (functions.py says why and what to do).
        """
        template.topological_order()  # validates the template unless it already was
        limit = _check_limit(timeout_s)
        sources = resolve_inputs(template, dict(inputs or {}))  # a bad input fails first
        functions = record_functions(template)  # refused here, never later on resume
        the_store = open_store(store)
        for capture in functions.captures.values():
            the_store.artifacts.put_bytes(capture)
        created = RunCreated(
            template_id=template.id,
            fingerprint=template.fingerprint,
            **template_record(template),
            inputs={node_id: src.describe() for node_id, src in sources.items()},
            base_dir=str(template.base_dir or ""),
            started_by=started_by or current_actor(),
            functions=functions.records,
            timeout_s=limit,
        )
        first = the_store.create_run(created)
        for capture in functions.captures.values():  # claimed now that the run exists
            the_store.put_bytes(capture, first.run_id)
        run = Run(the_store, first.run_id, template)
        run.absorb([first])
        lease = the_store.leases.acquire(run.id)  # this process executes the run
        return self._launch(run, template, sources, policy, lease)

    def resume(
        self,
        run: Run | str,
        *,
        store: RunStore | str | None = None,
        policy: Policy | None = None,
        retry_failed: bool = False,
    ) -> Run:
        """Execute a stored run here from where it stands (runtime/resume.py plans it).

        Nodes whose result is stored are not recomputed; nodes left running by a dead process run
        again; with `retry_failed`, failed nodes get a new attempt (a `node_retried` event; the
        failure stays on the record). Refused (LeaseHeld) while another live process executes
        the run. Returns at once; `run.resume_notes` says what a person should know.
        """
        if isinstance(run, str):
            run = load_run(run, store)
        live = self._live.get(run.id)
        if live is not None and live.lease is not None:
            return live.run  # already executing here
        run.refresh()
        if not _has_work(run, retry_failed):
            run.resume_notes = [f"run {run.id} is {run.state.status}: nothing to resume"]
            return run
        plan = plan_resume(run, retry_failed=retry_failed)
        leases = run.store.leases
        lease = leases.acquire(run.id)  # LeaseHeld while another live process executes it
        try:
            run.refresh()  # another process may have finished it while we planned
            if not _has_work(run, retry_failed):
                leases.release(run.id, lease)
                run.resume_notes = [f"run {run.id} is {run.state.status}: nothing to resume"]
                return run
            reason = f"resumed by process {os.getpid()} on {HOST}"
            if plan.rerun:
                reason += (
                    f"; re-running {', '.join(plan.rerun)} (left running by a stopped process)"
                )
            events: list[Event] = [*plan.retries, RunStatusChanged("executing", reason=reason)]
            run.absorb(run.store.append(run.id, *events, guard=leases.guard(run.id, lease)))
            run.template = plan.template
            run.resume_notes = plan.notes
            if live is not None:
                live.retire()  # settled here earlier: the new execution takes over
            self._launch(run, plan.template, plan.sources, policy, lease)
        except BaseException:
            leases.release(run.id, lease)
            raise
        return run

    def execution(self, run_id: str) -> Execution | None:
        """The execution of `run_id` in this process, if it is still active."""
        live = self._live.get(run_id)
        return live if live is not None and live.active else None

    def executing(self) -> list[str]:
        """Ids of the runs this process executes now (it holds their leases)."""
        return [run_id for run_id, e in list(self._live.items()) if e.lease is not None]

    def stop(self, timeout: float = 2.0) -> None:
        """Stop executing every run here (Ctrl-C, a worker told to stop): write what is already
        computed, release the leases, and leave the runs to be resumed (they show interrupted
        when work was left). Nodes still computing are abandoned, never waited for."""
        waits = []
        for execution in list(self._live.values()):
            waits.append(execution.cancel())
        for wait in waits:
            with contextlib.suppress(Exception):
                wait(timeout)

    # ---------------------------------------------------------------- private
    def _launch(
        self,
        run: Run,
        template: Template,
        sources: Mapping[str, SourceInput],
        policy: Policy | None,
        lease: str,
    ) -> Run:
        loop = caller_loop()
        scheduler = Scheduler(run, template, dict(sources), policy)
        created = run.fold.created
        default_limit = created.timeout_s if created is not None else None
        execution = Execution(run, scheduler, loop or background_loop(), lease, default_limit)
        execution.registry = self
        run.attach(execution)
        execution.begin(on_caller_loop=loop is not None)
        announce(run)
        return run

    def _keep(self, execution: Execution) -> None:
        with self._lock:
            self._live[execution.run.id] = execution

    def _forget(self, execution: Execution) -> None:
        with self._lock:
            if self._live.get(execution.run.id) is execution:
                del self._live[execution.run.id]


def _has_work(run: Run, retry_failed: bool) -> bool:
    state = run.state
    if state.status not in FINAL or runnable_nodes(state):
        return True
    return retry_failed and any(n.state == "failed" for n in state.nodes.values())


def _check_limit(timeout_s: float | None) -> float | None:
    if timeout_s is None:
        return None
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or timeout_s <= 0:
        raise ValueError(f"timeout_s must be a positive number of seconds, not {timeout_s!r}")
    return float(timeout_s)


class Execution:
    """One run executing in this process: its lease, its loop, its scheduler, its workers."""

    def __init__(
        self,
        run: Run,
        scheduler: Scheduler,
        loop: asyncio.AbstractEventLoop,
        lease: str | None,
        default_limit: float | None,
    ) -> None:
        self.run = run
        self.scheduler = scheduler
        self.loop = loop
        self.default_limit = default_limit
        self.task: Any = None  # the drive() task (a kernel's loop) or future (background loop)
        self.registry: Executor | None = None  # keeps it alive while it works or waits
        self._on_caller_loop = False
        self._ended_run = False  # drive() returned because the run ended (not stopped)
        self.lease: str | None = None  # token of the run's lease while this process holds it
        self._guard: Any = None
        self._set_lease(lease)
        self._wake: asyncio.Event | None = None
        self._thread_id: int | None = None
        self._finished: deque[tuple[str, Outcome | NodeFailed]] = deque()  # from workers
        self._wake_pending = False  # a worker has asked the loop for a step already
        self._unwritten: list[Event] = []  # node events waiting to share a transaction
        self._unwritten_since = 0.0  # loop time of the oldest of them
        self._flush_timer: asyncio.TimerHandle | None = None
        self._poll: asyncio.TimerHandle | _Watching | None = None
        self._deadlines: dict[str, asyncio.TimerHandle] = {}
        self._expired: set[str] = set()  # past their limit: a late result is ignored
        self._queries: dict[str, duckdb.DuckDBPyConnection] = {}  # SQL running, by node
        self._retired = False
        self._disk_full: BaseException | None = None  # a worker found the store's disk full
        self._ended = threading.Event()  # drive() has returned: written, lease released
        self._working = False  # between a step with work and the next quiet moment (collector)
        self._unsubscribe = run.subscribe(self._on_events)

    # --------------------------------------------------------------- interface
    @property
    def active(self) -> bool:
        return not self._retired and self.task is not None and not self.task.done()

    def runs_on_this_thread(self) -> bool:
        if self._thread_id is not None:
            return self._thread_id == threading.get_ident()
        return caller_loop() is self.loop  # not started yet: is its loop this thread's?

    def begin(self, on_caller_loop: bool, *, first: bool = True) -> None:
        """Drive the run (`first`: from its start or a resume; else woken by a decision after
        it had ended)."""
        self._on_caller_loop = on_caller_loop
        self._ended_run = False
        self._ended.clear()
        if self.registry is not None:
            self.registry._keep(self)
        if on_caller_loop:
            self.task = self.loop.create_task(self.drive(first))
        else:
            self.task = asyncio.run_coroutine_threadsafe(self.drive(first), self.loop)

    def cancel(self) -> Any:
        """Stop driving (thread-safe); returns a function waiting up to a timeout for the end."""
        task = self.task
        if task is None or task.done():
            return lambda _timeout: None
        if isinstance(task, asyncio.Task):
            if self.runs_on_this_thread():
                task.cancel()
            else:
                self.loop.call_soon_threadsafe(task.cancel)
            return lambda _timeout: None  # ends when its loop next runs
        # A concurrent future: cancels the task on the background loop. The future counts as
        # done at once; what is computed is written and the lease released only when drive()
        # has handled the cancellation, so wait for that.
        task.cancel()
        return self._ended.wait

    def retire(self) -> None:
        """A newer execution of the same run takes over: hear nothing more, write nothing more."""
        self._retired = True
        self._unsubscribe()
        task = self.task
        if task is not None and not task.done():
            if isinstance(task, asyncio.Task) and not self.runs_on_this_thread():
                self.loop.call_soon_threadsafe(task.cancel)
            else:
                task.cancel()

    def _on_events(self, _run: Run, events: list[StoredEvent]) -> None:
        """After events land (any thread): decisions unblock downstream nodes."""
        decided = [e.event.gate_id for e in events if isinstance(e.event, GateDecided)]
        if not decided or self._retired:
            return
        self.run.mark_busy()  # a wait() after the decision must see the run move on
        if self.runs_on_this_thread():
            self._on_decisions(decided)
        else:
            self.loop.call_soon_threadsafe(self._on_decisions, decided)

    def _on_decisions(self, gate_ids: list[str]) -> None:
        self.scheduler.on_decisions(gate_ids)
        if self._ended_run and self._ended.is_set():  # the run had ended here
            if self._retired or self.run._execution is not self:  # another execution took over
                self._unsubscribe()
                return
            self.begin(self._on_caller_loop, first=False)
            return
        self._poke()

    def _poke(self) -> None:
        self.run.mark_busy()
        if self._wake is not None:
            self._wake.set()

    # -------------------------------------------------------------------- loop
    async def drive(self, first: bool = True) -> None:
        """Until the run ends (or is stopped): each step writes what finished nodes produced and
        starts the nodes this makes ready; waits for workers or decisions in between."""
        self._thread_id = threading.get_ident()
        self._wake = asyncio.Event()
        scheduler = self.scheduler
        try:
            scheduler.posed = any(g.status == "pending" for g in self.run.fold.gates.values())
            while True:
                self._work()
                events = self._collect()
                ready = scheduler.take_ready()
                if ready or first:  # first: pending -> executing; later: a run resuming
                    if ready and self.lease is None:  # settled earlier, given work by a decision
                        self._set_lease(self.run.store.leases.acquire(self.run.id))
                    if self.run.fold.status != "executing":
                        events.append(RunStatusChanged("executing"))
                    if ready:
                        events.append(NodeStarted(ready))
                first = False
                self._queue_events(events)
                if scheduler.posed:
                    scheduler.posed = False
                    self._watch_decisions()
                for node_id in ready:
                    self._dispatch(node_id)
                if scheduler.idle:
                    self._flush()
                    self._settle()
                    self.run.mark_idle()
                    self._rest()
                    if self.lease is None and self.run.fold.status in FINAL:
                        self._ended_run = True  # a decision on its Run drives it again
                        return
                await self._wake.wait()
                self._wake.clear()
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):  # the process is closing: keep what we have
                self._flush()
            self._stop(None)  # the run waits for a `resume`
            raise
        except LeaseHeld:  # another process executes the run now: it picks decisions up
            self._stop(None)
        except LeaseLost as exc:  # another process took the run over: write nothing more
            self._stop(exc)
        except BaseException as exc:  # the engine itself broke: say so, never leave waiters hanging
            if is_disk_full(exc):  # nothing more can be written: the run waits for a `resume`
                with contextlib.suppress(Exception):
                    self._release()
                self._set_lease(None)
                self._stop(exc)
                return
            try:
                events, self._unwritten = self._unwritten, []
                failed = RunStatusChanged("failed", reason=f"engine error: {exc!r}")
                self._write(*events, failed)
            finally:
                self._stop(exc)
        finally:
            self._rest()
            if self.registry is not None:
                self.registry._forget(self)
            self._ended.set()

    def _work(self) -> None:
        """The run has work in hand: the collector leaves older objects alone meanwhile."""
        if not self._working:
            self._working = True
            collector.busy()

    def _rest(self) -> None:
        if self._working:
            self._working = False
            collector.quiet()

    # ----------------------------------------------------------------- writing
    def _queue_events(self, events: list[Event]) -> None:
        """Write now what someone may be waiting for (a gate, an input, a failure, a status, a
        stored table); let plain node events wait up to BATCH_SECONDS to share a transaction.

        Readiness never waits for them (the scheduler's `values` and `decided_here`), and
        lineage only reads gates and inputs, which are written at once; a commit costs about as
        much as ten events here, so batching is most of what a small node costs in the store."""
        if not events and not self._unwritten:
            return
        self._unwritten.extend(events)
        # Routine: an event nobody waits for, a start or a scalar landing (a stored table is
        # written at once, so the window in which its file exists unreferenced stays short).
        routine = True
        for event in events:
            if isinstance(event, NodeProduced):
                if event.artifact is None:
                    continue
            elif isinstance(event, NodeStarted):
                continue
            routine = False
            break
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
            self.scheduler.decided_here.clear()  # the record holds them now

    def _write(self, *events: Event) -> None:
        """Append the executor's events, refused (LeaseLost) unless this process holds the lease."""
        if self._retired:
            return
        self.run.absorb(self.run.store.append(self.run.id, *events, guard=self._guard))

    # ------------------------------------------------------------------- lease
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
        for handle in self._deadlines.values():
            handle.cancel()
        self._deadlines.clear()
        self._unsubscribe()
        self.run.detach(self, crash=crash)

    def _watch_decisions(self) -> None:
        """While a gate is pending, watch for decisions made elsewhere: the store says when one
        is recorded if it can (PostgreSQL: LISTEN/NOTIFY), else it is re-read on a timer."""
        if self._poll is None:
            loop = self.loop
            unwatch = self.run.store.watch(
                self.run.id, lambda: loop.call_soon_threadsafe(self._poll_store)
            )
            if unwatch is None:
                self._poll = loop.call_later(DECISION_POLL_SECONDS, self._poll_store)
            else:
                self._poll = _Watching(unwatch)
                loop.call_soon(self._refresh)  # a decision recorded before the watch began

    def _refresh(self) -> None:
        with contextlib.suppress(Exception):  # a busy or vanished store: the next notice retries
            self.run.refresh()

    def _poll_store(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
            self._poll = None
        if self.lease is None or not any(
            g.status == "pending" for g in self.run.fold.gates.values()
        ):
            return  # nothing to wait for; the next gate posed starts the timer again
        with contextlib.suppress(Exception):  # a busy or vanished store: try again next tick
            self.run.refresh()  # new decisions reach `_on_events` like local ones
        self._watch_decisions()

    # ------------------------------------------------------------------- nodes
    def _dispatch(self, node_id: str) -> None:
        try:
            upstream = self.scheduler.upstream_values(node_id)
        except Exception as exc:  # an upstream artifact gone from the store: this node fails
            self._finished.append((node_id, failure(node_id, exc)))
            self._poke()
            return
        limit = self.scheduler.nodes[node_id].timeout_s
        if limit is None:
            limit = self.default_limit
        if limit is not None:
            self._deadlines[node_id] = self.loop.call_later(limit, self._expire, node_id, limit)
        WORKERS.submit(self._run_node, node_id, upstream)

    def _run_node(self, node_id: str, upstream: dict[str, Any]) -> None:
        """In a worker thread: the node's work, handed back to the loop."""
        try:
            outcome: Outcome | NodeFailed = self.scheduler.work(
                node_id, upstream, on_query=self._on_query
            )
        except Exception as exc:
            if is_disk_full(exc):  # not the node's fault: stop; a resume redoes it
                self._disk_full = exc
            outcome = failure(node_id, exc)
        self._queries.pop(node_id, None)
        self._finished.append((node_id, outcome))
        if not self._wake_pending:  # one wake-up for however many nodes finish meanwhile
            self._wake_pending = True
            self.loop.call_soon_threadsafe(self._on_finished)

    def _on_query(self, node_id: str, con: duckdb.DuckDBPyConnection) -> None:
        self._queries[node_id] = con
        if node_id in self._expired:  # the limit passed while the node was getting ready
            con.interrupt()

    def _on_finished(self) -> None:
        self._wake_pending = False  # before the step drains the queue: nothing is missed
        self._poke()

    def _expire(self, node_id: str, limit: float) -> None:
        """A node ran past its time limit: it fails now, the run goes on, its result is ignored.

        SQL is interrupted (DuckDB stops the query); a python node's thread cannot be stopped,
        so it is abandoned to finish on its own and a new worker takes its place."""
        self._deadlines.pop(node_id, None)
        if node_id not in self.scheduler.inflight or node_id in self._expired:
            return
        self._expired.add(node_id)
        query = self._queries.get(node_id)
        if query is not None:
            with contextlib.suppress(Exception):
                query.interrupt()
        else:
            WORKERS.abandon()
        message = (
            f"TimeoutError: node '{node_id}' ran past its time limit of {limit:g} s and was "
            "stopped; the rest of the run goes on without it"
        )
        self._queue_events(self.scheduler.finished(node_id, NodeFailed(node_id, message, "")))
        self._poke()

    def _collect(self) -> list[Event]:
        """The events of finished nodes; their children become candidates."""
        if self._disk_full is not None:
            raise self._disk_full
        events: list[Event] = []
        finished, expired, deadlines = self._finished, self._expired, self._deadlines
        record = self.scheduler.finished
        while finished:
            node_id, outcome = finished.popleft()
            if node_id in expired:  # failed by its time limit already: too late
                expired.discard(node_id)
                continue
            if deadlines:
                handle = deadlines.pop(node_id, None)
                if handle is not None:
                    handle.cancel()
            events.extend(record(node_id, outcome))
        return events

    # ------------------------------------------------------------------ status
    def _settle(self) -> None:
        status = self.scheduler.settled_status()
        if status == "executing":  # waiting for a decision
            if self.lease is None:  # a gate reopened here after the run had settled
                self._set_lease(self.run.store.leases.acquire(self.run.id))
            self._watch_decisions()
        if self.run.fold.status != status:
            self._write(RunStatusChanged(status))
        if status in FINAL:
            self._release()  # nothing left to execute: the run can be deleted or resumed elsewhere
        # A quiet moment: fold the WAL into the database file now, off the loop, rather than
        # inside one of the engine's commits (store/event_log.py).
        WORKERS.submit(_quietly, self.run.store.log.checkpoint)


def _quietly(work: Any) -> None:
    with contextlib.suppress(Exception):  # a busy store checkpoints next time
        work()


EXECUTOR = Executor()
start_run = EXECUTOR.start  # what `Template.run()` calls (installed by runtime/__init__.py)
