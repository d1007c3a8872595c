"""Plain functions that templates in the tests name as `module:function`."""

from __future__ import annotations

import threading


def total_amount(orders):
    return float(orders["amount"].sum())


def no_negative_amounts(rel):
    """A custom gate check: a function over a DuckDB relation."""
    bad = rel.filter("amount < 0").aggregate("count(*)").fetchone()[0]
    return bad == 0, f"{bad} negative amounts"


# Two branches that only finish when both run at once (a barrier is not picklable, so these live
# in a module: the run records them as module:function).
BRANCHES = threading.Barrier(2, timeout=10)


def left(t):
    BRANCHES.wait()  # only returns when `right` is running at the same time
    return 1


def right(t):
    BRANCHES.wait()
    return 2


HOLD = threading.Event()  # a node that computes until a test lets it go


def held(t):
    HOLD.wait(10)
    return 1.0
