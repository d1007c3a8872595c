"""Small formatting helpers shared by the widgets: escaping, sizes, hashes, times, chips."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from pathlib import PurePath
from typing import Any

STATUS_LABELS = {
    "pending": "pending",
    "executing": "executing",
    "completed": "completed",
    "completed_partial": "completed_partial",
    "failed": "failed",
}


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def short_hash(sha256: str, n: int = 12) -> str:
    return (sha256 or "")[:n]


def file_name(path: str) -> str:
    return PurePath(path).name or path


def parse_time(stamp: str) -> datetime | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment


TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def clock(stamp: str) -> str:
    """A stored UTC timestamp as local time, '2026-12-02 20:31:05': the one format of every
    time a view shows (cards, drawer, Run Information, runs list, the static rendering), with
    the date always, since a record is read long after the day it was made."""
    moment = parse_time(stamp)
    if moment is None:
        return "—"
    return moment.astimezone().strftime(TIME_FORMAT)


def duration(seconds: float) -> str:
    if seconds < 0:
        seconds = 0
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def between(start: str, end: str | None = None) -> float:
    first = parse_time(start)
    last = parse_time(end) if end else datetime.now(timezone.utc)
    if first is None or last is None:
        return 0.0
    return (last - first).total_seconds()


def chip(text: str, tone: str, css: str = "") -> str:
    """A rounded status label; tone is one of grey, blue, green, amber, red, violet."""
    extra = f" {css}" if css else ""
    return f'<span class="prodex-chip prodex-chip-{tone}{extra}">{esc(text)}</span>'


STATUS_TONES = {
    "pending": "grey",
    "executing": "blue",
    "completed": "green",
    "completed_partial": "amber",
    "failed": "red",
}
GATE_TONES = {"not_reached": "grey", "pending": "amber", "confirmed": "green", "rejected": "red"}
CONFIDENCE_TONES = {"high": "green", "medium": "amber", "low": "red"}
NODE_TONES = {
    "waiting": "grey",
    "running": "blue",
    "produced": "green",
    "blocked": "amber",
    "failed": "red",
}


def value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e15 else repr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
