"""A bot that ticks but cannot trade as configured is `degraded`, and `botkit status` says so.

Issue 10.2: a strategy that raised five times was paused, yet `botkit status` said `running`,
exit 0. The daemon now journals each strategy's health and the kill switch as they change, and
`botkit status` (another process) shows them and exits 3. Real sandbox, real journals (SQLite and
PostgreSQL), a real `botkit run` in a subprocess.
"""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, select, text

from botkit.cli import main
from botkit.cli.status import render_status
from botkit.daemon.scheduler import Daemon
from botkit.journal import Journal, migrate
from botkit.journal.queries import open_journal
from botkit.journal.schema import StrategyHealthRow
from botkit.journal.status import EXIT_DEGRADED, EXIT_DOWN, EXIT_HEALTHY, BotStatus, exit_status, read_status
from botkit.strategy.health import StrategyHealth
from tests.ops.helpers import (
    account,
    botkit_once,
    counterparty,
    losing_rig,
    now_ms,
    rig,
    start_botkit,
    wait,
)
from tests.plugins.recorder import Recorder

D = Decimal
BOT_KEY = "health-bot"
HOUR_MS = 3_600_000
BOOM = "botkit_on_snapshot: raised RuntimeError: boom"


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from botkit.sandbox import Sandbox

    with Sandbox(market="off", accounts=[counterparty(), account(BOT_KEY)], rate_limit=0) as sb:
        yield sb


def _explode(snapshot: Any, ctx: Any) -> Any:
    raise RuntimeError("boom")


def _status(url: str, bot: str, now: int | None = None) -> BotStatus:
    engine = open_journal(url)
    try:
        (found,) = [s for s in read_status(engine, now_ms() if now is None else now, HOUR_MS) if s.bot == bot]
    finally:
        engine.dispose()
    return found


def _strategies(status: BotStatus) -> dict[str, tuple[str, str | None, int, str | None]]:
    return {s.health.strategy: (s.health.state, s.health.reason, s.health.failures, s.health.last_error)
            for s in status.strategies}


# ---------------------------------------------------------------------- the engine journals, status reads


def test_a_paused_strategy_makes_a_running_bot_degraded(sandbox: Any, journal_url: str, bot_id: str) -> None:
    broken, steady = Recorder(), Recorder()
    broken.script = [_explode] * 5
    bot = rig(sandbox, journal_url, bot_id, BOT_KEY, {"broken": broken, "steady": steady}, max_failures=2)
    bot.engine.start(now_ms())
    started = _status(journal_url, bot_id)
    assert started.state == "running" and exit_status([started]) == EXIT_HEALTHY
    assert _strategies(started) == {"broken": ("active", None, 0, None), "steady": ("active", None, 0, None)}

    bot.engine.tick(bot.bot.fetch())  # failure 1 of 2: still active, the streak shown
    first = _status(journal_url, bot_id)
    assert first.state == "running" and exit_status([first]) == EXIT_HEALTHY
    assert _strategies(first)["broken"] == ("active", None, 1, BOOM)
    since = first.as_row()["strategies"][0]["since"]
    assert first.problems == [f"strategy broken active, 1 consecutive failure (since {since}); last error: {BOOM}"]

    bot.engine.tick(bot.bot.fetch())  # failure 2 of 2: paused
    paused = _status(journal_url, bot_id)
    assert paused.state == "degraded" and exit_status([paused]) == EXIT_DEGRADED
    assert _strategies(paused) == {"broken": ("paused", "paused after 2 consecutive failures", 2, BOOM),
                                   "steady": ("active", None, 0, None)}
    assert paused.kill_switch is None

    (row,) = json.loads(render_status([paused], "json"))
    assert row["state"] == "degraded" and row["kill_switch"] == "off" and row["kill_switch_reason"] is None
    assert [(s["strategy"], s["state"], s["reason"], s["consecutive_failures"], s["last_error"])
            for s in row["strategies"]] == [("broken", "paused", "paused after 2 consecutive failures", 2, BOOM),
                                            ("steady", "active", None, 0, None)]
    assert row["strategies"][0]["since"].endswith("Z")
    lines = render_status([paused], "table").splitlines()
    assert lines[0].split()[7:9] == ["strategies", "kill_switch"]
    assert lines[2].split()[:2] == [bot_id, "degraded"]
    assert lines[2].endswith("  broken: paused (2 failures), steady: active  off")
    assert lines[3] == ""
    assert lines[4].startswith(f"{bot_id}: strategy broken paused after 2 consecutive failures (since ")
    assert lines[4].endswith(f"); last error: {BOOM}")

    # Silence beats a pause: a degraded bot that stops ticking is stale (exit 1: restart it).
    assert _status(journal_url, bot_id, now_ms() + 2 * HOUR_MS).state == "stale"
    assert exit_status([paused, _status(journal_url, bot_id, now_ms() + 2 * HOUR_MS)]) == EXIT_DOWN

    bot.engine.stop(now_ms())
    stopped = _status(journal_url, bot_id)
    assert stopped.state == "stopped" and exit_status([stopped]) == EXIT_HEALTHY
    assert _strategies(stopped)["broken"][0] == "paused"  # how the run ended, for the record
    bot.close()

    again = rig(sandbox, journal_url, bot_id, BOT_KEY, {"steady": Recorder()})  # a new run: its own strategies only
    again.engine.start(now_ms())
    restarted = _status(journal_url, bot_id)
    assert restarted.state == "running" and _strategies(restarted) == {"steady": ("active", None, 0, None)}
    again.engine.stop(now_ms())
    again.close()


