"""Does nothing: what the engine costs a snapshot by itself."""

from __future__ import annotations

import botkit
from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> None:
    return None
