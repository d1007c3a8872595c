"""Which chains a big graph opens folded (view/groups.py `chain_groups`): the same groups as the
first algorithm, which rebuilt the whole folded graph and searched it for a cycle at every merge
(kept here as the reference), on many random DAGs of the shapes that make it refuse a merge."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping, Sequence

import pytest

from prodex_jupyter.view.groups import MAX_GROUP, MIN_GROUP, PREFIX, Group, chain_groups


def reference_chain_groups(
    nodes: Sequence[str],
    upstream: Mapping[str, Sequence[str]],
    plain: Callable[[str], bool],
    refused: list[tuple[str, str]] | None = None,
) -> tuple[Group, ...]:
    """The first chain_groups, verbatim but for `refused` (the merges it refused, for the test
    to show its graphs exercise the refusal)."""
    group_of = {n: n for n in nodes}
    members: dict[str, list[str]] = {n: [n] for n in nodes}
    for node in nodes:
        if not plain(node):
            continue
        for up in upstream.get(node, ()):
            head = group_of.get(up)
            if head is None or not plain(up) or members[head][-1] != up:
                continue
            if len(members[head]) + len(members[group_of[node]]) > MAX_GROUP:
                continue
            own = group_of[node]
            for m in members[own]:
                group_of[m] = head
            if _reference_acyclic(nodes, upstream, group_of):
                members[head] += members.pop(own)
                break
            for m in members[own]:
                group_of[m] = own
            if refused is not None:
                refused.append((own, head))
    found = [(head, path) for head, path in members.items() if len(path) >= MIN_GROUP]
    return tuple(Group(PREFIX + head, tuple(path)) for head, path in found)


def _reference_acyclic(
    nodes: Iterable[str], upstream: Mapping[str, Sequence[str]], group_of: Mapping[str, str]
) -> bool:
    ups: dict[str, set[str]] = {}
    for n in nodes:
        g = group_of[n]
        found = ups.setdefault(g, set())
        found.update(group_of[u] for u in upstream.get(n, ()) if u in group_of)
        found.discard(g)
    state: dict[str, int] = {}  # 1: on the path being explored, 2: done
    for start in ups:
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(ups[start]))]
        while stack:
            g, it = stack[-1]
            for u in it:
                if state.get(u) == 1:
                    return False
                if u not in state:
                    state[u] = 1
                    stack.append((u, iter(ups[u])))
                    break
            else:
                state[g] = 2
                stack.pop()
    return True


def random_dag(
    rng: random.Random, most: int = 90
) -> tuple[list[str], dict[str, list[str]], set[str]]:
    """A DAG of 1 to `most` nodes: (node order, upstream lists, the plain nodes). Built in a
    topological order of long chains (some longer than MAX_GROUP), joins within and across
    chains, diamonds and a few reads of nodes outside the graph; then listed in that order, a
    shuffled one, a reversed one or with a few nodes swapped."""
    n = rng.randint(1, most)
    topo = [f"n{i}" for i in range(n)]
    rng.shuffle(topo)  # names say nothing of the order
    chain_p = rng.choice([0.3, 0.7, 0.9, 1.0])
    join_p = rng.choice([0.0, 0.1, 0.3, 0.6])
    reach = rng.choice([2, 5, 20, n])  # how far back a join reaches
    upstream: dict[str, list[str]] = {}
    for i, node in enumerate(topo):
        ups: list[str] = []
        if i and rng.random() < chain_p:
            ups.append(topo[i - 1] if rng.random() < 0.8 else topo[rng.randrange(i)])
        while i and rng.random() < join_p:
            ups.append(topo[rng.randrange(max(0, i - reach), i)])
        if rng.random() < 0.03:
            ups.append("outside")  # not a node of the graph: ignored
        if rng.random() < 0.3:
            rng.shuffle(ups)
        upstream[node] = ups
    plain = {node for node in topo if rng.random() < rng.choice([0.6, 0.85, 1.0])}
    order = rng.choice(["topological", "shuffled", "reversed", "swapped"])
    nodes = list(topo)
    if order == "shuffled":
        rng.shuffle(nodes)
    elif order == "reversed":
        nodes.reverse()
    elif order == "swapped" and n > 1:
        for _ in range(rng.randint(1, 3)):
            i, j = rng.randrange(n), rng.randrange(n)
            nodes[i], nodes[j] = nodes[j], nodes[i]
    return nodes, upstream, plain


def test_chain_groups_folds_as_the_first_algorithm_on_random_dags():
    rng = random.Random(20261203)
    refused: list[tuple[str, str]] = []
    folded = 0
    for _ in range(1000):
        nodes, upstream, plain = random_dag(rng)
        want = reference_chain_groups(nodes, upstream, plain.__contains__, refused)
        assert chain_groups(nodes, upstream, plain.__contains__) == want, (nodes, upstream, plain)
        folded += len(want)
    # the graphs make it fold, refuse merges that would close a cycle, and cut long chains
    assert folded > 1000 and len(refused) > 500


def test_a_merge_that_would_close_a_cycle_through_a_gated_step_is_refused():
    # a -> b -> c -> d, and the gated g reads a while c reads g: folding c into (a, b) would
    # make the group read g and g read the group.
    upstream = {"a": [], "b": ["a"], "g": ["a"], "c": ["b", "g"], "d": ["c"], "e": ["d"]}
    plain = {"a", "b", "c", "d", "e"}.__contains__
    nodes = ["a", "b", "g", "c", "d", "e"]
    got = chain_groups(nodes, upstream, plain)
    assert got == reference_chain_groups(nodes, upstream, plain)
    assert got == (Group("group:c", ("c", "d", "e")),)


def test_a_long_chain_is_cut_at_max_group_in_any_node_order():
    topo = [f"s{i:03d}" for i in range(2 * MAX_GROUP + MIN_GROUP)]
    upstream = {n: [topo[i - 1]] if i else [] for i, n in enumerate(topo)}
    want = (
        Group("group:s000", tuple(topo[:MAX_GROUP])),
        Group(f"group:{topo[MAX_GROUP]}", tuple(topo[MAX_GROUP : 2 * MAX_GROUP])),
        Group(f"group:{topo[2 * MAX_GROUP]}", tuple(topo[2 * MAX_GROUP :])),
    )
    assert chain_groups(topo, upstream, lambda n: True) == want
    backwards = topo[::-1]
    assert chain_groups(backwards, upstream, lambda n: True) == reference_chain_groups(
        backwards, upstream, lambda n: True
    )


def test_a_cycle_is_bad_input_named_by_a_node_on_it():
    upstream = {"a": ["c"], "b": ["a"], "c": ["b"], "d": []}
    with pytest.raises(ValueError, match=r"cycle through '[abc]'"):
        chain_groups(["d", "a", "b", "c"], upstream, lambda n: True)
