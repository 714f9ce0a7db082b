"""Notifications through apprise, delivered to a local webhook receiver (``json://``): sent from a
background thread, rate-limited per kind, never delaying the bot; and from a real `botkit run`."""

from __future__ import annotations

from pathlib import Path

import pytest

from botkit.errors import ConfigError
from botkit.notify import Notifier
from tests.notify.receiver import receiver
from tests.polling import wait
from tests.web.helpers import running_bot


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
