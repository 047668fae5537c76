"""Tumbling time windows: "15m", "1h", "1d" parsed to milliseconds, aligned to the epoch,
so every process puts a timestamp in the same window."""

from __future__ import annotations

import re

from knot.errors import Invalid

__all__ = ["parse_window", "window_start"]

_UNITS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")


def parse_window(window: str, field: str = "window") -> int:
    """The length of `window` in milliseconds; Invalid naming the value otherwise."""
    match = _PATTERN.match(window) if isinstance(window, str) else None
    if match is None or int(match.group(1)) == 0:
        raise Invalid(
            f"window {window!r} is not a duration; write a positive whole number and a unit "
            "s, m, h, d or w, e.g. '15m', '1h' or '1d'",
            field=field,
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def window_start(at_ms: int, window_ms: int) -> int:
    """The start of the window holding `at_ms`."""
    return at_ms - at_ms % window_ms
