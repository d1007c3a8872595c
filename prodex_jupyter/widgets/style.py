"""The run view's stylesheet (`view.css`) as a `<style>` element in an HTML widget, and the
layout and style models its plain HTML widgets share."""

from __future__ import annotations

import ipywidgets as w
from ipywidgets.widgets.widget_string import HTMLStyle

from ..view.css import run_view_css


def style_widget() -> w.HTML:
    return w.HTML(f"<style>{run_view_css()}</style>", _dom_classes=("prodex-style",))


class Plain:
    """One Layout and one HTML style model shared by a view's plain HTML widgets (text whose
    layout and style never change). ipywidgets gives every widget a model of each otherwise,
    and the browser creates every model of a view, one message at a time, before drawing it."""

    def __init__(self) -> None:
        self.layout = w.Layout()
        self.style = HTMLStyle()

    def html(self, value: str = "", *classes: str) -> w.HTML:
        return w.HTML(value, layout=self.layout, style=self.style, _dom_classes=classes)
