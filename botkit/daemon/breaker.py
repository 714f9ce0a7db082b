"""A circuit breaker for the daemon: stop hammering an exchange that keeps failing.

Closed, every tick runs. After ``threshold`` consecutive failed ticks it opens: ticks are skipped
without a single request for ``cooldown`` seconds, which doubles on every failed probe up to
``max_cooldown``. When the cool-down is over one tick is let through (half-open): success closes
the breaker, failure opens it again. A rate-limit answer that says when to come back
(``X-Rate-Limit-Reset``) opens it until then at once, whatever the count, but never for longer than
``max_cooldown``: the exchange's numbers are not trusted further than that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("botkit.daemon")


class CircuitBreaker:
    def __init__(self, threshold: int = 5, cooldown: float = 1.0, max_cooldown: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self.clock = clock
        self.failures = 0
        self.cooldown = cooldown
        self.open_until: float | None = None
        self.trips = 0
        self.skipped = 0

    @property
    def is_open(self) -> bool:
        return self.open_until is not None

    def allow(self) -> bool:
        """May a tick run now? (counts the ticks it holds back)"""
        if self.open_until is None:
            return True
        if self.clock() >= self.open_until:
            return True  # half-open: one probe
        self.skipped += 1
        return False

    def success(self) -> None:
        if self.open_until is not None:
            log.info("exchange answers again: circuit breaker closed after %d held-back ticks", self.skipped)
        self.failures = 0
        self.cooldown = self.base_cooldown
        self.open_until = None

    def failure(self, retry_at_s: float | None = None) -> None:
        """A failed tick; ``retry_at_s`` (on :attr:`clock`'s scale) when the venue said when."""
        self.failures += 1
        if retry_at_s is not None:
            asked = max(retry_at_s - self.clock(), 0.0)
            if asked > self.max_cooldown:
                # Distrust the number: a reset years ahead (or in microseconds) must not stop the bot
                # for good. The half-open probe after max_cooldown asks the exchange again.
                self._open(self.max_cooldown, f"the exchange asked to wait {asked:.0f}s (rate limit); "
                                              f"capped at breaker_max_cooldown_seconds")
            else:
                self._open(asked, "the exchange asked to wait (rate limit)")
        elif self.open_until is not None:
            self.cooldown = min(self.cooldown * 2, self.max_cooldown)
            self._open(self.cooldown, "the probe failed")
        elif self.failures >= self.threshold:
            self._open(self.cooldown, f"{self.failures} consecutive failed ticks")

    def _open(self, seconds: float, why: str) -> None:
        self.open_until = self.clock() + seconds
        self.trips += 1
        log.warning("circuit breaker open for %.1fs: %s", seconds, why)
