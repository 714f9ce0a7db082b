"""The circuit breaker's states on a fake clock (the exchange-facing behaviour is in
tests/reliability/test_exchange_faults.py)."""

from __future__ import annotations

from botkit.breaker import CircuitBreaker


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
