"""A left-to-right layered (Sugiyama) layout, the one dagre draws, computed here in Python.

The canvas needs every node's position on the Python side: to open at a readable zoom on the
node that needs attention, to pan to it again when the next gate is posed, and to survive the
front end drawing the widget again (a page reload) without a relayout in the browser. So the
positions are computed once per template here and given to cytoscape as a `preset` layout.

Steps, as in dagre: rank by longest path (sources pulled next to their first consumer), split
edges spanning ranks with dummy points, order each rank by barycentres (alternating sweeps),
then place each rank vertically by an ordered least-squares fit (pool-adjacent-violators), which
keeps the order, a minimum gap between neighbours, and edges as straight as it can.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

NODE_W = 170.0
NODE_H = 44.0
RANK_GAP = 40.0  # horizontal space between ranks
ROW_GAP = 28.0  # vertical space between nodes of one rank
DUMMY_H = 8.0  # height of a point an edge passes through
SWEEPS = 6
PLACE_PASSES = 4


@dataclass(frozen=True)
class Layout:
    positions: Mapping[str, tuple[float, float]]  # node centre, model coordinates
    ranks: Mapping[str, int]
    width: float  # bounding box of all nodes
    height: float

    @property
    def n_ranks(self) -> int:
        return 1 + max(self.ranks.values(), default=-1)


def layered_layout(nodes: Sequence[str], upstream: Mapping[str, Sequence[str]]) -> Layout:
    """Positions for `nodes` (a DAG given by each node's upstream ids), flowing left to right."""
    nodes = list(nodes)
    if not nodes:
        return Layout({}, {}, 0.0, 0.0)
    known = set(nodes)
    ups = {n: [u for u in upstream.get(n, ()) if u in known] for n in nodes}
    downs: dict[str, list[str]] = {n: [] for n in nodes}
    for n in nodes:
        for u in ups[n]:
            downs[u].append(n)

    rank = _ranks(nodes, ups, downs)

    # Split long edges: each one becomes a chain through one dummy point per rank it crosses.
    items_ups: dict[object, list[object]] = {n: [] for n in nodes}
    items_downs: dict[object, list[object]] = {n: [] for n in nodes}
    item_rank: dict[object, int] = dict(rank)
    for n in nodes:
        for u in ups[n]:
            prev: object = u
            for r in range(rank[u] + 1, rank[n]):
                dummy = ("edge", u, n, r)
                item_rank[dummy] = r
                items_ups[dummy] = [prev]
                items_downs[dummy] = []
                items_downs[prev].append(dummy)
                prev = dummy
            items_ups[n].append(prev)
            items_downs[prev].append(n)

    layers = _initial_order(nodes, item_rank, items_ups, items_downs)
    _reduce_crossings(layers, items_ups, items_downs)
    ys = _place(layers, items_ups, items_downs)

    positions = {n: (rank[n] * (NODE_W + RANK_GAP), ys[n]) for n in nodes}
    top = min(y for _, y in positions.values())
    positions = {n: (x, round(y - top, 1)) for n, (x, y) in positions.items()}
    width = max(x for x, _ in positions.values()) + NODE_W
    height = max(y for _, y in positions.values()) + NODE_H
    return Layout(positions, rank, width, height)


def _ranks(
    nodes: list[str], ups: dict[str, list[str]], downs: dict[str, list[str]]
) -> dict[str, int]:
    rank: dict[str, int] = {}

    def longest(n: str) -> int:
        if n not in rank:
            rank[n] = 1 + max((longest(u) for u in ups[n]), default=-1)
        return rank[n]

    for n in nodes:
        longest(n)
    # A node with no upstream sits just before its first consumer (as dagre's ranker does for
    # sources), instead of at the far left with a long edge across the graph.
    for n in nodes:
        if not ups[n] and downs[n]:
            rank[n] = max(0, min(rank[d] for d in downs[n]) - 1)
    return rank


def _initial_order(
    nodes: list[str],
    item_rank: dict[object, int],
    ups: dict[object, list[object]],
    downs: dict[object, list[object]],
) -> list[list[object]]:
    """Layers in depth-first order from the sources, so connected nodes start close together."""
    n_ranks = 1 + max(item_rank.values())
    layers: list[list[object]] = [[] for _ in range(n_ranks)]
    seen: set[object] = set()
    roots = [n for n in nodes if not ups[n]] + [n for n in nodes if ups[n]]
    stack: list[object] = list(reversed(roots))
    while stack:
        item = stack.pop()
        if item in seen:
            continue
        seen.add(item)
        layers[item_rank[item]].append(item)
        stack.extend(reversed(downs[item]))
    return layers


def _reduce_crossings(
    layers: list[list[object]], ups: dict[object, list[object]], downs: dict[object, list[object]]
) -> None:
    for sweep in range(SWEEPS):
        if sweep % 2 == 0:
            order = range(1, len(layers))
            neighbours = ups
            offset = -1
        else:
            order = range(len(layers) - 2, -1, -1)
            neighbours = downs
            offset = 1
        for r in order:
            ref = {item: i for i, item in enumerate(layers[r + offset])}
            layer = layers[r]

            def barycentre(item: object, i: int, ref: dict = ref, near: dict = neighbours) -> float:
                found = [ref[o] for o in near[item] if o in ref]
                return sum(found) / len(found) if found else float(i)

            keyed = [(barycentre(item, i), i, item) for i, item in enumerate(layer)]
            keyed.sort(key=lambda t: (t[0], t[1]))
            layers[r] = [item for _, _, item in keyed]


def _height(item: object) -> float:
    return DUMMY_H if isinstance(item, tuple) else NODE_H


def _place(
    layers: list[list[object]], ups: dict[object, list[object]], downs: dict[object, list[object]]
) -> dict[object, float]:
    y: dict[object, float] = {}
    for layer in layers:
        at = 0.0
        for i, item in enumerate(layer):
            if i:
                at += (_height(layer[i - 1]) + _height(item)) / 2 + ROW_GAP
            y[item] = at
    for p in range(PLACE_PASSES * 2):
        neighbours = ups if p % 2 == 0 else downs
        order = range(len(layers)) if p % 2 == 0 else range(len(layers) - 1, -1, -1)
        for r in order:
            layer = layers[r]
            wanted = []
            for item in layer:
                ys = [y[o] for o in neighbours[item]]
                wanted.append(sum(ys) / len(ys) if ys else y[item])
            for item, value in zip(layer, _ordered_fit(layer, wanted), strict=True):
                y[item] = value
    return y


def _ordered_fit(layer: list[object], wanted: list[float]) -> list[float]:
    """Positions closest (least squares) to `wanted` keeping the order and minimum gaps."""
    offsets = [0.0]
    for a, b in itertools.pairwise(layer):
        offsets.append(offsets[-1] + (_height(a) + _height(b)) / 2 + ROW_GAP)
    shifted = [w - o for w, o in zip(wanted, offsets, strict=True)]
    # Pool adjacent violators: the best non-decreasing fit of `shifted`.
    blocks: list[list[float]] = []  # [mean, count]
    for value in shifted:
        blocks.append([value, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean_b, count_b = blocks.pop()
            mean_a, count_a = blocks[-1]
            total = count_a + count_b
            blocks[-1] = [(mean_a * count_a + mean_b * count_b) / total, total]
    fitted: list[float] = []
    for mean, count in blocks:
        fitted.extend([mean] * int(count))
    return [f + o for f, o in zip(fitted, offsets, strict=True)]
