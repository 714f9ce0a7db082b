"""The circuit breaker's states on a fake clock (the exchange-facing behaviour is in
tests/reliability/test_exchange_faults.py)."""

from __future__ import annotations

import logging

import pytest

from botkit.daemon.breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_opens_after_the_threshold_and_backs_off_on_failed_probes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=3, cooldown=1.0, max_cooldown=4.0, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failure()
    assert not breaker.is_open
    breaker.failure()
    assert breaker.is_open and not breaker.allow()
    clock.t = 1.0
    assert breaker.allow()  # half-open probe
    breaker.failure()
    assert breaker.cooldown == 2.0
    clock.t = 2.9
    assert not breaker.allow()
    clock.t = 3.0
    breaker.failure()
    clock.t = 100.0
    breaker.failure()
    assert breaker.cooldown == 4.0  # capped
    breaker.success()
    assert not breaker.is_open and breaker.allow() and breaker.cooldown == 1.0 and breaker.failures == 0
    assert breaker.trips == 4 and breaker.skipped == 2


def test_a_rate_limit_reset_opens_it_until_then_at_once() -> None:
    clock = Clock()
    breaker = CircuitBreaker(threshold=10, clock=clock)
    breaker.failure(retry_at_s=7.5)
    assert not breaker.allow()
    clock.t = 7.5
    assert breaker.allow()


def test_a_rate_limit_reset_years_ahead_is_capped_at_max_cooldown(caplog: pytest.LogCaptureFixture) -> None:
    """One 429 whose reset was ten years ahead opened the breaker for 315,360,000 s: the bot never
    ticked again. The wait is capped at max_cooldown, and the oddity said."""
    clock = Clock()
    breaker = CircuitBreaker(threshold=10, max_cooldown=60.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger="botkit.daemon"):
        breaker.failure(retry_at_s=10 * 365 * 86400.0)
    assert breaker.open_until == 60.0
    assert "asked to wait 315360000s" in caplog.text and "capped" in caplog.text
    clock.t = 60.0
    assert breaker.allow()  # the half-open probe asks the exchange again
