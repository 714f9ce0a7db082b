"""Scenario 6: hostile strategies. One strategy misbehaving costs that strategy, nothing else.

A real engine (live venue, signed client, SQLite journal) trades against the in-process sandbox
with two strategies: a hostile one, called first each tick, and a well-behaved neighbour that
re-quotes one small bid on every tick and notes what it saw. Whatever the hostile one does (raise,
return junk or 10,000 intents, a generator that raises halfway, ``sys.exit()``, overrun its time
limit, write to the frozen snapshot, to its context or its parameters, lie about its position,
cancel its neighbour's order), the neighbour is called on every tick, places its order, and sees
the snapshot and account exactly as the exchange gave them; the hostile one is paused after
``max_strategy_failures``; and the journal tells the exchange's story, with no row of the
hostile strategy's making.
"""

from __future__ import annotations

import itertools
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

import botkit
from botkit import hookimpl
from botkit.engine.tick import TickReport
from botkit.journal import queries
from botkit.model import CancelAll, CancelOrder, PlaceOrder, Side
from botkit.strategy.host import StrategyHost
from tests.engine.harness import GENEROUS, Rig, accounts, build, seed_book
from tests.reliability.checks import compare
from tests.reliability.conftest import Figures

D = Decimal
MAX_FAILURES = 3
TICKS = 6


@dataclass(frozen=True)
class Sight:
    """What the neighbour saw on one tick."""

    ts: int
    best_bid: Decimal | None
    best_ask: Decimal | None
    levels: int
    usd: Decimal
    btc: Decimal
    position: Decimal
    params: dict[str, Any]
    name: str


class Neighbour:
    """Well behaved: cancels its bid and places a fresh one every tick."""

    PARAMS: ClassVar[dict[str, Any]] = {"size": D("0.01")}

    def __init__(self) -> None:
        self.sights: list[Sight] = []

    @hookimpl
    def botkit_on_snapshot(self, snapshot: Any, ctx: Any) -> list[Any]:
        self.sights.append(Sight(snapshot.ts, snapshot.best_bid, snapshot.best_ask, len(snapshot.book.bids),
                                 ctx.balances.usd, ctx.balances.btc, ctx.position, dict(ctx.params), ctx.name))
        return [botkit.cancel_all(), botkit.buy(ctx.params["size"], snapshot.best_bid - D(5))]


class Hostile:
    """Does whatever ``behaviour`` does, every time it is asked for intents."""

    PARAMS: ClassVar[dict[str, Any]] = {"size": D("0.01")}

    def __init__(self, behaviour: Callable[[Any, Any], Any]) -> None:
        self.behaviour = behaviour
        self.calls = 0

    @hookimpl
    def botkit_on_snapshot(self, snapshot: Any, ctx: Any) -> Any:
        self.calls += 1
        return self.behaviour(snapshot, ctx)


# ---------------------------------------------------------------------- behaviours


def _raises(snapshot: Any, ctx: Any) -> Any:
    raise RuntimeError("boom")


def _generator_that_raises(snapshot: Any, ctx: Any) -> Any:
    def intents() -> Iterator[Any]:
        yield botkit.buy("0.01", snapshot.best_bid - D(7))
        raise RuntimeError("boom halfway through the intents")
    return intents()


def _sys_exit(snapshot: Any, ctx: Any) -> Any:
    sys.exit(3)


def _writes_snapshot(snapshot: Any, ctx: Any) -> Any:
    snapshot.ts = 0


def _writes_book(snapshot: Any, ctx: Any) -> Any:
    snapshot.book.bids[0].price = D(1)


def _replaces_book(snapshot: Any, ctx: Any) -> Any:
    snapshot.book.bids = ()


def _writes_params(snapshot: Any, ctx: Any) -> Any:
    ctx.params["size"] = D(50)


def _writes_balances(snapshot: Any, ctx: Any) -> Any:
    ctx.balances.amounts["USD"] = D(10**9)


def _replaces_state(snapshot: Any, ctx: Any) -> Any:
    ctx.state = {}