def test_a_failure_streak_that_ends_is_journaled_as_over(sandbox: Any, journal_url: str, bot_id: str) -> None:
    flaky = Recorder()
    flaky.script = [_explode, None]
    bot = rig(sandbox, journal_url, bot_id, BOT_KEY, {"flaky": flaky}, max_failures=3)
    bot.engine.start(now_ms())
    bot.engine.tick(bot.bot.fetch())
    assert _strategies(_status(journal_url, bot_id))["flaky"] == ("active", None, 1, BOOM)
    bot.engine.tick(bot.bot.fetch())  # a clean call: the streak is over, the last error kept
    status = _status(journal_url, bot_id)
    assert _strategies(status)["flaky"] == ("active", None, 0, BOOM)
    assert (status.state, status.problems) == ("running", [])
    bot.engine.stop(now_ms())
    bot.close()


def test_the_kill_switch_makes_botkit_status_exit_3(sandbox: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    bot = losing_rig(sandbox, url, "kill", BOT_KEY)
    config = tmp_path / "botkit.toml"
    config.write_text(f'[journal]\nurl = "{url}"\n')
    status = ["status", "--config", str(config), "--stale-after", "3600"]  # never stale, however slow the machine
    daemon = Daemon(bot.bot, 1.0)
    bot.engine.start(now_ms())
    daemon.tick()
    healthy = CliRunner().invoke(main, status)
    assert healthy.exit_code == EXIT_HEALTHY, healthy.output
    daemon.tick()  # the loss shows in the equity: the kill switch trips
    assert bot.engine.risk.halted_reason is not None
    result = CliRunner().invoke(main, status)
    assert result.exit_code == EXIT_DEGRADED, result.output
    lines = result.output.splitlines()
    assert lines[2].split()[:2] == ["kill", "degraded"] and lines[2].split()[-1] == "tripped"
    assert lines[4].startswith("kill: kill switch tripped (since ")
    assert lines[4].endswith(f": {bot.engine.risk.halted_reason}")
    as_json = CliRunner().invoke(main, [*status, "--format", "json"])
    assert as_json.exit_code == EXIT_DEGRADED
    (row,) = json.loads(as_json.output)
    assert (row["state"], row["kill_switch"]) == ("degraded", "tripped")
    assert row["kill_switch_reason"].startswith("daily loss ") and row["kill_switch_at"].endswith("Z")
    assert [s["state"] for s in row["strategies"]] == ["active"]  # the strategy is fine; the account is not
    bot.engine.stop(now_ms())
    bot.close()


def test_error_texts_are_journaled_with_secrets_redacted(journal_url: str, bot_id: str) -> None:
    secret = "Hk3SECRETq8Zr5Lw2Nc7Vb4"
    journal = Journal(journal_url, bot_id, secrets=[secret])
    run = journal.begin_run("live", 1)
    journal.begin_health(run, 2, [StrategyHealth("leaky", "active", None, 0, None)])
    journal.set_health(run, 3, StrategyHealth("leaky", "paused", "paused after 1 consecutive failures", 1,
                                              f"botkit_on_snapshot: raised RuntimeError: cannot trade with {secret}"))
    journal.heartbeat(run, 4, 1, None, D(0), f"tick skipped: {secret!r} refused")
    journal.set_kill_switch(run, 5, f"halted {secret}")
    status = _status(journal_url, bot_id, now=5)
    assert _strategies(status)["leaky"][3] == "botkit_on_snapshot: raised RuntimeError: cannot trade with <redacted>"
    assert status.last_error == "tick skipped: '<redacted>' refused"
    assert status.kill_switch == "halted <redacted>"
    with journal.engine.connect() as conn:
        for table in ("runs", "strategy_health"):
            for row in conn.execute(text(f"SELECT * FROM {table}")):  # our own table names
                assert not any(secret in str(value) for value in row), (table, row)
    journal.close()


# ---------------------------------------------------------------------- the schema


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no journal yet (PostgreSQL: a schema of its own, since this test migrates)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'j.sqlite'}"
    return str(request.getfixturevalue("fresh_postgres"))


