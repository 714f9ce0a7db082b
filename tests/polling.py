"""Waiting for an outcome in tests: poll with a generous deadline instead of timing anything, so a
slow machine makes a test slower, never red."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait(predicate: Callable[[], Any], timeout: float, what: str, *, every: float = 0.2) -> Any:
    """Poll until ``predicate`` is truthy and return its value; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
