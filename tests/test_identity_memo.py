"""The fold's identity memo: built once per argument object, never confused by equal objects."""

from __future__ import annotations

from prodex_jupyter.store.identity_memo import IdentityMemo


def _counting():
    calls: list[tuple[object, ...]] = []

    def build(*args: object) -> tuple[int, ...]:
        calls.append(args)
        return tuple(len(a) for a in args)  # type: ignore[arg-type]

    return calls, build


def test_the_same_objects_are_built_once_and_equal_ones_are_built_again():
    calls, build = _counting()
    memo = IdentityMemo(build, 8)
    nodes, gates = [1, 2], [3]
    assert memo(nodes, gates) == (2, 1)
    assert memo(nodes, gates) == (2, 1)
    assert len(calls) == 1
    assert memo([1, 2], [3]) == (2, 1)  # equal, not the same: its own entry
    assert len(calls) == 2
    assert memo(gates, nodes) == (1, 2)  # order is part of the key
    assert len(calls) == 3


def test_an_entry_keeps_its_arguments_so_a_freed_id_cannot_alias():
    memo = IdentityMemo(lambda entries: tuple(entries), 8)
    # Each list is dropped by the caller at once: were the memo not holding it, the next list
    # would take its id (CPython reuses the freed object) and get the old value back.
    assert [memo([i]) for i in range(20)] == [(i,) for i in range(20)]


def test_it_is_cleared_when_full_and_builds_again():
    calls, build = _counting()
    memo = IdentityMemo(build, 2)
    a, b, c = [1], [2], [3]
    memo(a)
    memo(b)
    assert len(memo) == 2
    memo(c)  # full: cleared, then c
    assert len(memo) == 1
    memo(a)
    assert len(calls) == 4
