"""Plain functions that templates in the tests name as `module:function`."""

from __future__ import annotations


def total_amount(orders):
    return float(orders["amount"].sum())


def no_negative_amounts(rel):
    """A custom gate check: a function over a DuckDB relation."""
    bad = rel.filter("amount < 0").aggregate("count(*)").fetchone()[0]
    return bad == 0, f"{bad} negative amounts"
