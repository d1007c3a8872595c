"""`prodex store copy SRC DST`: move a run history between an SQLite folder and PostgreSQL."""

from __future__ import annotations

import argparse
from typing import Any

from ..store import RunStore
from ..store.copy import CopyRefused, copy_store


def add_command(sub: Any) -> None:
    p = sub.add_parser("store", help="manage whole stores (copy between SQLite and PostgreSQL)")
    actions = p.add_subparsers(metavar="ACTION")
    c = actions.add_parser(
        "copy", help="copy every run and tombstone, verified on both sides; re-runnable"
    )
    c.add_argument("src", help="a store folder or a postgresql:// URL")
    c.add_argument("dst", help="a store folder or a postgresql:// URL")
    c.add_argument(
        "--src-artifacts",
        help="the source's artifacts: a folder or URI (default: $PRODEX_ARTIFACTS)",
    )
    c.add_argument(
        "--dst-artifacts",
        help="the destination's artifacts: a folder or URI (default: $PRODEX_ARTIFACTS)",
    )
    c.set_defaults(handler=_copy)


def _copy(args: argparse.Namespace) -> int:
    src = RunStore(args.src, artifacts=args.src_artifacts)
    dst = RunStore(args.dst, artifacts=args.dst_artifacts)
    try:
        done = copy_store(src, dst, progress=print)
    except CopyRefused as refused:
        print(f"store copy: {refused}")
        for problem in refused.problems:
            print(f"  {problem}")
        return 1
    print(f"store copy: {done}")
    return 0
