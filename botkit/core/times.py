"""Time as botkit writes and reads it: epoch milliseconds inside, ISO 8601 UTC outside.

Writing: :func:`iso_ms` (``2014-05-06T13:15:30.123Z``: what people are shown, the sandbox's event
dates, the journal's listings) and :func:`iso_seconds` (``2014-05-06T13:15:30Z``: the API's query
filters). Reading: :func:`iso_to_ms`, under both :func:`since_ms` (a moment people type on the command
line: an ISO 8601 UTC date or time, or a span back from now) and :func:`date_ms` (a date on the
wire, read by the client and the sandbox alike).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

from botkit.core.errors import ConfigError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_SPAN = re.compile(r"(\d{1,9})([smhdw])")
UNIT_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
"""Milliseconds in each unit a span, timeframe or duration is written in (each parser says which
units it takes)."""
DAY_MS = UNIT_MS["d"]


def since_ms(text: str, option: str, *, now_ms: int | None = None) -> int:
    """Epoch milliseconds of ``text``: ``2026-12-01``, ``2026-12-01T09:30[:00][Z|+00:00]`` (UTC
    unless an offset is given) or ``90m``/``12h``/``7d``/``2w`` before now."""
    text = text.strip()
    span = _SPAN.fullmatch(text)
    if span:
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        return now - int(span.group(1)) * UNIT_MS[span.group(2)]
    try:
        return iso_to_ms(text)
    except (ValueError, OverflowError):
        raise ConfigError(option, f"{text!r} is neither an ISO 8601 date/time nor a span",
                          "give e.g. 2026-12-01, 2026-12-01T09:30 (UTC) or 12h, 7d") from None


def iso_to_ms(text: str) -> int:
    """ISO 8601 (``2014-05-06``, ``2014-05-06T13:15:30[.123][Z|+01:00]``; UTC unless an offset is
    given) → epoch milliseconds. Raises ``ValueError`` (or ``OverflowError``) for anything else:
    each caller answers with its own error."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MS


MAX_MS = iso_to_ms("9999-12-31T23:59:59.999Z")
"""The last millisecond of year 9999: later (or before 1970) is not a date but corrupt data."""
MAX_DATE_TEXT = 64
"""Longest ISO 8601 text read as a date (the longest real one is 32 characters)."""


def date_ms(value: object) -> int | None:
    """A date from the wire, ISO 8601 text (``2014-05-06T13:15:30Z``, milliseconds and an offset
    optional; UTC without one) or epoch milliseconds, as epoch milliseconds between 1970 and the
    end of year 9999; None for anything else. The client and the sandbox each answer None with
    their own error."""
    if isinstance(value, int) and not isinstance(value, bool):
        ms = value
    elif isinstance(value, str) and len(value) <= MAX_DATE_TEXT:
        try:
            ms = iso_to_ms(value)
        except (ValueError, OverflowError):
            return None
    else:
        return None
    return ms if 0 <= ms <= MAX_MS else None


def iso_ms(ts: int) -> str:
    """Epoch milliseconds → ``2014-05-06T13:15:30.123Z`` (the sandbox's event dates)."""
    moment = datetime.fromtimestamp(ts / 1000, tz=UTC).replace(microsecond=(ts % 1000) * 1000)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts % 1000:03d}Z"


def iso_seconds(ts: int) -> str:
    """Epoch milliseconds → ``2014-05-06T13:15:30Z`` (query filters), rounded down."""
    return datetime.fromtimestamp(ts // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