def _unserializable_state(snapshot: Any, ctx: Any) -> Any:
    ctx.state["handle"] = object()


class _RaisingIterable:
    """Iterable, not an iterator: drawn by the engine, outside the strategy's call, before."""

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("iterated")


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message")


def _raises_unprintable(snapshot: Any, ctx: Any) -> Any:
    raise _Unprintable


def _deep_state(snapshot: Any, ctx: Any) -> Any:
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    ctx.state["deep"] = nested  # RecursionError when journaled, outside the strategy's call


def _long_state_key(snapshot: Any, ctx: Any) -> Any:
    ctx.state["k" * 200] = 1  # wider than the journal's column (PostgreSQL refuses it)


def _raises_many_lines(snapshot: Any, ctx: Any) -> Any:
    raise ValueError("first line\n2026-01-01 00:00:00 INFO botkit: FAKE LOG LINE" + "x" * 10_000)


FAILING: dict[str, Callable[[Any, Any], Any]] = {
    "raises": _raises,
    "returns-an-int": lambda s, c: 42,
    "returns-a-string": lambda s, c: "buy 1 BTC",
    "returns-a-dict": lambda s, c: {"side": "buy", "quantity": "1"},
    "junk-among-intents": lambda s, c: [botkit.buy("0.01", s.best_bid - D(7)), "sell everything"],
    "ten-thousand-intents": lambda s, c: [botkit.buy("0.0001", s.best_bid - D(9))] * 10_000,
    "endless-generator": lambda s, c: itertools.repeat(botkit.buy("0.0001", s.best_bid - D(9))),
    "generator-that-raises": _generator_that_raises,
    "sys-exit": _sys_exit,
    "float-money": lambda s, c: [botkit.buy(0.01, 390.0)],  # type: ignore[arg-type]
    "writes-the-snapshot": _writes_snapshot,
    "writes-a-book-level": _writes_book,
    "replaces-the-book": _replaces_book,
    "writes-its-params": _writes_params,
    "writes-the-balances": _writes_balances,
    "replaces-its-state": _replaces_state,
    "unserializable-state": _unserializable_state,
    "an-intent-subclass": lambda s, c: [_ShiftyOrder(Side.BUY, D("0.01"), s.best_bid - D(7))],
    "an-iterable-that-raises": lambda s, c: _RaisingIterable(),
    "an-exception-without-text": _raises_unprintable,
    "an-exception-of-many-lines": _raises_many_lines,
    "state-nested-too-deep": _deep_state,
    "state-key-too-long": _long_state_key,
}


# ---------------------------------------------------------------------- rig


@pytest.fixture(scope="module")
def tally() -> Iterator[Figures]:
    """One figures entry for the whole scenario, summed over its cases."""
    fig = Figures("hostile_strategies")
    fig.values = {"runs": 0, "hostile_failures": 0, "hostile_paused": 0, "orders_placed": 0,
                  "duplicates": 0, "orphans": 0, "mismatches": 0}
    yield fig
    fig.save()


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from botkit.sandbox import Sandbox

    with Sandbox(market="off", accounts=accounts(), rate_limit=0) as sb:
        yield sb


@dataclass
class Pair:
    rig: Rig
    hostile: Hostile
    neighbour: Neighbour
    fetched: list[tuple[int, Decimal | None, Decimal | None, int]] = field(default_factory=list)
    """What each tick's snapshot held before any strategy got it."""

    def host(self, name: str) -> StrategyHost:
        return next(h for h in self.rig.engine.strategies if h.name == name)

    def tick(self) -> TickReport:
        snapshot = self.rig.market.fetch()
        self.fetched.append((snapshot.ts, snapshot.best_bid, snapshot.best_ask, len(snapshot.book.bids)))
        return self.rig.engine.tick(snapshot)


