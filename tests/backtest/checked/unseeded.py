"""Buys at the bid on a coin toss of an unseeded random generator: two runs differ."""

from __future__ import annotations

import random
from collections.abc import Iterator

import botkit
from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
    if random.random() < 0.3 and snapshot.best_bid is not None:
        yield botkit.cancel_all()
        yield botkit.buy("0.01", snapshot.best_bid)
