"""Collapsed groups: a big graph opens with its runs of plain steps folded into one node each.

ipycytoscape makes every node and edge its own widget model, and the browser's cost of a canvas
grows with their number (about 450 models for a 200-node run). So a graph of more than
COLLAPSE_ABOVE nodes opens with chains of plain steps (SQL or Python, ungated) collapsed into
group nodes, as Kedro-Viz folds a modular pipeline; a click on a group expands it. Sources,
outputs and gated nodes are always drawn, so every badge and every gate that needs a person
stays on the canvas.

A group is a path of steps, each reading the one before it. Folding them must keep the drawn
graph a DAG (the layout ranks it): a merge that would close a cycle between groups is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

COLLAPSE_ABOVE = 60  # nodes; a graph this small is drawn whole
MIN_GROUP = 3  # fewer steps stay as they are
MAX_GROUP = 25
PREFIX = "group:"  # node ids are plain identifiers, so no node id starts with this


@dataclass(frozen=True)
class Group:
    id: str
    members: tuple[str, ...]  # a path, upstream first


def chain_groups(
    nodes: Sequence[str],
    upstream: Mapping[str, Sequence[str]],
    plain: Callable[[str], bool],
) -> tuple[Group, ...]:
    """Paths of plain nodes to fold, each of MIN_GROUP to MAX_GROUP nodes, in node order.

    Greedy in template order: a plain node joins the path of its first plain upstream when that
    upstream ends its path and the folded graph stays acyclic."""
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
            if _acyclic(nodes, upstream, group_of):
                members[head] += members.pop(own)
                break
            for m in members[own]:
                group_of[m] = own
    found = [(head, path) for head, path in members.items() if len(path) >= MIN_GROUP]
    return tuple(Group(PREFIX + head, tuple(path)) for head, path in found)


def _acyclic(
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


@dataclass(frozen=True)
class Folded:
    """The graph as drawn: visible ids (nodes and collapsed groups) with their upstream ids."""

    order: tuple[str, ...]
    upstream: Mapping[str, tuple[str, ...]]
    shown_as: Mapping[str, str]  # every node id -> the visible id drawing it
    groups: Mapping[str, Group]  # the collapsed ones, by id


def fold(
    nodes: Sequence[str],
    upstream: Mapping[str, Sequence[str]],
    groups: Iterable[Group],
    expanded: Iterable[str] = (),
) -> Folded:
    """The graph with every group not in `expanded` drawn as one node (at its first member's
    place in the order); edges between two ids drawn once, none within a group."""
    opened = set(expanded)
    collapsed = {g.id: g for g in groups if g.id not in opened}
    shown_as = {n: n for n in nodes}
    for group in collapsed.values():
        for m in group.members:
            shown_as[m] = group.id
    order: list[str] = []
    ups: dict[str, list[str]] = {}
    for n in nodes:
        visible = shown_as[n]
        if visible not in ups:
            order.append(visible)
            ups[visible] = []
        for u in upstream.get(n, ()):
            drawn = shown_as.get(u)
            if drawn is not None and drawn != visible and drawn not in ups[visible]:
                ups[visible].append(drawn)
    return Folded(tuple(order), {v: tuple(u) for v, u in ups.items()}, shown_as, collapsed)
