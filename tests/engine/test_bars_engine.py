"""Bars in the engine, against the real sandbox over HTTP: botkit_on_bar after the tick's
botkit_on_snapshot, once per closed bar in time order, its intents executed; bars kept in the
journal and back in ctx.history after a restart; bad declarations refused in one line."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import botkit
from botkit import hookimpl
from botkit.cli import main
from botkit.strategy.bars import Bar
from tests.engine.harness import Rig, accounts, build, seed_book

D = Decimal
T0 = time.time_ns() // 1_000_000 // 60_000 * 60_000
"""A whole minute (UTC) near the wall clock: requests are signed with wall time, which the sandbox
refuses more than 5 minutes away from its own clock (the test's)."""


class BarRecorder:
    """Records snapshots and bars, and what ctx.history held at each bar; buys on the first bar."""

    TIMEFRAMES = ("1m",)
    HISTORY = 10

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.histories: list[list[int]] = []
        self.started_with: list[int] = []
        self.bought = False

    @hookimpl
    def botkit_on_start(self, ctx: botkit.StrategyContext) -> None:
        self.started_with = [bar.start for bar in ctx.history("1m")]

    @hookimpl
    def botkit_on_snapshot(self, snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> None:
        self.calls.append(("snapshot", snapshot.ts))

    @hookimpl
    def botkit_on_bar(self, bar: Bar, ctx: botkit.StrategyContext) -> list[botkit.Intent]:
        self.calls.append(("bar", (bar.start, bar.trades, bar.from_mid, bar.missing)))
        self.histories.append([b.start for b in ctx.history("1m")])
        if self.bought:
            return []
        self.bought = True
        return [botkit.buy("0.1", "401.00", tag="on-bar")]


@pytest.fixture
def clocked() -> Iterator[tuple[Any, list[int]]]:
    from botkit.sandbox import Sandbox

    now = [T0]
    with Sandbox(market="off", accounts=accounts(), rate_limit=0, clock=lambda: now[0]) as sb:
        yield sb, now


def _tick(rig: Rig, now: list[int], ts: int) -> Any:
    now[0] = ts
    return rig.tick(ts)


def test_hook_botkit_on_bar_after_on_snapshot_once_per_closed_bar_in_time_order(
        clocked: tuple[Any, list[int]], journal_url: str, bot_id: str) -> None:
    sandbox, now = clocked
    strategy = BarRecorder()
    rig = build(sandbox, journal_url, bot_id, {"bars": strategy})
    seed_book(rig)  # 399.00 / 401.00
    rig.engine.start(T0)
    _tick(rig, now, T0)
    _tick(rig, now, T0 + 30_000)
    report = _tick(rig, now, T0 + 60_000)  # closes [T0, T0+1m): no trades, from mid; it buys on it
    assert report.placed == 1 and report.fills == 1
    _tick(rig, now, T0 + 180_500)  # closes the minute of its own trade, then one it saw nothing of
    assert strategy.calls == [
        ("snapshot", T0), ("snapshot", T0 + 30_000),
        ("snapshot", T0 + 60_000), ("bar", (T0, 0, True, False)),
        ("snapshot", T0 + 180_500), ("bar", (T0 + 60_000, 1, False, False)),
        ("bar", (T0 + 120_000, 0, False, True))]
    assert strategy.histories[-1] == [T0, T0 + 60_000, T0 + 120_000]  # ends with the bar handed over
    bar = rig.engine.bars.market.history("1m", 3)[1]
    assert (bar.open, bar.volume, bar.quote_volume, bar.vwap) == (D("401.00"), D("0.1"), D("40.100"), D("401.00"))
    rig.engine.stop(T0 + 181_000)
    rig.engine.venue.close()
    rig.journal.close()

    # A restarted bot has its history before its first decision: the same bars, exactly.
    again = BarRecorder()
    rig2 = build(sandbox, journal_url, bot_id, {"bars": again})
    rig2.engine.start(T0 + 200_000)
    assert again.started_with == [T0, T0 + 60_000, T0 + 120_000]
    assert list(rig2.engine.bars.market.history("1m", 3)) == list(rig.engine.bars.market.history("1m", 3))
    _tick(rig2, now, T0 + 240_000)  # the minute it was down in: no book seen, no trades -> missing
    assert again.calls[-1] == ("bar", (T0 + 180_000, 0, False, True))
    rig2.engine.stop(T0 + 241_000)
    rig2.engine.venue.close()
    rig2.journal.close()



def test_a_strategy_with_a_bad_timeframe_is_refused_in_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "wrong.py").write_text(
        "from botkit import hookimpl\nTIMEFRAMES = ('1m', '5x')\n\n"
        "@hookimpl\ndef botkit_on_snapshot(snapshot, ctx):\n    return None\n")
    data = Path(botkit.__file__).parent / "backtest" / "data"
    sample = next(data.glob("*.jsonl.gz"))
    result = CliRunner().invoke(main, ["backtest", "--data", str(sample), "--strategy-path", str(folder),
                                       "--strategy", "wrong", "--limit", "5", "--no-progress"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1
    assert "strategy wrong: TIMEFRAMES: timeframe '5x' does not parse" in lines[0]
