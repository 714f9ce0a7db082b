"""Reads every level of the book each snapshot: the notional (price × quantity) of both sides.

What any depth-driven strategy pays at least: every ``BookLevel`` of the 10-level book touched,
exactly (``Decimal``), on every snapshot. The sum is kept so the work cannot be skipped.
"""

from __future__ import annotations

from decimal import Decimal

import botkit
from botkit import hookimpl

NOTIONAL = [Decimal(0)]


@hookimpl
def botkit_on_snapshot(snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> None:
    book = snapshot.book
    total = Decimal(0)
    for level in book.bids:
        total += level.price * level.quantity
    for level in book.asks:
        total += level.price * level.quantity
    NOTIONAL[0] += total
