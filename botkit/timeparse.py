"""Moments people type on the command line: ISO 8601 UTC dates and times, or a span back from now."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from botkit.errors import ConfigError

_SPAN = re.compile(r"(\d{1,9})([smhdw])")
_SPAN_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def since_ms(text: str, option: str, *, now_ms: int | None = None) -> int:
    """Epoch milliseconds of ``text``: ``2026-12-01``, ``2026-12-01T09:30[:00][Z|+00:00]`` (UTC
    unless an offset is given) or ``90m``/``12h``/``7d``/``2w`` before now."""
    text = text.strip()
    span = _SPAN.fullmatch(text)
    if span:
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        return now - int(span.group(1)) * _SPAN_MS[span.group(2)]
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(option, f"{text!r} is neither an ISO 8601 date/time nor a span",
                          "give e.g. 2026-12-01, 2026-12-01T09:30 (UTC) or 12h, 7d") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
