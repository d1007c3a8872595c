"""A memo keyed by the identity of its arguments, for values built from shared objects.

The engine hands the fold the same lists again and again (a run_created event's node and gate
lists for every run of one template object, one lineage list for node after node). Comparing
those lists by value would cost what building the value costs, so the fold remembers what it
built from each list object. An entry holds the arguments it was built from: while it is kept,
no other object can take their ids.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

R = TypeVar("R")


class IdentityMemo(Generic[R]):
    """``fn(*args)``, built once per combination of argument objects; at most ``limit`` kept.

    Objects read back from a store are new each time and share nothing, so the memo is cleared
    when full rather than ordered by use: what is shared is built again at once."""

    __slots__ = ("_entries", "_fn", "_limit")

    def __init__(self, fn: Callable[..., R], limit: int) -> None:
        self._fn = fn
        self._limit = limit
        self._entries: dict[object, tuple[tuple[object, ...], R]] = {}

    def __call__(self, first: object, *rest: object) -> R:
        # One argument, the fold's case for every node, is keyed by its id alone: no tuple to
        # build per call (the call then costs what the hand-written cache it replaced did).
        key = (id(first), *map(id, rest)) if rest else id(first)
        entry = self._entries.get(key)
        if entry is None:
            if len(self._entries) >= self._limit:
                self._entries.clear()
            entry = self._entries[key] = ((first, *rest), self._fn(first, *rest))
        return entry[1]

    def __len__(self) -> int:
        return len(self._entries)
