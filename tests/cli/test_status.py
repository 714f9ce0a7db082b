"""`botkit status`: states, today's PnL and the refusals, on SQLite and PostgreSQL journals.

(The exit codes of a live daemon, running then killed, are tested with the metrics in
test_metrics.py; several bots on PostgreSQL, running then stopped, in test_several_bots.py.)
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from botkit.cli import main
from botkit.cli.status import render_status
from botkit.core.errors import JournalError
from botkit.journal import Journal, migrate
from botkit.journal.queries import open_journal
from botkit.journal.status import BotStatus, default_stale_after, read_status
from botkit.model import Fill, Liquidity, Order, OrderStatus, OrderType, Side
from tests.ops.helpers import botkit_once

D = Decimal
DAY = 86_400_000
NOW = 19_676 * DAY + 10 * 3_600_000  # 10:00 UTC
STALE_AFTER = 30_000


def _fill(journal: Journal, run: int, n: int, side: Side, price: str, quantity: str, fee: str, ts: int) -> None:
    """One order, filled at once, journaled the way the engine journals it."""
    record = journal.record_pending(run, "live", "mm", "", side, "limit", D(price), D(quantity), ts)
    exchange_id = f"{journal.bot_id}-{n}"
    journal.bind(record, exchange_id, ts)
    fill = Fill(exchange_id, D(price), D(quantity), D(fee), Liquidity.MAKER, ts, 0)
    journal.apply(record, Order(exchange_id, side, OrderType.LIMIT, OrderStatus.FILLED, D(price), D(quantity),
                                D(quantity), ts, fills=(fill,)), run, ts)


def _mine(statuses: list[BotStatus], *bots: str) -> dict[str, BotStatus]:
    return {s.bot: s for s in statuses if s.bot in bots}  # a shared PostgreSQL schema has other tests' bots


def test_states_and_todays_pnl(journal_url: str, bot_id: str) -> None:
    ids = {name: f"{bot_id}-{name}" for name in ("running", "stale", "stopped", "crashed")}
    journals = {name: Journal(journal_url, bot) for name, bot in ids.items()}

    live = journals["running"]
    run = live.begin_run("live", NOW - 3 * 3_600_000)
    _fill(live, run, 1, Side.BUY, "400", "1", "0.40", NOW - DAY)  # yesterday: the cost of today's sales
    _fill(live, run, 2, Side.SELL, "410", "0.5", "0.41", NOW - 3_000_000)  # realizes +5.00
    _fill(live, run, 3, Side.BUY, "404", "0.5", "0.20", NOW - 2_000_000)  # average cost now 402
    _fill(live, run, 4, Side.SELL, "401", "0.25", "0.10", NOW - 1_000_000)  # realizes -0.25
    resting = live.record_pending(run, "live", "mm", "", Side.SELL, "limit", D("420"), D("0.1"), NOW - 5_000)
    live.bind(resting, f"{live.bot_id}-open", NOW - 5_000)
    live.record_pending(run, "live", "mm", "", Side.BUY, "limit", D("390"), D("0.1"), NOW - 4_000)  # pending
    live.heartbeat(run, NOW - 1_500, 7, D("104000.50"), D("0.75"), "tick skipped: market data: HTTP 503")

    silent = journals["stale"]
    silent.heartbeat(silent.begin_run("live", NOW - DAY), NOW - 120_000, 99, None, D(0))
    stopped = journals["stopped"]
    stopped.end_run(stopped.begin_run("paper", NOW - 60_000), NOW - 10_000, "stopped", {})
    crashed = journals["crashed"]
    crashed.end_run(crashed.begin_run("live", NOW - 60_000), NOW - 10_000, "crashed", {})

    engine = open_journal(journal_url)
    statuses = _mine(read_status(engine, NOW, STALE_AFTER), *ids.values())
    engine.dispose()
    running = statuses[ids["running"]]
    assert (running.state, running.ticks, running.position, running.equity) == ("running", 7, D("0.75"),
                                                                                 D("104000.50"))
    assert running.last_tick_age == D("1.5")
    assert (running.open_orders, running.unresolved_orders) == (1, 1)
    assert running.fills_today == 3
    assert running.pnl_today == D("5.00") - D("0.25") - D("0.41") - D("0.20") - D("0.10")  # fees of today only
    assert running.last_error == "tick skipped: market data: HTTP 503"
    assert running.healthy
    assert statuses[ids["stale"]].state == "stale" and not statuses[ids["stale"]].healthy
    assert statuses[ids["stopped"]].state == "stopped" and statuses[ids["stopped"]].healthy
    assert statuses[ids["stopped"]].venue == "paper"
    assert statuses[ids["stopped"]].last_tick_age is None and statuses[ids["stopped"]].pnl_today == 0
    assert statuses[ids["crashed"]].state == "crashed" and not statuses[ids["crashed"]].healthy

    rows = json.loads(render_status(list(statuses.values()), "json"))
    by_bot = {r["bot"]: r for r in rows}
    assert by_bot[ids["running"]]["pnl_today_usd"] == 4.04  # an exact decimal, written as a JSON number
    assert by_bot[ids["running"]]["last_tick_at"].endswith("Z")
    table = render_status(list(statuses.values()), "table").splitlines()
    assert table[0].split() == ["bot", "state", "last_tick", "ticks", "position", "open_orders", "pnl_today",
                                "strategies", "kill_switch", "last_error"]
    assert any(line.startswith(ids["running"]) and " 1.5s ago " in line for line in table)
    # people see money to the unit (a newcomer saw pnl_today -0.043811466666666666666666666)
    (running_line,) = [line for line in table if line.startswith(ids["running"])]
    assert " 0.75000000 " in running_line and " 4.04 " in running_line
    for journal in journals.values():
        journal.close()


def test_a_running_bot_that_never_ticked_is_stale_from_its_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    journal = Journal(url, "starting")
    journal.begin_run("live", NOW - 10_000)
    engine = open_journal(url)
    assert read_status(engine, NOW, STALE_AFTER)[0].state == "running"
    assert read_status(engine, NOW + 60_000, STALE_AFTER)[0].state == "stale"
    engine.dispose()
    journal.close()


def test_default_stale_after() -> None:
    assert default_stale_after(D(2)) == 30
    assert default_stale_after(D(60)) == 180


def test_status_never_creates_or_migrates_a_journal(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no journal at"):
        open_journal(f"sqlite:///{tmp_path / 'absent.sqlite'}")
    assert not (tmp_path / "absent.sqlite").exists()
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    Journal(url).close()
    engine = Journal.make_engine(url)
    migrate.downgrade(engine, "base")
    with pytest.raises(JournalError, match="holds no botkit journal"):
        open_journal(url)
    engine.dispose()


def test_status_command_exits_2_without_a_journal_and_0_with_no_bots(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[journal]\nurl = "sqlite:///{tmp_path / "j.sqlite"}"\n')
    missing = botkit_once("status", "--config", str(config), cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"botkit: journal error: no journal at {tmp_path / 'j.sqlite'} " \
                                     "(no bot has run with this journal.url yet)"
    Journal(f"sqlite:///{tmp_path / 'j.sqlite'}").close()
    empty = CliRunner().invoke(main, ["status", "--config", str(config), "--format", "json"])  # in-process
    assert (empty.exit_code, empty.output.strip()) == (0, "[]")