def pair(sandbox: Any, tmp_path: Path, behaviour: Callable[[Any, Any], Any], *, timeout: float | None = None,
         limits: Any = GENEROUS) -> Pair:
    hostile, neighbour = Hostile(behaviour), Neighbour()
    rig = build(sandbox, f"sqlite:///{tmp_path / 'journal.sqlite'}", "hostile-test",
                {"hostile": hostile, "neighbour": neighbour}, timeout=timeout, max_failures=MAX_FAILURES,
                limits=limits, params={"hostile": {"size": D("0.01")}, "neighbour": {"size": D("0.01")}})
    seed_book(rig)
    rig.engine.start(time.time_ns() // 1_000_000)
    return Pair(rig, hostile, neighbour)


def check_neighbour_and_journal(p: Pair, ticks: int, tally: Figures) -> None:
    """The neighbour saw every tick as the exchange gave it and placed its order each time; the
    journal matches the exchange and holds no order of the hostile strategy."""
    rig = p.rig
    truth = rig.api.balances()
    assert len(p.neighbour.sights) == ticks == len(p.fetched)
    for sight, fetched in zip(p.neighbour.sights, p.fetched, strict=True):
        assert (sight.ts, sight.best_bid, sight.best_ask, sight.levels) == fetched, sight
        assert (sight.usd, sight.btc) == (truth.usd, truth.btc), sight
        assert (sight.position, sight.params, sight.name) == (D(0), {"size": D("0.01")}, "neighbour"), sight
    rows = queries.orders(rig.journal)
    assert {r["strategy"] for r in rows} == {"neighbour"}, rows
    assert len(rows) == ticks
    assert sum(1 for o in rig.api.orders() if o.is_open) == 1  # the latest bid; the others cancelled
    result = compare(rig.journal, rig.api)
    result.assert_clean()
    for key in ("duplicates", "orphans", "mismatches"):
        tally.add(key, result.as_figures()[key])
    tally.add("orders_placed", len(rows))
    tally.add("runs")


# ---------------------------------------------------------------------- the tests


@pytest.mark.parametrize("kind", list(FAILING))
def test_a_failing_strategy_is_isolated_and_paused(sandbox: Any, tmp_path: Path, tally: Figures, kind: str) -> None:
    p = pair(sandbox, tmp_path, FAILING[kind])
    reports = [p.tick() for _ in range(TICKS)]
    host = p.host("hostile")
    assert host.paused, f"{kind}: not paused ({host.total_failures} failures, last: {host.last_error})"
    assert p.hostile.calls == MAX_FAILURES, f"{kind}: called again after being paused"
    assert host.total_failures == MAX_FAILURES
    assert "\n" not in (host.last_error or "") and len(host.last_error or "") < 400, host.last_error
    assert [r.failures for r in reports] == [1] * MAX_FAILURES + [0] * (TICKS - MAX_FAILURES)
    assert all(r.placed == 1 for r in reports), [r.placed for r in reports]
    check_neighbour_and_journal(p, TICKS, tally)
    tally.add("hostile_failures", host.total_failures)
    tally.add("hostile_paused")
    p.rig.journal.close()


def test_a_strategy_that_overruns_its_time_limit_is_dropped_then_paused(sandbox: Any, tmp_path: Path,
                                                                        tally: Figures) -> None:
    """Each call sleeps well past the limit: its intents are dropped, it is not called while its
    last call still runs (one stuck thread, never two), and the ticks go on without waiting."""
    def sleeps(snapshot: Any, ctx: Any) -> Any:
        time.sleep(0.6)
        return [botkit.buy("0.01", snapshot.best_bid - D(7))]

    p = pair(sandbox, tmp_path, sleeps, timeout=0.15)
    host = p.host("hostile")
    ticks = 0
    deadline = time.monotonic() + 60
    while not host.paused:
        assert time.monotonic() < deadline, "never paused"
        p.tick()
        ticks += 1
        time.sleep(0.05)
    assert p.hostile.calls == MAX_FAILURES
    assert "overran its time limit" in (host.last_error or "")
    check_neighbour_and_journal(p, ticks, tally)
    tally.add("hostile_failures", host.total_failures)
    tally.add("hostile_paused")
    p.rig.journal.close()


class _LyingDecimal(Decimal):
    """A quantity that tells a comparison one thing and the wire another."""

    def __gt__(self, other: object) -> bool:
        return False


class _ShiftyOrder(PlaceOrder):
    """An order intent whose quantity is small when read once, large afterwards."""

    __slots__ = ("reads",)

    def __init__(self, side: Side, quantity: Decimal, price: Decimal) -> None:
        super().__init__(side, quantity, price)
        object.__setattr__(self, "reads", 0)

    def __getattribute__(self, name: str) -> Any:
        if name == "quantity":
            reads = object.__getattribute__(self, "reads") + 1
            object.__setattr__(self, "reads", reads)
            return D("0.01") if reads == 1 else D(1000)
        return super().__getattribute__(name)


MALFORMED: dict[str, Callable[[Any, Any], Any]] = {
    # Issue 11.5: numbers whose arithmetic raised InvalidOperation outside the strategy's isolation
    # (every tick failed, the neighbour placed nothing) or ran for minutes.
    "huge-quantity": lambda s, c: [botkit.buy(D("1e30"), s.best_bid - D(7))],
    "huge-price": lambda s, c: [botkit.buy("0.01", D("1e30"))],
    "quantity-of-tiny-exponent": lambda s, c: [botkit.sell(D("1e-40000000"), s.best_ask + D(7))],
    "price-of-tiny-exponent": lambda s, c: [botkit.buy("0.01", D("1e-40000000"))],
    "price-of-huge-exponent": lambda s, c: [botkit.buy("0.01", D("1e+40000000"))],
    "nan-price": lambda s, c: [botkit.buy("0.01", D("NaN"))],
    "signalling-nan-quantity": lambda s, c: [botkit.buy(D("sNaN"), s.best_bid - D(7))],
    "infinite-quantity": lambda s, c: [botkit.sell(D("Infinity"), s.best_ask + D(7))],
    "negative-quantity": lambda s, c: [botkit.sell(D("-0.01"), s.best_ask + D(7))],
    "zero-price": lambda s, c: [botkit.buy("0.01", 0)],
    "off-grid": lambda s, c: [botkit.buy("0.000000001", "390.001")],
    # Built by hand around buy()/sell(): wrong types.
    "side-as-a-string": lambda s, c: [PlaceOrder("buy", D("0.01"), D("390.00"))],  # type: ignore[arg-type]
    "side-sideways": lambda s, c: [PlaceOrder("sideways", D("0.01"), D("390.00"))],  # type: ignore[arg-type]
    "float-amounts-by-hand": lambda s, c: [PlaceOrder(Side.BUY, 0.01, 390.0)],  # type: ignore[arg-type]
    "int-quantity-by-hand": lambda s, c: [PlaceOrder(Side.BUY, 1, D("390.00"))],  # type: ignore[arg-type]
    "string-price-by-hand": lambda s, c: [PlaceOrder(Side.BUY, D("0.01"), "390.00")],  # type: ignore[arg-type]
    "lying-decimal-subclass": lambda s, c: [PlaceOrder(Side.BUY, _LyingDecimal(1000), s.best_bid - D(7))],
    "tag-not-text": lambda s, c: [PlaceOrder(Side.BUY, D("0.01"), D("390.00"), tag=object())],  # type: ignore[arg-type]
    "tag-of-ten-thousand-characters": lambda s, c: [botkit.buy("0.01", s.best_bid - D(7), tag="x" * 10_000)],
    "tag-with-a-newline": lambda s, c: [botkit.buy("0.01", s.best_bid - D(7), tag="ok\nFAKE LOG LINE")],
    "cancel-of-a-number": lambda s, c: [CancelOrder(12345)],  # type: ignore[arg-type]
    "cancel-all-sideways": lambda s, c: [CancelAll("sideways")],  # type: ignore[arg-type]
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_intents_are_refused_and_count_as_failures(sandbox: Any, tmp_path: Path, tally: Figures,
                                                             kind: str) -> None:
    """Each malformed intent is refused (a journaled rejection under ``invalid``, bounded text) and
    is a failure of its strategy, which is paused after ``max_strategy_failures``; its neighbour
    trades on every tick; nothing reaches the exchange; no tick takes long (the arithmetic on
    ``1e-40000000`` ran for minutes)."""
    p = pair(sandbox, tmp_path, MALFORMED[kind])
    reports = []
    slowest = 0.0
    for _ in range(TICKS):
        started = time.monotonic()
        reports.append(p.tick())
        slowest = max(slowest, time.monotonic() - started)
    host = p.host("hostile")
    assert host.paused, f"{kind}: not paused ({host.total_failures} failures, last: {host.last_error})"
    assert p.hostile.calls == MAX_FAILURES
    assert "malformed intent" in (host.last_error or "")
    assert [r.failures for r in reports] == [1] * MAX_FAILURES + [0] * (TICKS - MAX_FAILURES)
    assert [r.rejected for r in reports] == [1] * MAX_FAILURES + [0] * (TICKS - MAX_FAILURES)
    assert all(r.placed == 1 for r in reports), [r.placed for r in reports]
    check_neighbour_and_journal(p, TICKS, tally)
    rejections = _rejections(p)
    assert [(strategy, rule) for strategy, rule, _, _ in rejections] == [("hostile", "invalid")] * MAX_FAILURES
    assert all(len(reason) < 300 and len(intent) < 300 and "\n" not in reason + intent
               for _, _, reason, intent in rejections), rejections
    assert slowest < 10, f"{kind}: a tick took {slowest:.1f} s"
    tally.add("junk_intents_refused", sum(r.rejected for r in reports))
    tally.add("hostile_failures", host.total_failures)
    tally.add("hostile_paused")
    tally["slowest_junk_tick_ms"] = max(tally.values.get("slowest_junk_tick_ms", 0), round(slowest * 1000))
    p.rig.journal.close()


def _rejections(p: Pair) -> list[tuple[str, str, str, str]]:
    from sqlalchemy import select

    from botkit.journal.schema import RiskRejection

    with p.rig.journal.session() as s:
        rows = s.execute(select(RiskRejection.strategy, RiskRejection.rule, RiskRejection.reason,
                                RiskRejection.intent).order_by(RiskRejection.id)).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_junk_beside_good_intents_refuses_only_the_junk(sandbox: Any, tmp_path: Path, tally: Figures) -> None:
    """A huge order among good ones: the good ones are placed, the huge one refused, and the call
    is one failure of the strategy (not one per intent)."""
    p = pair(sandbox, tmp_path, lambda s, c: [botkit.buy("0.01", s.best_bid - D(7)),
                                               botkit.buy(D("1e30"), s.best_bid - D(8)),
                                               botkit.buy("0.01", D("1e30"))])
    report = p.tick()
    assert (report.placed, report.rejected, report.failures) == (2, 2, 1)
    assert p.host("hostile").failures == 1
    mine = [r for r in queries.orders(p.rig.journal) if r["strategy"] == "hostile"]
    assert [r["quantity"] for r in mine] == [D("0.01")]
    compare(p.rig.journal, p.rig.api).assert_clean()
    p.rig.journal.close()


def test_refused_cancels_of_other_strategies_orders_are_not_failures(sandbox: Any, tmp_path: Path,
                                                                     tally: Figures) -> None:
    """A well-formed cancel aimed at the neighbour's order is refused (rule ``cancel``) and never
    sent; it is a refusal like a risk rule's, not a failure."""
    neighbour_orders: list[Any] = []
    p = pair(sandbox, tmp_path, lambda s, c: [botkit.cancel(o.order_id) for o in neighbour_orders]
             + [botkit.cancel("local-1")])
    reports = []
    for _ in range(TICKS):
        neighbour_orders[:] = [o for o in p.rig.api.orders() if o.is_open]
        reports.append(p.tick())
    assert all(r.rejected >= 1 for r in reports), [r.rejected for r in reports]
    assert all(r.failures == 0 for r in reports)
    check_neighbour_and_journal(p, TICKS, tally)
    assert {(strategy, rule) for strategy, rule, _, _ in _rejections(p)} == {("hostile", "cancel")}
    tally.add("intents_refused", sum(r.rejected for r in reports))
    p.rig.journal.close()


def test_an_order_below_the_minimum_is_refused_but_not_a_failure(sandbox: Any, tmp_path: Path,
                                                                 tally: Figures) -> None:
    """What is left of a position after a partial fill can be under 0.0001 BTC: a well-formed
    order, only too small. It is refused (rule ``min_quantity``) every time, and the strategy,
    which is not broken, is not paused for it."""
    p = pair(sandbox, tmp_path, lambda s, c: [botkit.sell("0.00005", s.best_ask + D(7))])
    reports = [p.tick() for _ in range(TICKS)]
    assert [(r.rejected, r.failures) for r in reports] == [(1, 0)] * TICKS
    assert not p.host("hostile").paused
    check_neighbour_and_journal(p, TICKS, tally)
    assert {(strategy, rule) for strategy, rule, _, _ in _rejections(p)} == {("hostile", "min_quantity")}
    tally.add("intents_refused", sum(r.rejected for r in reports))
    p.rig.journal.close()


def test_built_in_risk_rules_that_cannot_judge_an_order_refuse_it(sandbox: Any, tmp_path: Path, tally: Figures,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    """A mid so small that the price band's arithmetic overflows (``decimal.Overflow``): the order
    is refused under rule ``risk`` and logged, and the tick completes."""
    from botkit.model import BookLevel, OrderBook

    p = pair(sandbox, tmp_path, lambda s, c: [botkit.buy("0.01", "390.00")])
    real = p.rig.market.fetch()
    tiny = replace(real, book=OrderBook(bids=(BookLevel(D("1E-999998"), D(1)),),
                                        asks=(BookLevel(D("2E-999998"), D(1)),)))
    report = p.rig.engine.tick(tiny)
    assert report.placed == 0
    assert ("hostile", "risk") in {(strategy, rule) for strategy, rule, _, _ in _rejections(p)}
    assert "the built-in risk rules raised on buy 0.01 @ 390.00; order refused" in caplog.text
    assert not p.host("hostile").failures  # the strategy did nothing wrong
    tally.add("broken_check_orders_refused")
    p.rig.journal.close()


class _Unreadable:
    def __bool__(self) -> bool:
        raise RuntimeError("no truth value")

    def __str__(self) -> str:
        raise RuntimeError("no text either")


class BrokenCheck:
    """A pre-trade check plugin that misbehaves on every order."""

    def __init__(self, behaviour: Callable[[], Any]) -> None:
        self.behaviour = behaviour
        self.calls = 0

    @hookimpl
    def botkit_check_intent(self, intent: Any) -> Any:
        self.calls += 1
        return self.behaviour()


def _check_raises() -> Any:
    raise ArithmeticError("InvalidOperation in a third-party check")


def _check_exits() -> Any:
    sys.exit(4)


BROKEN_CHECKS: dict[str, Callable[[], Any]] = {
    "raises": _check_raises,
    "calls-sys-exit": _check_exits,
    "returns-an-unreadable-object": _Unreadable,
    "returns-a-number": lambda: 42,
}


@pytest.mark.parametrize("kind", list(BROKEN_CHECKS))
def test_a_broken_risk_check_refuses_the_order_and_the_tick_goes_on(sandbox: Any, tmp_path: Path, tally: Figures,
                                                                    caplog: pytest.LogCaptureFixture,
                                                                    kind: str) -> None:
    """Fail closed: an order a check cannot judge is refused under rule ``risk`` and logged; the
    tick completes, every tick; nothing is sent."""
    guard = BrokenCheck(BROKEN_CHECKS[kind])
    neighbour = Neighbour()
    rig = build(sandbox, f"sqlite:///{tmp_path / 'journal.sqlite'}", "broken-check",
                {"neighbour": neighbour, "guard": guard}, max_failures=MAX_FAILURES,
                params={"neighbour": {"size": D("0.01")}})
    seed_book(rig)
    rig.engine.start(time.time_ns() // 1_000_000)
    reports = [rig.tick() for _ in range(TICKS)]
    assert [(r.placed, r.rejected, r.failures) for r in reports] == [(0, 1, 0)] * TICKS
    assert guard.calls == TICKS == len(neighbour.sights)
    assert queries.orders(rig.journal) == []
    assert not any(o.is_open for o in rig.api.orders())
    pair_view = Pair(rig, Hostile(_raises), neighbour)
    rejections = _rejections(pair_view)
    assert [(strategy, rule) for strategy, rule, _, _ in rejections] == [("neighbour", "risk")] * TICKS
    assert all(reason.startswith("pre-trade check guard ") for _, _, reason, _ in rejections), rejections
    assert "order refused (fail closed)" in caplog.text
    tally.add("broken_check_orders_refused", sum(r.rejected for r in reports))
    rig.journal.close()


def test_a_strategy_cannot_talk_its_way_past_max_position(sandbox: Any, tmp_path: Path, tally: Figures) -> None:
    """The risk rules judge each intent on the engine's own numbers, not on what the strategy left
    in its context, and count the orders placed earlier in the same tick: with ``max_position``
    0.05, ten 0.01 BTC bids place five; the next tick, a context wiped clean places none."""
    lying = [False]

    def greedy(snapshot: Any, ctx: Any) -> Any:
        if lying[0]:
            ctx.position = D(0)
            ctx.open_orders = ()
        return [botkit.buy("0.01", snapshot.best_bid - D(3)) for _ in range(10)]

    p = pair(sandbox, tmp_path, greedy, limits=replace(GENEROUS, max_position=D("0.05")))
    first = p.tick()
    assert first.rejected == 5
    lying[0] = True
    second = p.tick()
    assert second.rejected == 10
    mine = [r for r in queries.orders(p.rig.journal) if r["strategy"] == "hostile"]
    assert len(mine) == 5, [r["status"] for r in mine]
    tally.add("risk_bypasses_refused", first.rejected + second.rejected)
    p.rig.journal.close()


class FillHater(Neighbour):
    """Takes liquidity once, then raises from every hook that tells it about the result."""

    def __init__(self) -> None:
        super().__init__()
        self.fills = 0

    @hookimpl
    def botkit_on_snapshot(self, snapshot: Any, ctx: Any) -> list[Any]:
        return [] if ctx.position or ctx.open_orders else [botkit.buy("0.3", snapshot.best_ask)]

    @hookimpl
    def botkit_on_fill(self, fill: Any, order: Any, ctx: Any) -> None:
        self.fills += 1
        raise RuntimeError("I hate fills")

    @hookimpl
    def botkit_on_order_update(self, order: Any, ctx: Any) -> None:
        raise RuntimeError("and updates")


def test_a_strategy_raising_from_on_fill_still_gets_each_fill_once(sandbox: Any, tmp_path: Path,
                                                                    tally: Figures) -> None:
    """The fill is journaled and counted in the position before the hook is called, so a raising
    hook loses nothing and gets no second delivery."""
    hater = FillHater()
    rig = build(sandbox, f"sqlite:///{tmp_path / 'journal.sqlite'}", "fill-hater", {"hater": hater},
                max_failures=10)
    seed_book(rig)
    rig.engine.start(time.time_ns() // 1_000_000)
    for _ in range(3):
        rig.tick()
    assert hater.fills == 1
    (fill,) = queries.fills(rig.journal)
    assert fill["quantity"] == D("0.3")
    assert rig.engine.positions == {"hater": D("0.3")}
    compare(rig.journal, rig.api).assert_clean()
    tally.add("runs")
    rig.journal.close()


JUNK_FILE = '''
"""Every tick, intents whose numbers broke validation outside the strategy (issue 11.5)."""
from decimal import Decimal

import botkit
from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    if snapshot.best_bid is None:
        return None
    return [botkit.buy(Decimal("1e30"), snapshot.best_bid), botkit.buy("0.01", Decimal("1e-40000000")),
            botkit.sell(Decimal("NaN"), snapshot.best_bid)]
'''

QUOTER_FILE = '''
"""Re-quotes one small bid under the best bid every tick."""
from decimal import Decimal

import botkit
from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    if snapshot.best_bid is None:
        return None
    return [botkit.cancel_all(), botkit.buy("0.01", snapshot.best_bid - Decimal(5))]
'''


@pytest.mark.timeout(300)
def test_the_daemon_trades_on_beside_a_strategy_of_junk_intents(tmp_path: Path, tally: Figures) -> None:
    """``botkit run`` as a process against the sandbox over HTTP: the junk strategy's intents are
    refused, it is paused after ``max_strategy_failures``, the quoter places its bid every tick, no
    tick fails, and the daemon stops cleanly with a journal that matches the exchange."""
    import signal
    import subprocess

    from botkit.client import Buttercoin, ButtercoinClient
    from botkit.journal import Journal
    from botkit.sandbox import Sandbox
    from tests.engine.harness import BOT_KEY, BOT_SECRET
    from tests.polling import wait

    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "junk.py").write_text(JUNK_FILE)
    (folder / "quoter.py").write_text(QUOTER_FILE)
    journal_url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    ticks = 30
    with Sandbox(market="sim", seed=5, accounts=accounts(), rate_limit=0, market_interval=0.05) as sb:
        config = tmp_path / "botkit.toml"
        config.write_text(f"""
strategy_paths = ["{folder}"]
strategies.junk = {{}}
strategies.quoter = {{}}
engine = {{ interval_seconds = 0.1, max_strategy_failures = {MAX_FAILURES} }}
journal.url = "{journal_url}"
exchange.base_url = "{sb.base_url}"
""")
        env = {**os.environ, "BUTTERCOIN_API_KEY": BOT_KEY, "BUTTERCOIN_API_SECRET": BOT_SECRET}
        log_path = tmp_path / "daemon.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "botkit", "run", "--config", str(config)], cwd=tmp_path,
                                    stdout=log, stderr=log, env=env)
        try:
            wait(lambda: proc.poll() is not None or log_path.read_bytes().count(b" tick mid=") >= ticks, 120,
                 f"{ticks} ticks", every=0.05)
            assert proc.poll() is None, log_path.read_text()[-3000:]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, log_path.read_text()[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        text = log_path.read_text()
        journal = Journal(journal_url, "default")
        api = Buttercoin(ButtercoinClient(BOT_KEY, BOT_SECRET, base_url=sb.base_url))
        comparison = compare(journal, api)
        rows = queries.orders(journal)
        with journal.session() as s:
            from sqlalchemy import select

            from botkit.journal.schema import RiskRejection

            rejected = s.execute(select(RiskRejection.strategy, RiskRejection.rule)).all()
        journal.close()
    tick_lines = [line for line in text.splitlines() if " tick mid=" in line]
    assert "Traceback" not in text
    assert f"strategy junk paused after {MAX_FAILURES} consecutive failures" in text
    assert text.count("strategy junk returned 3 malformed intent(s)") == MAX_FAILURES
    assert not [line for line in tick_lines if "errors=" in line]
    assert {r["strategy"] for r in rows} == {"quoter"}
    assert len(rows) >= len(tick_lines) - 1  # a bid each tick (the stop may cut the last one short)
    assert [tuple(r) for r in rejected] == [("junk", "invalid")] * (3 * MAX_FAILURES)
    comparison.assert_clean()
    tally["daemon_ticks"] = len(tick_lines)
    tally["daemon_junk_intents_refused"] = len(rejected)
    tally["daemon_neighbour_orders"] = len(rows)
