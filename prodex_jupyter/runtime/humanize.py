"""Sizes and durations as people read them: one wording for the command line and the widgets."""

from __future__ import annotations


def human_size(size: int | None) -> str:
    """'174 B', '17.4 KB', '1.2 GB'; '?' when unknown."""
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"  # unreachable: the loop returns at GB


def short_duration(seconds: float) -> str:
    """A run's duration in the runs list: '4.2 s', '3.1 min', '2.0 h', '1.5 d'."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
