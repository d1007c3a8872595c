"""Closing a widget together with everything it holds (ipywidgets' `close()` closes one)."""

from __future__ import annotations

import ipywidgets as w


def close_tree(widget: w.Widget) -> None:
    """Close `widget`, its children, and (for the canvas) its graph's elements."""
    for child in getattr(widget, "children", ()):
        close_tree(child)
    graph = getattr(widget, "graph", None)  # a CytoscapeWidget: its graph, nodes and edges
    if isinstance(graph, w.Widget):
        for element in [*getattr(graph, "nodes", ()), *getattr(graph, "edges", ())]:
            element.close()
        graph.close()
    w.Widget.close(widget)
