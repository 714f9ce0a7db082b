"""Scenario 2: unknown outcomes. Replies are lost, orders are not lost and never doubled.

The sandbox's accept-then-drop fault carries out a placement (the order is created and matched,
some fill at once) and then cuts the connection before any reply byte, so the client cannot know.
Over hundreds of placements the engine must bind every such order exactly once, send each POST
exactly once, and declare a request that never reached the exchange not placed only after the
waiting window.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import botkit
from botkit.journal import queries
from botkit.model import Side
from tests.engine.harness import MM_KEY, accounts, build, with_settings
from tests.plugins.recorder import Recorder
from tests.reliability.checks import compare, journal_state
from tests.reliability.conftest import Figures, scaled

D = Decimal


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from botkit.sandbox import Faults, Sandbox

    faults = Faults(accept_then_drop_rate=0.2)
    with Sandbox(market="off", accounts=accounts(), rate_limit=0, faults=faults, seed=11) as sb:
        yield sb


def _liquidity(sandbox: Any, mid: Decimal) -> None:
    """The counterparty keeps some size at the touch, so marketable orders fill at once."""
    sandbox.exchange.submit_order(MM_KEY, "buy", "limit", mid - D("0.50"), D("0.3"))
    sandbox.exchange.submit_order(MM_KEY, "sell", "limit", mid + D("0.50"), D("0.3"))


def _trader(rng: random.Random, tick: int) -> Any:
    """Each tick: one order, a third of them marketable; every fifth tick, cancel what rests."""
    def step(snapshot: Any, ctx: Any) -> list[Any]:
        mid = snapshot.mid
        if mid is None:
            return []
        side = rng.choice([Side.BUY, Side.SELL])
        cross = rng.random() < 0.35
        if side is Side.BUY:
            price = snapshot.best_ask if cross else mid - D(rng.randint(2, 40)) / 10
        else:
            price = snapshot.best_bid if cross else mid + D(rng.randint(2, 40)) / 10
        intents: list[Any] = [botkit.PlaceOrder(side, D("0.01") * rng.randint(1, 20), price.quantize(D("0.01")))]
        if tick % 5 == 0:
            intents.append(botkit.cancel_all())
        return intents

    return step


def test_lost_replies_over_many_placements_give_no_duplicate_and_no_orphan(
        sandbox: Any, tmp_path: Any, bot_id: str, figures: Figures) -> None:
    placements = scaled(500)
    rng = random.Random(5)
    strategy = Recorder()
    rig = build(sandbox, f"sqlite:///{tmp_path / 'journal.sqlite'}", bot_id, {"t": strategy},
                settings=with_settings(resolve_window_ms=10_000), client_timeout=5.0)
    _liquidity(sandbox, D(400))
    rig.engine.start(now_ms())
    posts = lambda: sandbox.stats.requests.get(("POST", "/v1/orders"), 0)  # noqa: E731
    start_posts = posts()
    ticks = 0
    while posts() - start_posts < placements:
        ticks += 1
        if ticks % 3 == 0:
            _liquidity(sandbox, D(400) + D(rng.randint(-20, 20)) / 10)
        strategy.script = [_trader(rng, ticks)]
        rig.tick()  # live venue: the snapshot's time is the wall clock, as in the daemon
        assert ticks < placements * 4, "the engine stopped placing orders"
    strategy.script = []
    for _ in range(3):  # the last unknowns resolve on the next ticks
        rig.tick()
    ts = now_ms()
    rig.engine.stop(ts)
    sent = posts() - start_posts

    comparison = compare(rig.journal, rig.api)
    rows = queries.orders(rig.journal)
    statuses: dict[str, int] = {}
    for row in rows:
        statuses[row["status"]] = statuses.get(row["status"], 0) + 1
    dropped = sandbox.stats.fault_routes[("accept_then_drop", "POST", "/v1/orders")]
    dropped_cancels = sandbox.stats.fault_routes[("accept_then_drop", "DELETE", "/v1/orders/{id}")]
    figures.values.update(comparison.as_figures())
    figures.values.update({"ticks": ticks, "posts_sent": sent, "faults_injected": dropped,
                           "cancel_replies_lost": dropped_cancels,
                           "statuses": statuses, "late": sum(1 for r in rows if r["flag"] == "late")})

    comparison.assert_clean()
    assert dropped >= placements // 10  # the fault really happened, often
    assert sent == len(rows)  # each journaled order was POSTed exactly once, none twice
    assert statuses.get("unknown", 0) == 0 and statuses.get("pending", 0) == 0
    assert statuses.get("not_placed", 0) == 0  # accept-then-drop always created the order
    assert statuses.get("filled", 0) > 0  # some dropped-reply orders filled at once
    before = journal_state(rig.journal)
    rig.journal.close()

    again = build(sandbox, f"sqlite:///{tmp_path / 'journal.sqlite'}", bot_id, {"t": Recorder()})
    again.engine.start(now_ms())  # a second reconciliation changes nothing
    assert journal_state(again.journal) == before
    again.journal.close()


def test_a_request_that_never_arrived_is_not_placed_only_after_the_window(
        sandbox: Any, tmp_path: Any, bot_id: str, figures: Figures) -> None:
    sandbox.faults.accept_then_drop_rate = 0.0
    strategy = Recorder()
    rig = build(sandbox, f"sqlite:///{tmp_path / 'journal.sqlite'}", bot_id, {"t": strategy},
                settings=with_settings(resolve_window_ms=30_000))
    _liquidity(sandbox, D(400))
    start = now_ms()
    rig.engine.start(start)
    sandbox.faults.queue("drop_before", method="POST", path="/v1/orders", count=1)
    strategy.script = [[botkit.buy("0.1", "395")]]
    rig.tick(start)
    statuses = []
    for offset in (1_000, 15_000, 29_999):  # engine time: the snapshots' timestamps
        rig.tick(start + offset)
        statuses.append(queries.orders(rig.journal)[0]["status"])
    rig.tick(start + 30_000)
    statuses.append(queries.orders(rig.journal)[0]["status"])
    figures.values.update({"faults_injected": 1, "statuses_over_time": statuses})
    assert statuses == ["unknown", "unknown", "unknown", "not_placed"]
    assert rig.api.orders() == ()
    rig.journal.close()


@pytest.mark.parametrize("truth", ["canceled", "filled"])
def test_a_cancel_whose_reply_is_lost(sandbox: Any, tmp_path: Any, bot_id: str, truth: str,
                                      figures: Figures) -> None:
    """The cancel was carried out (or the order had filled first): the journal learns the truth."""
    sandbox.faults.accept_then_drop_rate = 0.0
    strategy = Recorder()
    rig = build(sandbox, f"sqlite:///{tmp_path / 'journal.sqlite'}", bot_id, {"t": strategy})
    rig.engine.start(now_ms())  # an empty book: our bid is the only one the counterparty can hit
    strategy.script = [[botkit.buy("0.2", "398.00")]]
    rig.tick()
    (order,) = rig.api.orders()
    sandbox.faults.queue("accept_then_drop", method="DELETE", path="/v1/orders/{id}", count=3)

    def fill_then_cancel(snapshot: Any, ctx: Any) -> Any:
        if truth == "filled":  # the order fills after the engine's sync, just before the cancel goes out
            sandbox.exchange.submit_order(MM_KEY, "sell", "limit", D("398.00"), D("0.2"))
        return [botkit.cancel(order.order_id)]

    strategy.script = [fill_then_cancel]
    rig.tick()
    rig.tick()
    (row,) = queries.orders(rig.journal)
    assert row["status"] == truth
    assert rig.api.order(order.order_id).status.value == truth
    compare(rig.journal, rig.api).assert_clean()
    lost = sandbox.stats.fault_routes[("accept_then_drop", "DELETE", "/v1/orders/{id}")]
    figures.values.update({"faults_injected": lost, "truth": truth})
    assert lost >= 1
    rig.journal.close()
