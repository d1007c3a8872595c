"""`prodex`: run templates, review runs, decide gates, verify the record, from a terminal."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..runtime import (
    EXECUTOR,
    DecisionRefused,
    GateStateError,
    InputError,
    ResumeError,
    Run,
    compare,
    confirm_high,
    load_run,
    note_required,
    runnable_nodes,
    runs,
    start_run,
)
from ..runtime.policy import Policy
from ..store import (
    Anchor,
    AnchorRefused,
    GateRecord,
    LeaseHeld,
    Problem,
    RunNotFound,
    RunStore,
    load_anchor,
    take_anchor,
    verify_against,
    verify_run,
    verify_store,
)
from ..store.anchors import since, write_anchor
from ..store.disk_full import disk_full_message, is_disk_full
from ..store.run_store import store_root
from ..template import TemplateError, load_template
from . import lineage, render, store_copy

Decider = Callable[[Run, GateRecord], bool]


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except (
        TemplateError,
        InputError,
        GateStateError,
        DecisionRefused,
        RunNotFound,
        LeaseHeld,
        ResumeError,
        KeyError,
        ValueError,
    ) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"prodex: error: {message}", file=sys.stderr)
        return 2
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        run_id = getattr(exc, "run_id", None) or getattr(args, "run", None)
        root = store_root(args.store)
        print(f"prodex: error: {disk_full_message(root, run_id)}", file=sys.stderr)
        return 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="prodex", description=__doc__)
    parser.add_argument(
        "--store",
        help="run store: a folder or a postgresql:// URL (default: $PRODEX_STORE, $PRODEX_HOME "
        "or ./.prodex)",
        default=None,
    )
    sub = parser.add_subparsers(metavar="COMMAND")

    p = sub.add_parser("run", help="run a template, asking for each gate in a terminal")
    p.add_argument("template", type=Path, help="a *.prodex.yaml file")
    p.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NODE=PATH",
        help="read source NODE from PATH in this run (repeatable)",
    )
    p.add_argument(
        "--confirm-high",
        action="store_true",
        help="let the policy confirm gates whose confidence is high",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="time limit of every node that sets none (past it the node fails, the run goes on)",
    )
    p.set_defaults(handler=_run)

    p = sub.add_parser("show", help="print a run's record")
    p.add_argument("run")
    p.set_defaults(handler=_show)

    for verb, helptext in (
        (
            "confirm",
            "confirm a gate (or re-confirm a rejected one); --note required to re-confirm or to "
            "confirm over a failing check",
        ),
        ("reject", "reject a gate; --note says why (required)"),
        ("reopen", "reopen a decided gate; --note says why (required)"),
    ):
        p = sub.add_parser(verb, help=helptext)
        p.add_argument("run")
        p.add_argument("gate")
        p.add_argument("--note", default=None, help="why (kept in the run record)")
        p.add_argument("--by", default=None, help="who decides (default: $PRODEX_USER or login)")
        p.add_argument(
            "--resume",
            action="store_true",
            help="if no process is executing the run, continue it here (without asking)",
        )
        p.set_defaults(handler=_decide, verb=verb)

    p = sub.add_parser("runs", help="list runs: pipeline, status, gates, started, inputs")
    p.add_argument("--pipeline", action="append", default=None, help="only this pipeline")
    p.add_argument("--status", action="append", default=None, help="only runs in this status")
    p.set_defaults(handler=_runs)

    p = sub.add_parser("compare", help="compare runs of one pipeline: outputs and what changed")
    p.add_argument("runs", nargs="+", metavar="RUN")
    p.set_defaults(handler=_compare)

    p = sub.add_parser("delete", help="delete a whole run (its events and unshared artifacts)")
    p.add_argument("run")
    p.add_argument("--yes", action="store_true", help="do not ask (required without a terminal)")
    p.add_argument("--reason", default="", help="why: kept on the run's tombstone")
    p.add_argument("--by", default=None, help="who deletes (default: $PRODEX_USER or login, @host)")
    p.set_defaults(handler=_delete)

    p = sub.add_parser("resume", help="continue a run that no process is executing, here")
    p.add_argument("run")
    p.add_argument(
        "--confirm-high",
        action="store_true",
        help="let the policy confirm gates whose confidence is high",
    )
    p.add_argument(
        "--retry-failed",
        action="store_true",
        help="give failed nodes a new attempt (their failures stay on the record)",
    )
    p.set_defaults(handler=_resume)

    p = sub.add_parser(
        "verify",
        help="recompute hash chains, check every record of a run against its events, name "
        "anything changed or removed (exit 0 intact, 1 problems found, 2 bad arguments)",
    )
    p.add_argument("run", nargs="?")
    p.add_argument(
        "--anchor",
        nargs="?",
        const="",
        metavar="FILE",
        help="when the store is intact, record an anchor and print its digest (and write it "
        "to FILE): keep it outside the store",
    )
    p.add_argument(
        "--against",
        metavar="DIGEST_OR_FILE",
        help="also check that nothing recorded before this anchor changed (runs added, "
        "appended to or deleted with a tombstone since are fine)",
    )
    p.set_defaults(handler=_verify)

    p = sub.add_parser("demo", help="run the bundled plant KPI demo end to end")
    p.set_defaults(handler=_demo)
    lineage.add_command(sub)
    store_copy.add_command(sub)
    return parser


# ------------------------------------------------------------------- commands
def _run(args: argparse.Namespace) -> int:
    template = load_template(args.template)
    inputs = {}
    for item in args.input:
        node, sep, path = item.partition("=")
        if not sep or not node or not path:
            raise ValueError(f"--input {item!r} must look like NODE=PATH")
        inputs[node] = path
    interactive = sys.stdin.isatty()
    run = start_run(
        template,
        inputs,
        store=args.store,
        policy=confirm_high if args.confirm_high else None,
        timeout_s=args.timeout,
    )
    print(f"Run {run.id} of {template.id} started")
    run.subscribe(_print_progress)
    return _finish(run, interactive)


def _show(args: argparse.Namespace) -> int:
    print(render.run_text(load_run(args.run, _store(args))))
    return 0


_DECISIONS = {"confirm": "confirmed", "reject": "rejected", "reopen": "reopened"}


def _decide(args: argparse.Namespace) -> int:
    run = load_run(args.run, _store(args))
    gate = run.gates.get(args.gate)
    why = note_required(gate, _DECISIONS[args.verb]) if gate is not None else ""
    if why and not (args.note or "").strip():
        raise GateStateError(f"{why}: add --note TEXT")
    getattr(run, args.verb)(args.gate, note=args.note, by=args.by)
    gate = run.gates[args.gate]
    print(render.decision_text(gate))
    holder = run.executor
    if holder is not None:
        print(f"  {render.executor_text(holder)} executes run {run.id}: it picks the decision up")
        return 0
    if not runnable_nodes(run.state):
        return 0  # nothing can proceed yet: no one needs to execute the run
    if args.resume or (
        sys.stdin.isatty()
        and _yes(f"  No process is executing run {run.id}. Continue it here now? [y/N] ")
    ):
        return _continue(run, None)
    print(f"  No process is executing run {run.id}; continue it with: prodex resume {run.id}")
    return 0


def _runs(args: argparse.Namespace) -> int:
    table = runs(args.pipeline, args.status, store=_store(args))
    print(render.runs_text(table))
    return 0


def _compare(args: argparse.Namespace) -> int:
    print(compare(*args.runs, store=_store(args)).to_text())
    return 0


def _delete(args: argparse.Namespace) -> int:
    store = _store(args)
    run = load_run(args.run, store)
    state = run.state
    if not args.yes:
        if not sys.stdin.isatty():
            raise ValueError(f"deleting run {run.id} needs --yes when there is no terminal to ask")
        question = (
            f"Delete run {run.id} of {state.template_id} ({state.status}, "
            f"{state.last_seq + 1} events) and the artifacts no other run uses? [y/N] "
        )
        if not _yes(question):
            print("not deleted")
            return 1
    print(store.delete_run(run.id, by=args.by, reason=args.reason))
    return 0


def _resume(args: argparse.Namespace) -> int:
    run = load_run(args.run, _store(args))
    return _continue(run, confirm_high if args.confirm_high else None, args.retry_failed)


def _continue(run: Run, policy: Policy | None, retry_failed: bool = False) -> int:
    """Execute a stored run here, in the foreground, as `prodex run` does."""
    run.subscribe(_print_progress)
    run.resume(policy, retry_failed=retry_failed)
    for note in run.resume_notes:
        print(f"  note: {note}")
    if run.is_executing_here:
        print(f"Run {run.id} of {run.state.template_id} continues in this process")
    return _finish(run, sys.stdin.isatty())


def _finish(run: Run, interactive: bool) -> int:
    """Drive the run in the foreground (asking at a terminal), then print its record.

    Ctrl-C exits at once: what is computed is written, the lease released, nodes still
    computing abandoned; the run is left interrupted for `prodex resume`."""
    try:
        _drive(run, _ask if interactive else None)
    except KeyboardInterrupt:
        EXECUTOR.stop(timeout=1.0)
        print(f"\ninterrupted: run {run.id} stopped here; continue it with: prodex resume {run.id}")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)  # never wait for a node's thread (the interpreter would join it)
    print(render.run_text(run))
    if run.prompts:
        print(
            f"\nGates are waiting. Decide with: prodex confirm {run.id} GATE (or reject --note ...)"
        )
    return 1 if run.status == "failed" else 0


def _verify(args: argparse.Namespace) -> int:
    store = _store(args)
    if args.anchor is not None and args.run:
        raise ValueError("--anchor covers the whole store: give no RUN with it")
    anchor = load_anchor(store, args.against) if args.against else None
    if isinstance(anchor, Anchor):
        problems = verify_against(store, anchor, args.run)
    else:
        problems = verify_run(store, args.run) if args.run else verify_store(store)
        problems += [anchor] if anchor else []  # the digest has no intact record here
    checked = args.run or f"{len(store.run_ids())} runs"
    if problems:
        return _report(problems, checked)
    tombstones = "" if args.run else f", {len(store.tombstones())} tombstones of deleted runs"
    print(f"verify: {checked} intact{tombstones}")
    if isinstance(anchor, Anchor):
        print(f"verify: nothing recorded before {anchor} changed; {since(store, anchor)}")
    if args.anchor is not None:
        try:
            taken = take_anchor(store)
        except AnchorRefused as refused:  # something changed since the check above
            return _report(refused.problems, checked)
        if args.anchor:
            write_anchor(taken, args.anchor)
        print(f"{taken}\nKeep this digest outside the store; later: prodex verify --against DIGEST")
    return 0


def _report(problems: list[Problem], checked: str) -> int:
    print(f"verify: {len(problems)} problem(s) in {checked}:")
    for problem in problems:
        print(f"  {problem}")
    return 1


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(_store(args))


# -------------------------------------------------------------------- helpers
def _store(args: argparse.Namespace) -> RunStore:
    return RunStore(args.store)


def _print_progress(run: Run, events: list) -> None:
    for stored in events:
        line = render.event_line(stored.kind, stored.event.payload())
        if line:
            print(line, flush=True)


def _drive(run: Run, decide: Decider | None) -> None:
    """Wait for the run; put each prompt to `decide` until a round passes with no decision."""
    while True:
        run.wait()
        prompts = run.prompts
        if not prompts or decide is None:
            return
        decided = False
        for prompt in prompts:
            print()
            print(render.prompt_text(prompt))
            for gate in prompt.gates:
                decided = decide(run, gate) or decided
        if not decided:
            return


def _yes(question: str) -> bool:
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _reason(question: str) -> str:
    note = ""
    while not note.strip():
        note = input(question)
    return note


def _ask(run: Run, gate: GateRecord) -> bool:
    """Ask a person at the terminal; True when they decided."""
    while True:
        answer = input(f"  {gate.gate_id}: [c]onfirm / [r]eject / [s]kip? ").strip().lower()
        if answer in ("c", "confirm"):
            why = note_required(gate, "confirmed")
            run.confirm(gate.gate_id, note=_reason(f"    {why}.\n    reason: ") if why else None)
            return True
        if answer in ("r", "reject"):
            run.reject(gate.gate_id, note=_reason("    reason (required): "))
            return True
        if answer in ("s", "skip", ""):
            return False


if __name__ == "__main__":
    raise SystemExit(main())