def test_migration_0002_keeps_the_rows_of_a_journal_in_use(empty_url: str) -> None:
    engine = Journal.make_engine(empty_url)
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO runs (bot_id, venue, status, started_at, ticks) "
                          "VALUES ('old', 'live', 'running', 1, 7)"))
    assert migrate.upgrade(engine) == ("0001", migrate.head())  # 0002 and every later one
    assert {"strategy_health"} <= set(inspect(engine).get_table_names())
    status = _status(empty_url, "old", now=2)
    assert (status.state, status.ticks, status.strategies, status.kill_switch) == ("running", 7, (), None)
    journal = Journal(empty_url, "old")  # the daemon writes to the upgraded schema
    journal.set_kill_switch(status.run_id, 3, "daily loss")
    journal.set_health(status.run_id, 3, StrategyHealth("mm", "paused", "paused after 5 consecutive failures", 5,
                                                        "boom"))
    assert _status(empty_url, "old", now=4).state == "degraded"
    journal.close()
    migrate.downgrade(engine, "0001")  # with rows everywhere, foreign keys enforced
    assert "strategy_health" not in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT bot_id, ticks FROM runs")).all() == [("old", 7)]
    engine.dispose()


# ---------------------------------------------------------------------- a real `botkit run`

BROKEN = '''
"""Raises at every tick (a bug that slipped through)."""
from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    raise RuntimeError("boom")
'''


def test_botkit_status_sees_the_paused_strategy_of_a_running_bot(tmp_path: Path) -> None:
    """The issue as a user met it: `botkit run` with a strategy that raises every tick; once it is
    paused, `botkit status` (another process) says degraded, paused, why, and exits 3."""
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    (strategies / "broken.py").write_text(BROKEN)
    config = tmp_path / "botkit.toml"
    config.write_text(f"""
strategy_paths = ["{strategies}"]
[journal]
url = "sqlite:///{tmp_path / 'journal.sqlite'}"
[engine]
interval_seconds = 0.2
max_strategy_failures = 3
[sandbox]
state_path = "{tmp_path / 'sandbox.sqlite'}"
[strategies.broken]
""")
    status = ("status", "--config", str(config), "--stale-after", "3600")  # never stale, however slow the machine
    proc = start_botkit("run", "--config", str(config), cwd=tmp_path, log=tmp_path / "run.log")
    try:
        def degraded() -> subprocess.CompletedProcess[str] | None:
            result = botkit_once(*status, "--format", "json", cwd=tmp_path)
            assert result.returncode in (EXIT_HEALTHY, EXIT_DEGRADED, 2), result.stderr  # 2: no journal yet
            return result if result.returncode == EXIT_DEGRADED else None

        (row,) = json.loads(wait(degraded, 90, "botkit status to exit 3").stdout)
        assert (row["bot"], row["state"], row["kill_switch"]) == ("default", "degraded", "off")
        (broken,) = row["strategies"]
        assert (broken["strategy"], broken["state"], broken["reason"], broken["consecutive_failures"]) == (
            "broken", "paused", "paused after 3 consecutive failures", 3)
        assert broken["last_error"] == BOOM

        table = botkit_once(*status, cwd=tmp_path)
        assert table.returncode == EXIT_DEGRADED, table.stderr
        lines = table.stdout.splitlines()
        assert lines[2].split()[:2] == ["default", "degraded"] and "broken: paused (3 failures)" in lines[2]
        assert lines[4].startswith("default: strategy broken paused after 3 consecutive failures (since ")
        assert lines[4].endswith(f"; last error: {BOOM}")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0, (tmp_path / "run.log").read_text()
    stopped = botkit_once(*status, cwd=tmp_path)
    assert stopped.returncode == EXIT_HEALTHY, stopped.stdout  # stopped: nothing to restart or look at
    assert stopped.stdout.splitlines()[2].split()[:2] == ["default", "stopped"]
    engine = create_engine(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    with engine.connect() as conn:  # what the daemon journaled, as another process reads it
        (health,) = conn.execute(select(StrategyHealthRow.__table__)).all()
    engine.dispose()
    assert (health.strategy, health.state, health.failures) == ("broken", "paused", 3)
