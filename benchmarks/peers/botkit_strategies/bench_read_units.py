"""Reads every level of the book each snapshot, in exact integers: the notional of both sides.

The same work as ``bench_read_levels`` (every level of the 10-level book, price × quantity,
exact) through :meth:`botkit.OrderBook.units`: integer cents × satoshis summed, turned into one
``Decimal`` at the end of the snapshot. It must sum to the very same notional.
"""

from __future__ import annotations

from decimal import Decimal
from operator import mul

import botkit
from botkit import hookimpl

NOTIONAL = [Decimal(0)]


@hookimpl
def botkit_on_snapshot(snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> None:
    u = snapshot.book.units()
    total = sum(map(mul, u.bid_prices, u.bid_quantities)) + sum(map(mul, u.ask_prices, u.ask_quantities))
    NOTIONAL[0] += u.decimal(total, u.price_decimals + u.quantity_decimals)
