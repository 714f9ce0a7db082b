"""A backtest restricted to a span of its file (``BacktestSettings.from_ts``/``to_ts``)."""

from __future__ import annotations

from pathlib import Path

from botkit.backtest.runner import run_backtest
from botkit.backtest.settings import BacktestSettings
from botkit.config import parse
from botkit.data.generate import START_TS


def test_a_span_replays_exactly_the_snapshots_in_it_and_is_recorded(market: Path) -> None:
    settings = BacktestSettings(data=market, strategies=("market_maker",), from_ts=START_TS + 60_000,
                                to_ts=START_TS + 180_000)
    result = run_backtest(parse({}), settings)
    assert result.metrics.snapshots == 120  # one a second, the end excluded
    assert result.metrics.start_ts == START_TS + 60_000
    assert result.metrics.end_ts == START_TS + 179_000
    assert result.run["data"]["from_ts"] == START_TS + 60_000
    assert result.run["data"]["to_ts"] == START_TS + 180_000
