"""Token-bucket rate limiting, per API key for signed calls and per client address otherwise.

A bucket holds up to ``capacity`` calls and refills at ``per_minute`` calls a minute (default as
the original service: 120 a minute, bursting to 600). Tokens are kept as integers scaled by
60 000 so that refilling by ``per_minute`` per millisecond is exact.

Headers: ``X-Rate-Limit-Limit`` is ``per_minute``; ``-Remaining`` the whole calls left;
``-Reset`` the epoch millisecond when the bucket will be full again, or, on a 429, when the
next call will be allowed. With the limiter off (``per_minute`` 0) ``Limit`` is 0 and
``Remaining`` is :data:`UNLIMITED`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from botkit.sandbox.clock import Clock, wall_clock_ms

SCALE = 60_000
"""Milliseconds in a minute: one call is SCALE units, and the refill is ``per_minute`` units/ms."""
UNLIMITED = 1_000_000
"""What ``X-Rate-Limit-Remaining`` shows when rate limiting is off."""
MAX_BUCKETS = 10_000


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset_ms: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset_ms),
        }


class RateLimiter:
    def __init__(
        self, per_minute: int = 120, capacity: int | None = None, clock: Clock | None = None
    ) -> None:
        if per_minute < 0:
            raise ValueError("per_minute must be 0 (off) or positive")
        self.per_minute = per_minute
        self.capacity = capacity if capacity is not None else per_minute * 5
        if per_minute and self.capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._clock = clock or wall_clock_ms
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[int, int]] = {}
        """identity → (tokens × SCALE, time of that level in epoch ms)."""

    def _level(self, identity: str, now: int) -> int:
        full = self.capacity * SCALE
        tokens, since = self._buckets.get(identity, (full, now))
        return min(full, tokens + max(0, now - since) * self.per_minute)

    def _verdict(self, allowed: bool, tokens: int, now: int) -> Verdict:
        full = self.capacity * SCALE
        if allowed:
            reset = now + -(-(full - tokens) // self.per_minute)
        else:
            reset = now + -(-(SCALE - tokens) // self.per_minute)
        return Verdict(allowed, self.per_minute, tokens // SCALE, reset)

    def take(self, identity: str) -> Verdict:
        """Spend one call from ``identity``'s bucket if it has one."""
        now = self._clock()
        if not self.per_minute:
            return Verdict(True, 0, UNLIMITED, now)
        with self._lock:
            tokens = self._level(identity, now)
            allowed = tokens >= SCALE
            if allowed:
                tokens -= SCALE
            if len(self._buckets) >= MAX_BUCKETS and identity not in self._buckets:
                self._prune(now)
            self._buckets[identity] = (tokens, now)
            return self._verdict(allowed, tokens, now)

    def peek(self, identity: str) -> Verdict:
        """The headers for a response that costs nothing (admin calls)."""
        now = self._clock()
        if not self.per_minute:
            return Verdict(True, 0, UNLIMITED, now)
        with self._lock:
            return self._verdict(True, self._level(identity, now), now)

    def _prune(self, now: int) -> None:
        """Forget buckets that have refilled: they are the same as a fresh one."""
        full = self.capacity * SCALE
        for identity in [i for i in self._buckets if self._level(i, now) >= full]:
            del self._buckets[identity]
