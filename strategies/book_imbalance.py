"""Order-book imbalance on 1-minute bars: long ``size`` BTC while the book has leaned to the bids,
flat once it leans to the asks.

Each bar keeps the book at its close; its ``imbalance`` is (bid size − ask size) / (bid size + ask
size) over the top five levels of each side, in [-1, 1]. The strategy averages it over the last
``window`` bars (a numpy column of ``ctx.history``): above ``threshold`` buyers outweigh sellers
and the target is ``size``; below ``-threshold`` it is flat; in between the position is held. A
window with a bar that saw no book (its imbalance is NaN) decides nothing. The difference to the
target is traded at this tick's touch, like sma_crossover's.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np

import botkit
from botkit import hookimpl

TIMEFRAME = "1m"


class BookImbalance:
    """Long while the top of the book leans to the bids, flat when it leans to the asks."""

    PARAMS: ClassVar[dict[str, Any]] = {"window": 5, "threshold": Decimal("0.2"), "size": Decimal("0.01")}
    TIMEFRAMES = (TIMEFRAME,)
    HISTORY = 100
    SNAPSHOTS = 1

    @hookimpl
    def botkit_on_start(self, ctx: botkit.StrategyContext) -> None:
        window, threshold = ctx.params["window"], ctx.params["threshold"]
        if not 0 < window <= self.HISTORY:
            raise ValueError(f"book_imbalance needs 0 < window <= {self.HISTORY}, got {window}")
        if not 0 <= threshold < 1:
            raise ValueError(f"book_imbalance needs 0 <= threshold < 1, got {threshold}")

    @hookimpl
    def botkit_on_bar(self, bar: botkit.Bar, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
        window: int = ctx.params["window"]
        for order in ctx.open_orders:
            if order.is_placed:
                yield botkit.cancel(order.order_id)
        imbalance = ctx.history(TIMEFRAME, window).column("imbalance")
        if len(imbalance) < window or np.isnan(imbalance).any():
            return
        lean = float(imbalance.mean())
        threshold = float(ctx.params["threshold"])
        size: Decimal = ctx.params["size"]
        if lean > threshold:
            target = size
        elif lean < -threshold:
            target = Decimal(0)
        else:
            return
        difference = target - ctx.position
        (snapshot,) = ctx.snapshots(1)
        if difference > 0 and snapshot.best_ask is not None:
            yield botkit.buy(difference, snapshot.best_ask, tag="imbalance")
        elif difference < 0 and snapshot.best_bid is not None:
            yield botkit.sell(-difference, snapshot.best_bid, tag="imbalance")
