"""Quotes both sides around mid, skewed against inventory, and refreshes quotes that go stale.

Each tick the strategy computes a bid and an ask ``spread_bps`` apart around mid, shifted by
``skew_bps`` per unit of inventory (long: both quotes move down, so it sells more readily and buys
less), rounded to the cent away from mid. A side is not quoted when the position has reached
``max_inventory`` that way. A resting quote is replaced when it is more than ``refresh_bps`` from
where it should be, or its size differs; otherwise it is left alone to keep its queue priority.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import botkit
from botkit import hookimpl

PARAMS = {
    "spread_bps": Decimal(20),
    "size": Decimal("0.05"),
    "max_inventory": Decimal("0.5"),
    "skew_bps": Decimal(10),
    "refresh_bps": Decimal(5),
}
CENT = Decimal("0.01")
BPS = Decimal(10000)


def quotes(mid: Decimal, position: Decimal, params: Mapping[str, Decimal]) -> tuple[Decimal, Decimal]:
    """The bid and ask to quote for this mid and inventory (cents, rounded away from mid)."""
    size = params["size"]
    skew = -position / size * params["skew_bps"] if size > 0 else Decimal(0)
    centre = mid * (1 + skew / BPS)
    half = centre * params["spread_bps"] / BPS / 2
    bid = (centre - half).quantize(CENT, rounding=ROUND_FLOOR)
    ask = (centre + half).quantize(CENT, rounding=ROUND_CEILING)
    if ask <= bid:
        ask = bid + CENT
    return bid, ask


@hookimpl
def botkit_on_snapshot(snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
    mid = snapshot.mid
    if mid is None:
        return
    params = ctx.params
    size: Decimal = params["size"]
    position = ctx.position
    bid, ask = quotes(mid, position, params)
    inventory = params["max_inventory"]
    targets = (
        (botkit.Side.BUY, bid if position + size <= inventory else None),
        (botkit.Side.SELL, ask if position - size >= -inventory else None),
    )
    tolerance = mid * params["refresh_bps"] / BPS
    for side, target in targets:
        keep = None
        for order in ctx.open_orders:
            if order.side is not side:
                continue
            fresh = (target is not None and order.price is not None and keep is None
                     and abs(order.price - target) <= tolerance and order.remaining == size)
            if fresh:
                keep = order
            elif order.is_placed:
                yield botkit.cancel(order.order_id)
        if keep is None and target is not None:
            place = botkit.buy if side is botkit.Side.BUY else botkit.sell
            yield place(size, target, tag="quote")
