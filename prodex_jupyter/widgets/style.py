"""The run view's stylesheet (`view.css`) as a `<style>` element in an HTML widget."""

from __future__ import annotations

import ipywidgets as w

from ..view.css import run_view_css


def style_widget() -> w.HTML:
    return w.HTML(f"<style>{run_view_css()}</style>", _dom_classes=("prodex-style",))
