"""A test strategy that places the orders its ``script`` parameter lists, at given snapshot times.

``script`` is a list of strings ``"TS SIDE QUANTITY [PRICE]"`` (no price: market) or
``"TS cancel_all"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botkit
from botkit import hookimpl

PARAMS: dict[str, Any] = {"script": []}


@hookimpl
def botkit_on_snapshot(snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
    for line in ctx.params["script"]:
        ts, action, *rest = line.split()
        if int(ts) != snapshot.ts:
            continue
        if action == "cancel_all":
            intent: botkit.Intent = botkit.cancel_all()
        elif action in ("buy", "sell"):
            price = rest[1] if len(rest) > 1 else None
            intent = (botkit.buy if action == "buy" else botkit.sell)(rest[0], price)
        else:
            raise ValueError(f"bad script line {line!r}")
        yield intent
