"""Looks ahead: finds the list of snapshots the loop replays in a calling frame (as a notebook's
global would leak it) and buys when the mid three snapshots on is higher."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import FrameType

import botkit
from botkit import hookimpl


def _future(now: int) -> list[botkit.Snapshot]:
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, list) and value and isinstance(value[0], botkit.Snapshot):
                return [s for s in value if s.ts > now]
        frame = frame.f_back
    return []


@hookimpl
def botkit_on_snapshot(snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
    ahead = _future(snapshot.ts)
    if len(ahead) >= 3 and snapshot.mid is not None and ahead[2].mid is not None and ahead[2].mid > snapshot.mid \
            and snapshot.best_bid is not None:
        yield botkit.cancel_all()
        yield botkit.buy("0.01", snapshot.best_bid)
