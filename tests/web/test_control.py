"""The control API over real HTTP against a real `botkit run --web-port 0` on the embedded sandbox:
each action journaled with who and when, carried out by the daemon at its next tick, shown by
`botkit status`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ops.helpers import botkit_once
from tests.polling import wait
from tests.web.helpers import running_bot

pytestmark = pytest.mark.slow


def test_pause_resume_kill_switch_cancel_all_and_stop(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot:
        (row,) = bot.get("/api/bots")
        assert (row["bot"], row["state"]) == ("default", "running")
        assert row["venue"] == "sandbox"  # the embedded sandbox, not a live exchange
        quoting = wait(lambda: bot.get("/api/bots/default")["open_orders"], 60, "the market maker to quote")
        assert {o["strategy"] for o in quoting} == {"market_maker"}

        assert bot.post("/api/bots/default/strategies/nope/pause").status_code == 404
        assert bot.post("/api/bots/ghost/stop").status_code == 404

        paused = bot.post("/api/bots/default/strategies/market_maker/pause")
        assert paused.status_code == 202, paused.text
        request = paused.json()
        assert (request["action"], request["strategy"], request["outcome"]) == ("pause", "market_maker", "pending")
        assert request["who"] == "api token from 127.0.0.1"
        assert bot.outcome(request["id"]).startswith("paused; ")
        detail = wait(lambda: (d := bot.get("/api/bots/default"))["strategies"][0]["state"] == "paused" and d,
                      60, "the pause to be journaled")
        assert detail["strategies"][0]["reason"] == "paused by api token from 127.0.0.1"
        wait(lambda: not bot.get("/api/bots/default")["open_orders"], 60, "its quotes to be cancelled")
        ticks = bot.get("/api/bots/default")["status"]["ticks"]
        wait(lambda: bot.get("/api/bots/default")["status"]["ticks"] >= ticks + 5, 60, "five more ticks")
        assert bot.get("/api/bots/default")["open_orders"] == []  # paused: no new order

        resumed = bot.post("/api/bots/default/strategies/market_maker/resume").json()
        assert bot.outcome(resumed["id"]) == "resumed"
        wait(lambda: bot.get("/api/bots/default")["open_orders"], 60, "the market maker to quote again")

        cancelled = bot.post("/api/bots/default/orders/cancel-all").json()
        assert bot.outcome(cancelled["id"]).endswith("cancel(s) sent")

        tripped = bot.post("/api/bots/default/kill-switch/trip").json()
        assert bot.outcome(tripped["id"]) == "kill switch tripped"
        status = wait(lambda: (s := bot.get("/api/bots")[0])["kill_switch"] == "tripped" and s, 60,
                      "the kill switch to be journaled")
        assert status["state"] == "degraded"
        assert status["kill_switch_reason"].startswith("tripped by api token from 127.0.0.1")
        wait(lambda: any(r["rule"] == "daily_loss_limit" for r in bot.get("/api/bots/default")["rejections"]), 60,
             "an order refused by the kill switch")
        reset = bot.post("/api/bots/default/kill-switch/reset").json()
        assert bot.outcome(reset["id"]) == "kill switch reset"
        wait(lambda: bot.get("/api/bots")[0]["kill_switch"] == "off", 60, "the reset to be journaled")

        shown = botkit_once("status", "--config", str(bot.config), "--stale-after", "3600", cwd=tmp_path)
        assert "recent control actions:" in shown.stdout, shown.stdout
        assert "api token from 127.0.0.1 asked to reset kill switch: kill switch reset" in shown.stdout
        as_json = json.loads(botkit_once("status", "--config", str(bot.config), "--format", "json",
                                         "--stale-after", "3600", cwd=tmp_path).stdout)
        assert [a["action"] for a in as_json[0]["recent_actions"]] == [
            "reset_kill_switch", "trip_kill_switch", "cancel_all", "resume", "pause"]

        stop = bot.post("/api/bots/default/stop").json()
        assert bot.proc.wait(timeout=60) == 0, bot.log.read_text()
    log = bot.log.read_text()
    assert "asked to stop: stopping" in log
    assert "stopped after" in log
    final = botkit_once("status", "--config", str(bot.config), "--format", "json", cwd=tmp_path)
    (row,) = json.loads(final.stdout)
    assert row["state"] == "stopped"
    (last, *_) = row["recent_actions"]
    assert (last["id"], last["action"], last["outcome"]) == (stop["id"], "stop", "stopping")


def test_a_request_left_from_before_a_crash_is_not_carried_out_and_the_restart_is_told(tmp_path: Path) -> None:
    """kill -9, a stop request journaled while nobody runs the bot, a restart: the bot does not
    stop on that stale request, says why, and its notifier tells of the restart after a crash."""
    from botkit.journal import control
    from botkit.journal.queries import open_journal
    from tests.daemon.webhook import receiver

    with receiver() as hook:
        extra = f'[notify]\nurls = ["{hook.url}"]\nmin_interval_seconds = 0\n'
        with running_bot(tmp_path, extra=extra) as bot:
            wait(lambda: bot.get("/api/bots")[0]["ticks"] > 2, 60, "a few ticks")
            bot.proc.kill()
            bot.proc.wait(timeout=60)
        engine = open_journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")
        stale = control.request(engine, "default", "stop", "api token from 127.0.0.1", 1_000)
        engine.dispose()
        with running_bot(tmp_path, extra=extra) as again:
            assert again.outcome(stale) == "not carried out: asked before this run started"
            assert again.proc.poll() is None
            assert again.get("/api/bots")[0]["state"] == "running"
            wait(lambda: "botkit default: restarted after a crash" in hook.titles(), 60, "the restart message")
