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
    upstream ends its path and the folded graph stays acyclic. The folded graph is kept as the
    groups grow (`_Folding`), so a merge is checked near its two groups, not by walking the whole
    graph again (which took a 1000-node run about a second before its canvas was drawn)."""
    folding = _Folding(nodes, upstream)
    group_of = {n: n for n in nodes}
    members: dict[str, list[str]] = {n: [n] for n in nodes}
    for node in nodes:
        if not plain(node):
            continue
        for up in upstream.get(node, ()):
            head = group_of.get(up)
            if head is None or not plain(up) or members[head][-1] != up:
                continue
            own = group_of[node]
            if len(members[head]) + len(members[own]) > MAX_GROUP:
                continue
            if folding.merge(own, head):
                for m in members[own]:
                    group_of[m] = head
                members[head] += members.pop(own)
                break
    found = [(head, path) for head, path in members.items() if len(path) >= MIN_GROUP]
    return tuple(Group(PREFIX + head, tuple(path)) for head, path in found)


class _Folding:
    """The graph of groups as they merge (each node starts as its own), and a topological order
    of it.

    The order bounds the check of a merge: only groups placed between the two can lie on a path
    from one to the other. A merge keeps the order valid by moving just the groups that must
    change sides (Pearce and Kelly's dynamic topological order), so nothing is renumbered."""

    def __init__(self, nodes: Sequence[str], upstream: Mapping[str, Sequence[str]]) -> None:
        known = set(nodes)
        self.ups = {n: {u for u in upstream.get(n, ()) if u in known and u != n} for n in nodes}
        self.downs: dict[str, set[str]] = {n: set() for n in nodes}
        for n, ups in self.ups.items():
            for u in ups:
                self.downs[u].add(n)
        self.pos = self._order(nodes)

    def _order(self, nodes: Sequence[str]) -> dict[str, int]:
        """Positions in a topological order: the node order itself where it is one (the check
        of a merge then looks between two nearby places). A template refuses a cycle, so one
        here is bad input, named by a node on it."""
        pos: dict[str, int] = {}
        on_path: set[str] = set()
        for start in nodes:
            if start in pos:
                continue
            on_path.add(start)
            stack = [(start, iter(self.ups[start]))]
            while stack:
                node, ups = stack[-1]
                for up in ups:
                    if up in on_path:
                        raise ValueError(f"the nodes form a cycle through {up!r}")
                    if up not in pos:
                        on_path.add(up)
                        stack.append((up, iter(self.ups[up])))
                        break
                else:
                    stack.pop()
                    on_path.discard(node)
                    pos[node] = len(pos)
        return pos

    def merge(self, own: str, head: str) -> bool:
        """Fold group `own` into `head`, which it reads, unless that closes a cycle: unless
        `own` also reads `head` through a third group. Returns whether it merged."""
        pos, ups, downs = self.pos, self.ups, self.downs
        behind: set[str] = set()  # groups own reads (directly or not) placed after head
        stack = [u for u in ups[own] if u != head]
        while stack:
            group = stack.pop()
            if group == head:
                return False
            if pos[group] > pos[head] and group not in behind:
                behind.add(group)
                stack.extend(ups[group])
        if behind:
            self._move_before(behind, head)
        for u in ups.pop(own):
            downs[u].discard(own)
            if u != head:
                downs[u].add(head)
                ups[head].add(u)
        for d in downs.pop(own):
            ups[d].discard(own)
            ups[d].add(head)
            downs[head].add(d)
        downs[head].discard(own)
        del pos[own]
        return True

    def _move_before(self, behind: set[str], head: str) -> None:
        """The merged group takes `head`'s place and reads the groups `behind`, so they move
        before it, and the groups reading `head` placed among them move after it. They share
        out the places they held, so no other group moves."""
        pos, downs = self.pos, self.downs
        last = max(pos[g] for g in behind)
        ahead: set[str] = set()  # groups reading head (directly or not) placed before `last`
        stack = list(downs[head])
        while stack:
            group = stack.pop()
            if pos[group] < last and group not in ahead:
                ahead.add(group)
                stack.extend(downs[group])
        moved = [*sorted(behind, key=pos.__getitem__), head, *sorted(ahead, key=pos.__getitem__)]
        for group, place in zip(moved, sorted(pos[g] for g in moved), strict=True):
            pos[group] = place


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
