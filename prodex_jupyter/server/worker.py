"""The worker process the server starts to execute one run, off the server's event loop.

    python -m prodex_jupyter.server.worker [--store STORE] run TEMPLATE [--input NODE=PATH]... \
        [--by USER]
    python -m prodex_jupyter.server.worker [--store STORE] resume RUN_ID

The server hands the store over in PRODEX_STORE (a PostgreSQL URL may hold a password, which
must not show on a command line); `--store` overrides it.

It prints one JSON line on stdout as soon as the run is recorded (`{"run_id": ...}`, or
`{"error": ...}` when the run cannot start), drives the run while it holds the run's lease, and
exits when nothing more can progress without a decision (or the run ended): a gate nobody has
decided costs no process. The server resumes the run in a new worker after a decision. A worker
that fails or is killed takes only itself down; the run is then interrupted and resumable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from ..runtime import Run, load_run, start_run
from ..runtime.interruption import FINAL, runnable_nodes
from ..store import open_store
from ..template import load_template

SETTLE_S = 0.2  # a decision that just landed: give the executor time to pick it up


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    store = open_store(args.store)
    try:
        if args.command == "run":
            inputs = dict(item.split("=", 1) for item in args.input)
            run = start_run(
                load_template(args.template), inputs, store=store, started_by=args.by or None
            )
        else:
            run = load_run(args.run_id, store)
            run.resume()
    except Exception as exc:  # the server reports it; nothing was recorded by this worker
        _say({"error": str(exc), "type": type(exc).__name__})
        return 2
    _say({"run_id": run.id})
    drive(run)
    return 0


def drive(run: Run) -> None:
    """Until the run needs a person or ends: wait, and wait again while a decision that landed
    in the meantime still has to be picked up."""
    while True:
        run.wait()
        state = run.refresh().state
        if state.status in FINAL or not run.is_executing_here or not runnable_nodes(state):
            return
        time.sleep(SETTLE_S)


def _say(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m prodex_jupyter.server.worker")
    parser.add_argument("--store", default=None, help="default: $PRODEX_STORE")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run")
    p.add_argument("template")
    p.add_argument("--input", action="append", default=[], metavar="NODE=PATH")
    p.add_argument("--by", default="", help="who started the run (the server's Jupyter user)")
    p = sub.add_parser("resume")
    p.add_argument("run_id")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
