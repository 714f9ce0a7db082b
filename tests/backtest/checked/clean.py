"""Buys at the bid every fourth tick, counting ticks in ``ctx.state``: passes every check."""

from __future__ import annotations

from collections.abc import Iterator

import botkit
from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
    ticks = ctx.state.get("ticks", 0) + 1
    ctx.state["ticks"] = ticks
    if ticks % 4 == 0 and snapshot.best_bid is not None:
        yield botkit.cancel_all()
        yield botkit.buy("0.01", snapshot.best_bid)
