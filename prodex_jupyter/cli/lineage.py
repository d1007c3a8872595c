"""`prodex lineage RUN`: a run as OpenLineage events, to a lineage server or a JSON-lines file."""

from __future__ import annotations

import argparse
from typing import Any

from ..runtime import load_run
from ..store import RunStore


def add_command(sub: Any) -> None:
    p = sub.add_parser("lineage", help="emit a run as OpenLineage events (HTTP or a file)")
    p.add_argument("run")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a lineage server (Marquez, DataHub): POST to URL")
    where.add_argument("--file", help="append the events to this JSON-lines file")
    p.add_argument("--namespace", default="prodex", help="the job namespace (default: prodex)")
    p.set_defaults(handler=_lineage)


def _lineage(args: argparse.Namespace) -> int:
    from ..runtime.lineage_export import emit_lineage

    run = load_run(args.run, RunStore(args.store))
    events = emit_lineage(run, url=args.url, file=args.file, namespace=args.namespace)
    kinds = ", ".join(e.eventType.value for e in events)
    print(
        f"lineage: run {run.id} sent as {len(events)} OpenLineage events ({kinds}) "
        f"to {args.url or args.file}"
    )
    return 0
