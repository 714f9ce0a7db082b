"""Bounded history: the last n closed bars oldest first, columns as views, bounds enforced."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botkit.strategy.bars import Bar
from botkit.strategy.history import BarSeries, MarketHistory, StrategyMarket, declared_bounds
from tests.strategy.test_bars import snap, trade

D = Decimal


def bar(i: int, missing: bool = False) -> Bar:
    if missing:
        return Bar("1m", i * 60_000, (i + 1) * 60_000, None, None, None, None, missing=True)
    price = D(100 + i)
    return Bar("1m", i * 60_000, (i + 1) * 60_000, price, price + 1, price - 1, price, D(1), price, 1, price)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 20), st.integers(0, 60), st.integers(0, 25))
def test_a_view_is_the_last_n_bars_oldest_first(capacity: int, appended: int, n: int) -> None:
    series = BarSeries("1m", capacity)
    bars = [bar(i, missing=i % 7 == 3) for i in range(appended)]
    for b in bars:
        series.append(b)
    view = series.view(n)
    expected = bars[-min(n, capacity):] if n else []
    assert list(view) == expected
    assert len(view) == len(expected)
    assert [view[i] for i in range(len(view))] == expected
    closes = view.closes
    assert len(closes) == len(expected)
    for value, b in zip(closes, expected, strict=True):
        assert math.isnan(value) if b.close is None else value == float(b.close)
    assert list(view.starts) == [b.start for b in expected]
    assert list(view.missing) == [b.missing for b in expected]


def test_columns_are_read_only_views_and_a_stale_view_refuses_to_be_read() -> None:
    series = BarSeries("1m", 4)
    for i in range(3):
        series.append(bar(i))
    view = series.view(3)
    closes = view.closes
    assert not closes.flags.writeable and not closes.flags.owndata
    with pytest.raises(ValueError, match="read-only"):
        closes[0] = 1.0
    series.append(bar(3))
    with pytest.raises(RuntimeError, match="out of date"):
        view.closes  # noqa: B018


def test_to_pandas_gives_a_frame_indexed_by_utc_start() -> None:
    series = BarSeries("1m", 10)
    for i in range(3):
        series.append(bar(i, missing=i == 1))
    frame = series.view(3).to_pandas()
    assert list(frame["close"].iloc[[0, 2]]) == [100.0, 102.0]
    assert np.isnan(frame["close"].iloc[1]) and bool(frame["missing"].iloc[1])
    assert str(frame.index[1]) == "1970-01-01 00:01:00+00:00"


def test_market_history_keeps_bars_and_snapshots_and_restores() -> None:
    market = MarketHistory({"1m": 2}, snapshots=3)
    for ts in range(0, 240_001, 30_000):
        market.update(snap(ts, [trade(ts, str(100 + ts // 60_000))]))
    assert [b.start for b in market.history("1m", 5)] == [120_000, 180_000]
    assert [s.ts for s in market.snapshots(10)] == [180_000, 210_000, 240_000]
    assert [s.ts for s in market.snapshots(2)] == [210_000, 240_000]
    again = MarketHistory({"1m": 2})
    assert again.restore(list(market.history("1m", 2))) == 2
    closed = again.update(snap(300_000, [trade(239_000, "103"), trade(250_000, "104"), trade(290_000, "105")]))
    assert [(b.start, b.trades, b.missing) for b in closed] == [(240_000, 2, False)]
    with pytest.raises(ValueError, match="is not after"):
        again.restore([bar(0)])


def test_a_strategy_sees_its_own_timeframes_within_its_own_bounds() -> None:
    market = MarketHistory({"1m": 10, "5m": 3})
    mine = StrategyMarket("trend", market, {"1m": 5}, snapshots=2)
    assert len(mine.history("1m")) == 0
    with pytest.raises(KeyError, match=r"did not declare timeframe '5m' \(TIMEFRAMES: '1m'\); add it"):
        mine.history("5m", 1)
    with pytest.raises(ValueError, match=r"asked for 6 1m bars but keeps 5 \(HISTORY\); raise HISTORY to at least 6"):
        mine.history("1m", 6)
    with pytest.raises(ValueError, match=r"raise SNAPSHOTS to at least 3"):
        mine.snapshots(3)


@pytest.mark.parametrize(("timeframes", "history", "message"), [
    ("1m", 10, "TIMEFRAMES must be a tuple"),
    (("1m", "1x"), 10, "TIMEFRAMES: timeframe '1x' does not parse"),
    (("1m",), 0, "HISTORY for 1m must be a whole number of bars from 1"),
    (("1m",), {"1m": 5, "5m": 2}, "HISTORY names '5m', not in TIMEFRAMES"),
])
def test_bad_declarations_name_the_strategy_and_key(timeframes: object, history: object, message: str) -> None:
    with pytest.raises(ValueError, match=rf"^strategy s: .*{message}"):
        declared_bounds("s", timeframes, history)


def test_declarations() -> None:
    assert declared_bounds("s", ("1m", "15m"), None) == {"1m": 500, "15m": 500}
    assert declared_bounds("s", ["1m", "15m"], {"15m": 20}) == {"1m": 500, "15m": 20}
    assert declared_bounds("s", (), 10) == {}
