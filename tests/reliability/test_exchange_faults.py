"""Scenario 3: exchange faults. The real daemon (APScheduler, engine, client) against the sandbox
with 5xx answers, 429 bursts, latency spikes past the client's timeout and connection resets.

The daemon must stay up, never run two ticks at once, time out every call, come back no sooner
than a 429's ``X-Rate-Limit-Reset`` says, and stop hammering an exchange that keeps failing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit import config as config_mod
from botkit.client import RetryPolicy
from botkit.daemon.breaker import CircuitBreaker
from botkit.daemon.scheduler import Daemon
from botkit.engine.assembly import build_bot
from tests.engine.harness import BOT_KEY, BOT_SECRET, MM_KEY, accounts
from tests.polling import wait
from tests.reliability.checks import compare
from tests.reliability.conftest import Figures, scaled

D = Decimal


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from botkit.sandbox import Faults, Sandbox

    faults = Faults(rate_limit_reset_ms=400)
    with Sandbox(market="sim", seed=21, accounts=accounts(), rate_limit=0, faults=faults,
                 market_interval=0.05) as sb:
        yield sb


def _daemon(sandbox: Any, tmp_path: Path, *, timeout: str = "1", threshold: int = 5) -> Daemon:
    cfg = config_mod.parse({
        "exchange": {"base_url": sandbox.base_url, "api_key": BOT_KEY, "api_secret": BOT_SECRET,
                     "timeout_seconds": D(timeout)},
        "journal": {"url": f"sqlite:///{tmp_path / 'journal.sqlite'}"},
        "engine": {"interval_seconds": D("0.02"), "resolve_window_seconds": 5},
        "strategy_paths": [],
        "strategies": {"market_maker": {"spread_bps": 4, "size": D("0.02")}},
    }, environ={})
    bot = build_bot(cfg)
    # Quick retries keep the suite short; how long the client backs off is the client tests' business.
    bot.engine.venue.api.client.retry = RetryPolicy(attempts=3, backoff=0.02, max_backoff=0.1, max_wait=3.0)
    return Daemon(bot, 0.02, breaker=CircuitBreaker(threshold, cooldown=0.5, max_cooldown=2.0))


def _run_in_thread(daemon: Daemon) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["summary"] = daemon.run(install_signals=False)
        except BaseException as exc:  # the test thread reports it
            result["error"] = exc

    thread = threading.Thread(target=run, name="daemon-under-test")
    thread.start()
    return thread, result


def test_the_daemon_rides_out_5xx_429_latency_and_resets(sandbox: Any, tmp_path: Path, figures: Figures) -> None:
    ticks_wanted = scaled(400)
    daemon = _daemon(sandbox, tmp_path)
    sandbox.faults.update(error_rate=0.10, reset_rate=0.02)
    thread, result = _run_in_thread(daemon)
    spikes = bursts = 0
    try:
        while daemon.ticks + daemon.skipped < ticks_wanted:
            done = daemon.ticks + daemon.skipped
            if done and done % 100 == 0 and spikes < done // 100:
                spikes += 1  # a 3 s stall, longer than the client's 1 s timeout
                sandbox.faults.queue("latency:3000", method="GET", path="/v1/ticker", count=1)
            if done and done % 50 == 25 and bursts < (done + 25) // 50:
                bursts += 1
                sandbox.faults.queue("rate_limited", count=3)
            assert thread.is_alive(), result.get("error")
            time.sleep(0.01)
    finally:
        daemon.stop()
        thread.join(60)
    assert not thread.is_alive()
    assert "error" not in result, result.get("error")
    summary = result["summary"]
    faults = dict(sandbox.stats.faults)
    comparison = compare(daemon.bot.journal, _api(sandbox))
    figures.values.update({"ticks": daemon.ticks, "ticks_skipped": daemon.skipped, "overlaps": daemon.overlaps,
                           "faults_injected": faults, "latency_spikes": spikes, "rate_limit_bursts": bursts,
                           "orders_placed": summary["placed"], **comparison.as_figures()})
    daemon.bot.close()

    assert daemon.overlaps == 0
    assert daemon.ticks > ticks_wanted // 2  # most ticks got through despite the faults
    assert faults.get("error500", 0) + faults.get("error503", 0) > 0
    assert faults.get("rate_limited", 0) > 0 and faults.get("reset", 0) > 0 and faults.get("latency", 0) > 0
    assert summary["placed"] > 0
    comparison.assert_clean()
    _assert_429s_honoured(sandbox)


def _api(sandbox: Any) -> Any:
    from botkit.client import Buttercoin, ButtercoinClient

    return Buttercoin(ButtercoinClient(BOT_KEY, BOT_SECRET, base_url=sandbox.base_url))


def _assert_429s_honoured(sandbox: Any) -> None:
    """After each injected 429 the same client sends nothing until its reset time (400 ms later;
    a few ms of slack for the two clocks' reading order)."""
    timeline = list(sandbox.stats.timeline)
    reset_s = sandbox.faults.rate_limit_reset_ms / 1000
    checked = 0
    for i, (t, kind, _method, _path) in enumerate(timeline):
        if kind != "rate_limited":
            continue
        later = [u for u, k, _, _ in timeline[i + 1:] if k == "request"]
        if later:
            checked += 1
            assert later[0] >= t + reset_s - 0.02, f"came back {later[0] - t:.3f}s after a 429"
    assert checked > 0


def test_repeated_failures_trip_the_breaker_instead_of_hammering(sandbox: Any, tmp_path: Path,
                                                                figures: Figures) -> None:
    daemon = _daemon(sandbox, tmp_path, threshold=3)
    thread, result = _run_in_thread(daemon)
    try:
        wait(lambda: daemon.ticks >= 5, 60, "healthy ticks", every=0.05)
        sandbox.faults.update(error_rate=1.0)  # the exchange is down
        before = sum(sandbox.stats.requests.values())
        outage_started = time.monotonic()
        wait(lambda: daemon.breaker.trips >= 3, 60, "the breaker to trip and back off", every=0.05)
        outage = time.monotonic() - outage_started
        during = sum(sandbox.stats.requests.values()) - before
        sandbox.faults.update(error_rate=0.0)  # it is back
        recovered_from = daemon.ticks
        wait(lambda: daemon.ticks > recovered_from + 5, 60, "ticks after the exchange came back", every=0.05)
    finally:
        daemon.stop()
        thread.join(60)
    assert "error" not in result, result.get("error")
    # Without a breaker a 20 ms interval would have sent ~50 ticks x 3 attempts a second.
    without_breaker = outage / 0.02 * 3
    figures.values.update({"outage_seconds": round(outage, 2), "requests_during_outage": during,
                           "requests_without_breaker_estimate": round(without_breaker),
                           "breaker_trips": daemon.breaker.trips, "ticks_held_back": daemon.breaker.skipped})
    assert during < without_breaker / 4
    assert daemon.breaker.skipped > 0 and not daemon.breaker.is_open
    daemon.bot.close()


def test_every_call_has_a_timeout_a_stalled_exchange_cannot_hang_a_tick(sandbox: Any, tmp_path: Path,
                                                                         figures: Figures) -> None:
    daemon = _daemon(sandbox, tmp_path, timeout="0.5")
    thread, result = _run_in_thread(daemon)
    try:
        wait(lambda: daemon.ticks >= 2, 60, "healthy ticks", every=0.05)
        # every attempt of the next tick's first call stalls far past the 0.5 s timeout
        sandbox.faults.queue("latency:5000", method="GET", path="/v1/ticker", count=4)
        wait(lambda: daemon.skipped >= 1, 90, "the stalled tick to be given up", every=0.05)
        ticks = daemon.ticks
        wait(lambda: daemon.ticks >= ticks + 3, 90, "ticks after the stalls", every=0.05)
    finally:
        daemon.stop()
        thread.join(60)
    assert "error" not in result, result.get("error")
    assert daemon.skipped >= 1 and daemon.overlaps == 0
    figures.values.update({"stalls": 4, "ticks_skipped": daemon.skipped, "ticks": daemon.ticks})
    sandbox.exchange.submit_order(MM_KEY, "buy", "limit", D("1.00"), D("0.01"))  # the exchange still works
    daemon.bot.close()
