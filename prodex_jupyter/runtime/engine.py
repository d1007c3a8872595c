"""Starting a run: check inputs, write the run record, hand the DAG to a scheduler on a loop."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from ..store import RunCreated, RunStore, open_store
from ..template import Template
from .compute import resolve_inputs
from .deciders import gate_rules
from .loop import background_loop, caller_loop
from .observers import announce
from .policy import Policy
from .run import Run, current_actor
from .scheduler import Scheduler

# Schedulers of runs executing in this process, kept alive while they wait for decisions (asyncio
# holds tasks only weakly, and a decision may come from another process long after the caller
# has dropped its Run).
LIVE: dict[str, Scheduler] = {}


def start_run(
    template: Template,
    inputs: Mapping[str, Any] | None = None,
    *,
    store: RunStore | str | None = None,
    policy: Policy | None = None,
) -> Run:
    """Create the run record (status pending, no results, no gate decisions) and start executing.

    Returns at once. Inside a running event loop (a notebook kernel) the run is a task on that
    loop; elsewhere it runs on a background loop thread and `run.wait()` blocks until it needs a
    decision or ends.
    """
    order = template.topological_order()  # validates the template unless it already was
    sources = resolve_inputs(template, dict(inputs or {}))  # a bad input fails before any record
    the_store = open_store(store)
    created = RunCreated(
        template_id=template.id,
        fingerprint=template.fingerprint,
        template=template.to_dict(),
        node_digests=template.node_digests(),
        nodes=[
            {
                "id": node_id,
                "kind": template[node_id].kind,
                "upstream": list(template[node_id].upstream),
                "gate_id": template[node_id].gate.gate_id if template[node_id].gate else None,
            }
            for node_id in order
        ],
        gates=[
            {
                "gate_id": gate.gate_id,
                "node_id": template.gate_node(gate.gate_id).id,
                "name": gate.name,
                "description": gate.description,
                **gate_rules(gate),
            }
            for gate in template.gates.values()
        ],
        inputs={node_id: src.describe() for node_id, src in sources.items()},
        base_dir=str(template.base_dir or ""),
        started_by=current_actor(),
    )
    first = the_store.create_run(created)
    run = Run(the_store, first.run_id, template)
    run._absorb([first])
    lease = the_store.leases.acquire(run.id)  # this process executes the run (store/leases.py)
    return launch(run, template, sources, policy, lease)


def launch(
    run: Run,
    template: Template,
    sources: Mapping[str, Any],
    policy: Policy | None,
    lease: str,
) -> Run:
    """Execute `run` in this process (it holds the run's lease): a new run, or one resumed."""
    loop = caller_loop()
    scheduler = Scheduler(run, template, dict(sources), policy, loop or background_loop(), lease)
    run._scheduler = scheduler
    run._mark_busy()
    if loop is not None:
        scheduler.task = loop.create_task(scheduler.drive())
    else:
        scheduler.task = asyncio.run_coroutine_threadsafe(scheduler.drive(), scheduler.loop)
    LIVE[run.id] = scheduler
    announce(run)
    return run
