"""A test strategy that reads ``ctx.instrument``: once, a bid five price increments under the best
bid, of the instrument's minimum size."""

from __future__ import annotations

from collections.abc import Iterator

import botkit
from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
    if ctx.state.get("placed") or snapshot.best_bid is None:
        return
    ctx.state["placed"] = True
    step = ctx.instrument.price_increment
    yield botkit.buy(ctx.instrument.min_size, snapshot.best_bid - 5 * step)
