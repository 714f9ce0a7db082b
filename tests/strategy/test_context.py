"""The engine's refresh of a strategy's context before each call."""

from __future__ import annotations

from decimal import Decimal

import pytest

import botkit
from botkit.model import Balances
from botkit.strategy.context import StrategyContext
from botkit.testing import quotes, run_strategy

D = Decimal


def test_refresh_puts_back_what_a_strategy_replaced_though_the_engine_has_the_same_objects() -> None:
    """refresh skips a value the context already holds (the same object): a strategy that replaced
    one must still get the engine's back at the next call, not keep its own."""
    ctx = StrategyContext.create("s", {})
    position, balances, orders = D("0.5"), Balances({"USD": D(100)}), ()
    ctx.refresh(1, position, balances, orders)
    ctx.position = D(0)  # a strategy lying to itself
    ctx.balances = Balances({"USD": D(10**9)})
    ctx.open_orders = (object(),)  # type: ignore[assignment]
    ctx.now = 0
    ctx.refresh(2, position, balances, orders)  # the engine's very same objects
    assert ctx.now == 2
    assert ctx.position is position and ctx.balances is balances and ctx.open_orders is orders


def test_refresh_takes_new_values_and_keeps_the_fixed_attributes_guarded() -> None:
    ctx = StrategyContext.create("s", {})
    ctx.refresh(1, D(1), Balances({"BTC": D(1)}), ())
    ctx.refresh(2, D(2), Balances({"BTC": D(2)}), ())
    assert (ctx.now, ctx.position, ctx.balances.btc) == (2, D(2), D(2))
    with pytest.raises(AttributeError, match="cannot be replaced"):
        ctx.state = None  # type: ignore[assignment]


def test_state_changes_are_taken_once() -> None:
    ctx = StrategyContext.create("s", {})
    assert not ctx.state.changed
    ctx.state["a"] = 1
    del ctx.state["a"]
    ctx.state["b"] = D("0.1")
    assert ctx.state.changed == {"a", "b"}
    assert ctx.state.take_changes() == {"a": None, "b": D("0.1")}
    assert not ctx.state.changed and ctx.state.take_changes() == {}
    assert not hasattr(ctx.state.changed, "clear") and not hasattr(ctx.state.changed, "add")  # read-only


class LastThree:
    """Declares a snapshot history but no timeframe: the engine keeps the snapshots (the
    history's own append, no bar builder) and ``ctx.snapshots`` reads them."""

    SNAPSHOTS = 3

    def __init__(self) -> None:
        self.seen: list[list[int]] = []

    @botkit.hookimpl
    def botkit_on_snapshot(self, snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> None:
        self.seen.append([s.ts for s in ctx.snapshots(3)])


def test_snapshots_are_kept_without_any_bar_declared() -> None:
    strategy = LastThree()
    run_strategy(strategy, quotes([("99.5", "100.5")] * 5))
    assert strategy.seen == [[1000], [1000, 2000], [1000, 2000, 3000], [2000, 3000, 4000], [3000, 4000, 5000]]
