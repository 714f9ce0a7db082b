"""The clean strategy with its tick count in a module global: a restart starts it over."""

from __future__ import annotations

from collections.abc import Iterator

import botkit
from botkit import hookimpl

TICKS = 0


@hookimpl
def botkit_on_snapshot(snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
    global TICKS
    TICKS += 1
    if TICKS % 4 == 0 and snapshot.best_bid is not None:
        yield botkit.cancel_all()
        yield botkit.buy("0.01", snapshot.best_bid)
