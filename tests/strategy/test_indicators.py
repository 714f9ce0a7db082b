"""The indicator recipe of docs/strategies.md runs as written: seeded from ctx.history at start,
then fed bar by bar, it ends where the same indicators over the whole history end."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from talipp.indicators import EMA, RSI, SMA

from botkit import hookimpl
from botkit.strategy.bars import Bar
from botkit.strategy.context import StrategyContext
from botkit.strategy.history import MarketHistory, StrategyMarket

DOCS = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"
D = Decimal


def _recipe() -> dict[str, Any]:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S)
    (code,) = [block for block in blocks if "class Indicators" in block]
    namespace: dict[str, Any] = {"hookimpl": hookimpl}
    exec(compile(code, str(DOCS), "exec"), namespace)
    return namespace


def _bars(count: int) -> list[Bar]:
    bars = []
    for i in range(count):
        close = D(100) + D(i % 7) - D(i % 3) * 2  # up and down, by hand
        bars.append(Bar("1m", i * 60_000, (i + 1) * 60_000, close - 1, close + 2, close - 3, close, D(1), close, 1,
                        close, missing=False) if i != 17 else
                    Bar("1m", i * 60_000, (i + 1) * 60_000, None, None, None, None, missing=True))
    return bars


def test_the_documented_indicators_agree_seeded_or_fed_bar_by_bar() -> None:
    recipe = _recipe()
    bars = _bars(60)
    market = MarketHistory({"1m": 200}, snapshots=1)
    market.restore(bars[:40])
    ctx = StrategyContext.create("ind", {})
    ctx.attach(StrategyMarket("ind", market, {"1m": 200}, 1))
    strategy = recipe["Indicators"]()
    strategy.botkit_on_start(ctx)
    for bar in bars[40:]:
        market.series["1m"].append(bar)
        strategy.botkit_on_bar(bar, ctx)
    closes = [float(b.close) for b in bars if b.close is not None]
    assert strategy.sma[-1] == pytest.approx(sum(closes[-20:]) / 20)
    assert strategy.sma[-1] == pytest.approx(SMA(20, input_values=closes)[-1])
    assert strategy.ema[-1] == pytest.approx(EMA(20, input_values=closes)[-1])
    assert strategy.rsi[-1] == pytest.approx(RSI(14, input_values=closes)[-1])
    assert strategy.bb[-1].cb == pytest.approx(strategy.sma[-1])
    assert strategy.macd[-1].histogram == pytest.approx(strategy.macd[-1].macd - strategy.macd[-1].signal)
    assert strategy.atr[-1] is not None and strategy.atr[-1] > 0


def test_ema_by_hand() -> None:
    # EMA(3): k = 2 / (3 + 1) = 0.5, seeded with the SMA of the first 3: (1 + 2 + 3) / 3 = 2;
    # then 2 + 0.5 × (4 - 2) = 3, and 3 + 0.5 × (8 - 3) = 5.5.
    assert list(EMA(3, input_values=[1.0, 2.0, 3.0, 4.0, 8.0]))[-3:] == [2.0, 3.0, 5.5]
