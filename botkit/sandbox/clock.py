"""Time in the sandbox: integer epoch milliseconds, from a clock that tests may replace."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000
