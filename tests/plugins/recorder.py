"""Records every hook call it gets and returns the intents a test queues for it."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from botkit import hookimpl

PARAMS: dict[str, Any] = {"size": Decimal("0.01")}


class Recorder:
    """A strategy object whose behaviour a test scripts through ``script``."""

    PARAMS = PARAMS

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.script: list[Any] = []

    @hookimpl
    def botkit_on_start(self, ctx: Any) -> None:
        self.calls.append(("start", ctx.name))

    @hookimpl
    def botkit_on_snapshot(self, snapshot: Any, ctx: Any) -> Iterable[Any] | None:
        self.calls.append(("snapshot", snapshot.ts))
        if not self.script:
            return None
        step = self.script.pop(0)
        if callable(step):
            return step(snapshot, ctx)  # type: ignore[no-any-return]
        return step  # type: ignore[no-any-return]

    @hookimpl
    def botkit_on_order_update(self, order: Any, ctx: Any) -> None:
        self.calls.append(("order", (order.order_id, order.status.value)))

    @hookimpl
    def botkit_on_fill(self, fill: Any, order: Any, ctx: Any) -> None:
        self.calls.append(("fill", (fill.order_id, fill.quantity, fill.price)))

    @hookimpl
    def botkit_on_rejection(self, intent: Any, reason: str, ctx: Any) -> None:
        self.calls.append(("rejection", reason))

    @hookimpl
    def botkit_on_stop(self, ctx: Any) -> None:
        self.calls.append(("stop", ctx.name))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]
