"""Numbers, dates and bounds written the way a person writes them in a sentence."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any


def fmt_value(value: Any, unit: str = "") -> str:
    """12.0 -> '12', 53.00133 -> '53.0', 0.000123 -> '0.000123'; dates as ISO; a unit appended."""
    if isinstance(value, bool) or value is None or isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            text = str(value)
        elif value == int(value) and abs(value) < 1e15:
            text = str(int(value))
        elif abs(value) >= 100:
            text = f"{value:.1f}"
        elif abs(value) >= 1:
            text = f"{value:.2f}".rstrip("0").rstrip(".")
        else:
            text = f"{value:.3g}"
    elif isinstance(value, dt.datetime):
        text = value.isoformat(sep=" ", timespec="seconds")
        if text.endswith(" 00:00:00"):
            text = text[: -len(" 00:00:00")]
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = str(value)
    if not unit or isinstance(value, (dt.date, str)) or value is None:
        return text
    return f"{text}{unit}" if unit in ("s", "ms", "%") else f"{text} {unit}"


def read_iso(value: Any) -> Any:
    """A minimum or maximum as evidence stores it, for display: an ISO string back to a date
    (fmt_value writes it as a person would); other strings and numbers unchanged."""
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def fmt_count(n: int) -> str:
    return f"{n:,}"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{fmt_count(n)} {word if n == 1 else (many or word + 's')}"


def fmt_bounds(low: Any, high: Any, unit: str = "") -> str:
    """'[10, 100]', '≥ 10', '≤ 100': the accepted range as written in messages."""
    if low is not None and high is not None:
        return f"[{fmt_value(low, unit)}, {fmt_value(high, unit)}]"
    if low is not None:
        return f"≥ {fmt_value(low, unit)}"
    return f"≤ {fmt_value(high, unit)}"


def fmt_span(low: Any, high: Any, unit: str = "") -> str:
    """'12s–94s': an observed range as a person would say it."""
    if low == high:
        return fmt_value(low, unit)
    return f"{fmt_value(low, unit)}–{fmt_value(high, unit)}"


def fmt_raw(value: Any) -> str:
    """A value as stored, for lists of offending values: 130.0 stays 130.0, as in the data."""
    if isinstance(value, float):
        return repr(value)
    return "null" if value is None else fmt_value(value)


def fmt_list(values: list[Any], total: int | None = None, limit: int = 5) -> str:
    """Up to `limit` offending values as found, with '…' when there are more than shown."""
    shown = ", ".join(fmt_raw(v) for v in values[:limit])
    more = (total if total is not None else len(values)) > min(len(values), limit)
    return shown + (", …" if more else "")


def humanize(column: str) -> str:
    """'cycle_time' -> 'cycle time', 'duration_s' -> 'duration': column names read as words in
    the summary, a unit suffix left to the figures ('12s')."""
    lowered = column.lower()
    for suffix in UNIT_SUFFIXES:
        if lowered.endswith(suffix) and len(column) > len(suffix):
            column = column[: -len(suffix)]
            break
    return column.replace("_", " ").strip()


def pluralize(words: str) -> str:
    """'cycle time' -> 'cycle times', 'recipe code' -> 'recipe codes', 'status' stays."""
    if not words or words.endswith("s") or not words[-1].isalpha():
        return words
    if words.endswith("y") and words[-2:-1] not in "aeiou":
        return words[:-1] + "ies"
    return words + "s"


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


UNIT_SUFFIXES = {
    "_s": "s",
    "_sec": "s",
    "_secs": "s",
    "_seconds": "s",
    "_ms": "ms",
    "_min": "min",
    "_mins": "min",
    "_minutes": "min",
    "_h": "h",
    "_hours": "h",
    "_pct": "%",
    "_percent": "%",
}


def unit_from_name(column: str) -> str:
    """A unit read from a column name's suffix ('duration_s' -> 's'); '' when it says none."""
    lowered = column.lower()
    for suffix, unit in UNIT_SUFFIXES.items():
        if lowered.endswith(suffix):
            return unit
    return ""
