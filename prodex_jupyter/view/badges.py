"""Gate badges for the canvas, drawn as SVG (emoji glyphs show only where an emoji font is).

Every gated node carries a shield; beside it a mark tells the gate's state: a green check once
confirmed, a red cross when rejected, an amber exclamation while it waits for a person. Each
badge is an SVG data URI, set as a node's `background-image` by a class of the canvas' style.
"""

from __future__ import annotations

from urllib.parse import quote

SHIELD = "#334155"  # slate: the gate itself, whatever its state
CONFIRMED = "#15803d"
REJECTED = "#b91c1c"
PENDING = "#b45309"
NOT_REACHED = "#94a3b8"

WIDTH = 34  # px, in the node's model coordinates
HEIGHT = 18

_SHIELD_PATH = "M8 1 L14 3.4 V8.6 C14 12.6 11.4 15.6 8 17 C4.6 15.6 2 12.6 2 8.6 V3.4 Z"


def _shield(fill: str, outline_only: bool = False) -> str:
    if outline_only:
        return (
            f'<path d="{_SHIELD_PATH}" fill="#ffffff" stroke="{fill}" stroke-width="1.6" '
            'stroke-linejoin="round"/>'
        )
    return (
        f'<path d="{_SHIELD_PATH}" fill="{fill}" stroke="#ffffff" stroke-width="0.8" '
        'stroke-linejoin="round"/><path d="M8 3.6 L12 5.2 V8.7 C12 11.4 10.3 13.5 8 14.6 Z" '
        'fill="#ffffff" fill-opacity="0.28"/>'
    )


def _mark(kind: str) -> str:
    """A round mark at the right of the badge: check, cross or exclamation."""
    colour = {"confirmed": CONFIRMED, "rejected": REJECTED, "pending": PENDING}[kind]
    circle = f'<circle cx="25" cy="9" r="7.6" fill="{colour}" stroke="#ffffff" stroke-width="1"/>'
    glyph = {
        "confirmed": '<path d="M21.4 9.2 L24 11.8 L28.8 6.6" fill="none" stroke="#ffffff" '
        'stroke-width="2.1" stroke-linecap="round" stroke-linejoin="round"/>',
        "rejected": '<path d="M22.2 6.2 L27.8 11.8 M27.8 6.2 L22.2 11.8" stroke="#ffffff" '
        'stroke-width="2.1" stroke-linecap="round"/>',
        "pending": '<path d="M25 4.9 V10" stroke="#ffffff" stroke-width="2.2" '
        'stroke-linecap="round"/><circle cx="25" cy="13.1" r="1.25" fill="#ffffff"/>',
    }[kind]
    return circle + glyph


def badge_svg(status: str) -> str:
    """The badge for a gate in `status`: not_reached, pending, confirmed or rejected."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">{badge_body(status)}</svg>'
    )


def badge_body(status: str) -> str:
    """The badge's shapes in its own WIDTH x HEIGHT box, for an SVG that draws it inline (the
    static copy and the first paint draw the live canvas' badges so)."""
    if status == "not_reached":
        body = _shield(NOT_REACHED, outline_only=True)
    elif status in ("pending", "confirmed", "rejected"):
        body = _shield(SHIELD) + _mark(status)
    else:  # a gate shown without a run (template view)
        body = _shield(SHIELD)
    return body


def data_uri(svg: str) -> str:
    return "data:image/svg+xml;utf8," + quote(svg, safe="")


def badge_uri(status: str) -> str:
    return data_uri(badge_svg(status))


GATE_STATUSES = ("not_reached", "pending", "confirmed", "rejected")
