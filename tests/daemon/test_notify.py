"""Notifications through apprise, delivered to a local webhook receiver (``json://``): sent from a
background thread, rate-limited per kind, never delaying the bot; and from a real `botkit run`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from types import MappingProxyType

import pytest

from botkit.core.errors import ConfigError
from botkit.daemon.breaker import CircuitBreaker
from botkit.daemon.notify import Notifier, NotifyObserver, Observers
from botkit.engine.state import EngineView, StrategyView, TickReport
from tests.daemon.webhook import receiver
from tests.polling import wait
from tests.web.helpers import running_bot

D = Decimal


def test_a_message_reaches_the_webhook() -> None:
    with receiver() as hook:
        notifier = Notifier([hook.url], "alpha", min_interval=0)
        notifier.send("kill_switch", "kill switch tripped", "daily loss 12 USD", "failure")
        notifier.close()
        (message,) = hook.messages
        assert (message["title"], message["message"], message["type"]) == (
            "botkit alpha: kill switch tripped", "daily loss 12 USD", "failure")
        assert notifier.sent == 1


def test_each_kind_is_rate_limited_and_the_held_back_are_counted() -> None:
    now = [0.0]
    with receiver() as hook:
        notifier = Notifier([hook.url], "alpha", min_interval=60, clock=lambda: now[0])
        for _ in range(3):
            notifier.send("orders", "order trouble", "order 7 vanished")
        notifier.send("breaker", "circuit breaker open", "held back")
        wait(lambda: len(hook.messages) == 2, 30, "two messages")
        now[0] = 61.0
        notifier.send("orders", "order trouble", "order 9 vanished")
        notifier.close()
    assert [(m["title"], m["message"]) for m in hook.messages] == [
        ("botkit alpha: order trouble", "order 7 vanished"),
        ("botkit alpha: circuit breaker open", "held back"),
        ("botkit alpha: order trouble", "order 9 vanished\n(2 more like this held back by the rate limit)"),
    ]


def test_a_hanging_notifier_never_blocks_the_sender() -> None:
    with receiver() as hook:
        hook.gate.clear()  # the webhook takes the message and does not answer
        notifier = Notifier([hook.url], "alpha", min_interval=0)
        for n in range(150):  # more than the queue holds: the rest are dropped, never waited for
            notifier.send(f"kind{n}", "title", "body")
        assert notifier.sent == 0
        hook.gate.set()
        notifier.close()
    assert notifier.sent >= 1


def test_a_failing_notifier_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with receiver() as hook:
        dead = hook.url
    notifier = Notifier([dead], "alpha", min_interval=0, secrets=["s3cret-value"])
    notifier.send("crash", "crashed", "RuntimeError: s3cret-value leaked")
    notifier.close()
    assert notifier.failed == 1
    assert "notification not delivered" in caplog.text
    assert "s3cret-value" not in caplog.text


def test_a_url_apprise_does_not_know_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"notify\.urls\[1\]: is not a URL apprise knows"):
        Notifier(["json://127.0.0.1:9/", "nosuchscheme://x"], "alpha")


@pytest.mark.slow
def test_a_running_bot_tells_of_its_start_pause_kill_switch_and_stop(tmp_path: Path) -> None:
    with receiver() as hook:
        extra = f'[notify]\nurls = ["{hook.url}"]\nmin_interval_seconds = 0\n'
        with running_bot(tmp_path, extra=extra) as bot:
            wait(lambda: "botkit default: started" in hook.titles(), 60, "the start message")
            bot.outcome(bot.post("/api/bots/default/strategies/market_maker/pause").json()["id"])
            wait(lambda: "botkit default: strategy market_maker paused" in hook.titles(), 60, "the pause message")
            bot.outcome(bot.post("/api/bots/default/kill-switch/trip").json()["id"])
            wait(lambda: "botkit default: kill switch tripped" in hook.titles(), 60, "the kill switch message")
            bot.post("/api/bots/default/stop")
            assert bot.proc.wait(timeout=60) == 0
        assert hook.titles()[-1] == "botkit default: stopped"
        tripped = next(m for m in hook.messages if m["title"].endswith("kill switch tripped"))
        assert tripped["message"].startswith("tripped by api token from 127.0.0.1")
        assert "web-test-token" not in str(hook.messages)


def _view(*, kill_switch: str | None = None, paused: tuple[str, ...] = ()) -> EngineView:
    return EngineView(run_id=1, ticks=1, equity=None, start_equity=None, positions=MappingProxyType({}),
                      open_orders=MappingProxyType({}), unresolved_orders=0, kill_switch=kill_switch,
                      strategies=tuple(StrategyView(name, name in paused, 0) for name in ("mm", "grid")))


def test_the_observer_tells_what_changed_between_ticks() -> None:
    """The breaker opening, orders in trouble, fills, the kill switch, pauses and the day's summary,
    each once, from the engine's view and tick reports."""
    views = [_view()]
    breaker = CircuitBreaker(threshold=2, clock=lambda: 0.0)
    day = 86_400_000
    with receiver() as hook:
        notifier = Notifier([hook.url], "alpha", min_interval=0)
        observer = NotifyObserver(notifier, lambda: views[-1], breaker, fills=True)
        observer.tick_done(TickReport(ts=day + 1, equity=D("1000.00")), 0.1)
        observer.tick_done(TickReport(ts=day + 2, fills=2, position=D("0.1"), equity=D("1010.504"),
                                      errors=["order 3 (x-9) vanished from the venue", "order 4 outcome unknown"]),
                           0.1)
        breaker.failure()
        breaker.failure()
        observer.tick_skipped(RuntimeError("exchange down"), 0.1)
        observer.tick_skipped(RuntimeError("exchange down"), 0.1)  # still open: not told again
        views.append(_view(kill_switch="daily loss 12 USD", paused=("grid",)))
        observer.tick_done(TickReport(ts=2 * day + 5, equity=D("990")), 0.1)
        views.append(_view(paused=()))
        observer.tick_done(TickReport(ts=2 * day + 6), 0.1)
        notifier.close()
    assert [(m["title"].removeprefix("botkit alpha: "), m["message"]) for m in hook.messages] == [
        ("2 fill(s)", "position 0.10000000 BTC, equity 1010.50 USD"),
        ("order trouble", "order 3 (x-9) vanished from the venue"),
        ("order trouble", "order 4 outcome unknown"),
        ("circuit breaker open", "the exchange failed repeatedly: ticks are held back"),
        ("summary of 1970-01-02", "2 ticks, 2 fills, equity 1000.00 -> 1010.50 USD (10.50 USD)"),
        ("kill switch tripped", "daily loss 12 USD"),
        ("strategy grid paused", "it places no order until resumed"),
        ("kill switch reset", "new orders are allowed again"),
        ("strategy grid resumed", "it trades again"),
    ]


def test_one_broken_observer_does_not_silence_the_others() -> None:
    told: list[int] = []

    class Broken:
        def tick_done(self, report: TickReport, seconds: float) -> None:
            raise RuntimeError("bug")

        def tick_skipped(self, error: BaseException, seconds: float) -> None:
            raise RuntimeError("bug")

    class Counting:
        def tick_done(self, report: TickReport, seconds: float) -> None:
            told.append(report.ts)

        def tick_skipped(self, error: BaseException, seconds: float) -> None:
            told.append(-1)

    both = Observers(Broken(), None, Counting())
    both.tick_done(TickReport(ts=7), 0.1)
    both.tick_skipped(RuntimeError("x"), 0.1)
    assert told == [7, -1]
