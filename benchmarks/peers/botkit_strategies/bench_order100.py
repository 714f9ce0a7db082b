"""Places a resting buy every 100 snapshots and cancels it on the next: the order path's cost.

The buy is 100 USD under the best bid, so it rests and never fills; each one is one placement and
one cancellation through the engine, risk checks, journal and simulated venue.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import botkit
from botkit import hookimpl

EVERY = 100
SIZE = Decimal("0.01")
BELOW = Decimal(100)
SEEN = [0]


@hookimpl
def botkit_on_snapshot(snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
    SEEN[0] += 1
    for order in ctx.open_orders:
        if order.is_placed:
            yield botkit.cancel(order.order_id)
    bid = snapshot.best_bid
    if SEEN[0] % EVERY == 0 and bid is not None:
        yield botkit.buy(SIZE, bid - BELOW, tag="bench")
