"""The strategy host's dispatch: each hook called with the arguments its implementation declares,
generators drawn inside the isolated call, intents vetted on the market's own grid."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import botkit
from botkit.instrument import Instrument
from botkit.model import PlaceOrder
from botkit.strategy.bars import missing_bar
from botkit.strategy.context import StrategyContext
from botkit.strategy.host import StrategyFailure, StrategyHost
from botkit.strategy.plugins import make_manager
from botkit.testing import snapshot

TENTHS = Instrument(price_increment=Decimal("0.1"), exchange="test", symbol="TENTHS")


def host_of(plugin: object, *, instrument: Instrument | None = None, timeout: float | None = None) -> StrategyHost:
    pm = make_manager()
    pm.register(plugin, name="s")
    ctx = StrategyContext.create("s", {})
    if instrument is not None:
        ctx.trade(instrument)
    return StrategyHost("s", pm, plugin, ctx, timeout=timeout, max_failures=3)


class Subsets:
    """Implementations that declare fewer arguments than the spec, in their own order."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    @botkit.hookimpl
    def botkit_on_snapshot(self, ctx: StrategyContext) -> None:
        self.seen.append(("snapshot", ctx.name))

    @botkit.hookimpl
    def botkit_on_bar(self) -> Iterator[PlaceOrder]:
        self.seen.append(("bar", None))
        yield botkit.buy("0.01", "100")

    @botkit.hookimpl
    def botkit_on_rejection(self, ctx: StrategyContext, reason: str) -> None:
        self.seen.append(("rejection", (ctx.name, reason)))


def test_each_implementation_gets_only_the_arguments_it_declares() -> None:
    plugin = Subsets()
    host = host_of(plugin)
    assert host.ask(snapshot(1, "99", "101"), 20) == []
    checked = host.ask_bar(missing_bar("1m", 0, 60_000), 20)
    assert [intent for intent, problem in checked if problem is None] == [botkit.buy("0.01", "100")]
    host.call("botkit_on_rejection", intent=botkit.buy("1", "1"), reason="why", ctx=host.ctx)
    assert plugin.seen == [("snapshot", "s"), ("bar", None), ("rejection", ("s", "why"))]
    assert host.call("botkit_on_fill", fill=None, order=None, ctx=host.ctx) is None  # not implemented


class OffGrid:
    @botkit.hookimpl
    def botkit_on_snapshot(self) -> list[PlaceOrder]:
        return [botkit.buy("0.01", "100.05")]

    @botkit.hookimpl
    def botkit_on_bar(self) -> list[PlaceOrder]:
        return [botkit.buy("0.01", "100.05")]


@pytest.mark.parametrize("timeout", [None, 5.0])
def test_snapshot_and_bar_intents_are_vetted_on_the_markets_grid(timeout: float | None) -> None:
    """A price on Buttercoin's cent grid but off a 0.1 market's is malformed on snapshots and on
    bars alike (bar intents were once checked against Buttercoin's grid whatever the market)."""
    host = host_of(OffGrid(), instrument=TENTHS, timeout=timeout)
    for checked in (host.ask(snapshot(1, "99", "101"), 20), host.ask_bar(missing_bar("1m", 0, 60_000), 20)):
        ((_, problem),) = checked
        assert problem is not None and "0.1" in problem
    assert [problem for _, problem in host_of(OffGrid()).ask(snapshot(1, "99", "101"), 20)] == [None]


class Exploding:
    @botkit.hookimpl
    def botkit_on_snapshot(self) -> Iterator[PlaceOrder]:
        yield botkit.buy("0.01", "100")
        raise RuntimeError("boom after the first intent")


def test_a_generator_failing_while_drawn_is_the_strategys_failure() -> None:
    host = host_of(Exploding())
    with pytest.raises(StrategyFailure):
        host.ask(snapshot(1, "99", "101"), 20)
    assert host.total_failures == 1
    assert host.last_error is not None and "boom after the first intent" in host.last_error


@pytest.mark.parametrize("junk", [0, "", False, {}])
def test_a_falsy_result_that_is_not_intents_is_still_junk(junk: object) -> None:
    """An empty list or tuple is no intents, at no cost; 0, "" or False are not intents at all."""

    class Falsy:
        @botkit.hookimpl
        def botkit_on_snapshot(self) -> object:
            return junk

    host = host_of(Falsy())
    with pytest.raises(StrategyFailure):
        host.ask(snapshot(1, "99", "101"), 20)
    assert host.total_failures == 1


@pytest.mark.parametrize("empty", [[], ()])
def test_an_empty_list_or_tuple_is_no_intents(empty: object) -> None:
    class Empty:
        @botkit.hookimpl
        def botkit_on_snapshot(self) -> object:
            return empty

    host = host_of(Empty())
    assert host.ask(snapshot(1, "99", "101"), 20) == []
    assert host.total_failures == 0
