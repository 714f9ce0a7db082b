"""Trend following on 1-minute bars: long ``size`` BTC while the fast SMA of closes is above the
slow one, flat otherwise (never short).

The averages are talipp's incremental SMAs: seeded at start from ``ctx.history("1m")`` (the bars
kept from the last run, or a warm-up), then fed one close per closed bar in ``botkit_on_bar``, so
a restarted bot decides as one that ran through. A bar botkit saw nothing of (``missing``) is
skipped rather than averaged as a made-up price. On each bar the difference between the target
and the position is traded with a limit order at this tick's touch (best ask to buy, best bid to
sell), which takes liquidity at once; an order still open at the next bar is cancelled first.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

from talipp.indicators import SMA

import botkit
from botkit import hookimpl

TIMEFRAME = "1m"


class SmaCrossover:
    """Long while the fast SMA of 1-minute closes is above the slow SMA, flat otherwise."""

    PARAMS: ClassVar[dict[str, Any]] = {"fast": 10, "slow": 30, "size": Decimal("0.01")}
    TIMEFRAMES = (TIMEFRAME,)
    HISTORY = 500
    SNAPSHOTS = 1

    def __init__(self) -> None:
        self.fast = SMA(10)
        self.slow = SMA(30)

    @hookimpl
    def botkit_on_start(self, ctx: botkit.StrategyContext) -> None:
        fast, slow = ctx.params["fast"], ctx.params["slow"]
        if not 0 < fast < slow:
            raise ValueError(f"sma_crossover needs 0 < fast < slow, got fast={fast}, slow={slow}")
        if slow > self.HISTORY:
            raise ValueError(f"sma_crossover keeps {self.HISTORY} bars, so slow must be at most that, got {slow}")
        closes = [float(bar.close) for bar in ctx.history(TIMEFRAME) if bar.close is not None]
        self.fast = SMA(fast, input_values=closes)
        self.slow = SMA(slow, input_values=closes)

    @hookimpl
    def botkit_on_bar(self, bar: botkit.Bar, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
        if bar.close is None:
            return
        self.fast.add(float(bar.close))
        self.slow.add(float(bar.close))
        for order in ctx.open_orders:  # the touch moved on: trade the difference afresh
            if order.is_placed:
                yield botkit.cancel(order.order_id)
        fast, slow = self.fast[-1], self.slow[-1]
        if fast is None or slow is None:
            return
        size: Decimal = ctx.params["size"]
        difference = (size if fast > slow else Decimal(0)) - ctx.position
        (snapshot,) = ctx.snapshots(1)
        if difference > 0 and snapshot.best_ask is not None:
            yield botkit.buy(difference, snapshot.best_ask, tag="trend")
        elif difference < 0 and snapshot.best_bid is not None:
            yield botkit.sell(-difference, snapshot.best_bid, tag="trend")
