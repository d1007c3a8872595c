"""The canvas stylesheet is valid for cytoscape.js, which drops a property it cannot parse."""

from __future__ import annotations

import re

from prodex_jupyter.view.canvas import stylesheet

# cytoscape.js 3 (src/style/properties.mjs): the only font lists it accepts
CYTOSCAPE_FONT_FAMILY = re.compile(r'^([\w\- "]+(?:\s*,\s*[\w\- "]+)*)$')


def test_every_font_family_parses_in_cytoscape():
    families = [
        rule["style"]["font-family"]
        for rule in stylesheet()
        if "font-family" in rule.get("style", {})
    ]
    assert families, "the stylesheet names no font"
    for family in families:
        assert CYTOSCAPE_FONT_FAMILY.match(family), family
