"""A grid of resting orders: buy every ``step`` USD below the first mid, sell every ``step`` above.

On the first snapshot with a mid, the grid is anchored at that mid rounded down to a multiple
of ``step``, and ``levels`` buys (anchor − step, anchor − 2·step, ...) and ``levels`` sells
(anchor + step, ...) of ``size`` BTC are placed. Each fill is answered on the next snapshot by
the opposite order one step away: a buy filled at p becomes a sell at p + step, a sell filled at
p a buy at p − step. The grid earns ``step`` on every buy-sell pair while the price oscillates,
and carries the inventory when it trends.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_FLOOR, Decimal
from typing import Any, ClassVar

import botkit
from botkit import hookimpl


class Grid:
    """Resting orders every ``step`` USD around the first mid; each fill answered one step away."""

    PARAMS: ClassVar[dict[str, Any]] = {"step": Decimal(10), "levels": 3, "size": Decimal("0.01")}

    def __init__(self) -> None:
        self.anchor: Decimal | None = None
        self.todo: list[botkit.Intent] = []

    @hookimpl
    def botkit_on_start(self, ctx: botkit.StrategyContext) -> None:
        if ctx.params["step"] <= 0 or ctx.params["levels"] < 1:
            raise ValueError("grid needs step > 0 and levels >= 1")
        self.anchor = None
        self.todo = []

    @hookimpl
    def botkit_on_fill(self, fill: botkit.Fill, order: botkit.Order, ctx: botkit.StrategyContext) -> None:
        step = ctx.params["step"]
        if order.side is botkit.Side.BUY:
            self.todo.append(botkit.sell(fill.quantity, fill.price + step, tag="grid"))
        else:
            self.todo.append(botkit.buy(fill.quantity, fill.price - step, tag="grid"))

    @hookimpl
    def botkit_on_snapshot(self, snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
        step, size = ctx.params["step"], ctx.params["size"]
        if self.anchor is None:
            mid = snapshot.mid
            if mid is None:
                return
            self.anchor = (mid / step).to_integral_value(rounding=ROUND_FLOOR) * step
            for k in range(1, ctx.params["levels"] + 1):
                yield botkit.buy(size, self.anchor - k * step, tag="grid")
                yield botkit.sell(size, self.anchor + k * step, tag="grid")
        todo, self.todo = self.todo, []
        yield from todo
