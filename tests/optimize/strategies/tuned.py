"""A test strategy with typed parameters: buys ``size`` when mid has risen ``lookback`` snapshots
in a row by at least ``threshold`` in total, sells it back ``hold`` snapshots later.

When ``BOTKIT_TEST_SEEN_LOG`` names a file, each run appends one line per snapshot it saw
(``RUN_TOKEN TS``): the walk-forward test reads which data each run was given.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections import deque
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

import botkit
from botkit import hookimpl, param


class Tuned:
    PARAMS: ClassVar[dict[str, Any]] = {
        "lookback": param(3, low=1, high=6, step=1),
        "threshold": param(Decimal("0.05"), low="0.00", high="0.20", step="0.05"),
        "size": param(Decimal("0.01"), choices=[Decimal("0.01"), Decimal("0.02")]),
    }

    def __init__(self) -> None:
        self.mids: deque[Decimal] = deque()
        self.token = ""
        self.held = 0

    @hookimpl
    def botkit_on_start(self, ctx: botkit.StrategyContext) -> None:
        for key in ("threshold", "size"):
            assert type(ctx.params[key]) is Decimal, f"{key} is {type(ctx.params[key]).__name__}"
        assert type(ctx.params["lookback"]) is int
        self.mids = deque(maxlen=ctx.params["lookback"] + 1)
        self.token = uuid.uuid4().hex
        self.held = 0

    @hookimpl
    def botkit_on_snapshot(self, snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
        log = os.environ.get("BOTKIT_TEST_SEEN_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"{self.token} {snapshot.ts}\n")
        if snapshot.mid is None or snapshot.best_ask is None or snapshot.best_bid is None:
            return
        self.mids.append(snapshot.mid)
        size = ctx.params["size"]
        if ctx.position > 0:
            self.held += 1
            if self.held >= 5:
                yield botkit.sell(ctx.position, snapshot.best_bid)
            return
        if len(self.mids) == self.mids.maxlen:
            window = list(self.mids)
            rising = all(b > a for a, b in itertools.pairwise(window))
            if rising and window[-1] - window[0] >= ctx.params["threshold"] and not ctx.open_orders:
                self.held = 0
                yield botkit.buy(size, snapshot.best_ask)
