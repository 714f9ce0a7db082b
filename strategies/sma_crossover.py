"""Trend following on mid: long ``size`` BTC while the fast moving average is above the slow one.

Each snapshot's mid joins a window of the last ``slow`` mids. Once the window is full, the fast
average (the last ``fast`` mids) is compared with the slow one (all of them), exactly: the sums
are cross-multiplied instead of divided. Above: the target position is ``size``; otherwise flat
(this strategy never goes short). The difference between target and position is traded with a
limit order at the touch (best ask to buy, best bid to sell), which takes liquidity at once; an
order that is still open on the next snapshot is cancelled and the difference traded again.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

import botkit
from botkit import hookimpl


class SmaCrossover:
    """Long while the fast SMA of mid is above the slow SMA, flat otherwise."""

    PARAMS: ClassVar[dict[str, Any]] = {"fast": 10, "slow": 30, "size": Decimal("0.01")}

    def __init__(self) -> None:
        self.mids: deque[Decimal] = deque()

    @hookimpl
    def botkit_on_start(self, ctx: botkit.StrategyContext) -> None:
        fast, slow = ctx.params["fast"], ctx.params["slow"]
        if not 0 < fast < slow:
            raise ValueError(f"sma_crossover needs 0 < fast < slow, got fast={fast}, slow={slow}")
        self.mids = deque(maxlen=slow)

    @hookimpl
    def botkit_on_snapshot(self, snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
        mid = snapshot.mid
        if mid is None:
            return
        fast, slow, size = ctx.params["fast"], ctx.params["slow"], ctx.params["size"]
        if self.mids.maxlen != slow:
            self.mids = deque(self.mids, maxlen=slow)
        self.mids.append(mid)
        for order in ctx.open_orders:  # the touch moved on: trade the difference afresh
            if order.is_placed:
                yield botkit.cancel(order.order_id)
        if len(self.mids) < slow:
            return
        window = list(self.mids)
        fast_sum = sum(window[-fast:], Decimal(0))
        slow_sum = sum(window, Decimal(0))
        long = fast_sum * slow > slow_sum * fast  # fast_sum / fast > slow_sum / slow, exactly
        difference = (size if long else Decimal(0)) - ctx.position
        if difference > 0 and snapshot.best_ask is not None:
            yield botkit.buy(difference, snapshot.best_ask, tag="trend")
        elif difference < 0 and snapshot.best_bid is not None:
            yield botkit.sell(-difference, snapshot.best_bid, tag="trend")
