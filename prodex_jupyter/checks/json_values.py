"""Database values made JSON-safe, so evidence can be stored in a run record and sent to widgets."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from collections.abc import Mapping
from typing import Any


def json_safe(value: Any) -> Any:
    """A value json.dumps accepts without a custom encoder, keeping what a person needs to read.

    Dates and times become ISO strings, decimals floats, NaN and infinities their names (JSON has
    no literal for them), bytes a short hex form, nested lists and structs recursively.
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return json_safe(float(value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return "0x" + raw[:32].hex() + ("…" if len(raw) > 32 else "")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v) for v in value]
    return str(value)


def json_row(names: list[str] | tuple[str, ...], values: tuple[Any, ...]) -> dict[str, Any]:
    return {name: json_safe(v) for name, v in zip(names, values, strict=True)}
