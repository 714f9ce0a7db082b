"""The engine against the real sandbox over HTTP, journal on SQLite and PostgreSQL.

Each hook has its own test here (tests/test_docs.py checks that), and so does each of the
engine's promises: write-ahead placement, fills delivered once, isolation of failing strategies,
start-up reconciliation, unknown outcomes resolved without a duplicate.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

import botkit
from botkit.engine.risk import RiskRejected
from botkit.journal import queries
from botkit.model import OrderStatus, Side
from tests.engine.harness import Rig, accounts, build, seed_book, with_settings
from tests.plugins.recorder import Recorder

D = Decimal


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from botkit.sandbox import Sandbox

    with Sandbox(market="off", accounts=accounts(), rate_limit=0, maker_fee_bps=D(10), taker_fee_bps=D(20)) as sb:
        yield sb


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def rig(sandbox: Any, journal_url: str, bot_id: str, recorder: Recorder) -> Iterator[Rig]:
    rig = build(sandbox, journal_url, bot_id, {"rec": recorder})
    seed_book(rig)
    yield rig
    rig.engine.venue.close()
    rig.journal.close()


def _exchange_orders(rig: Rig) -> list[Any]:
    return list(rig.api.orders())


def test_hook_botkit_on_snapshot_places_a_journaled_order(rig: Rig, recorder: Recorder) -> None:
    recorder.script = [[botkit.buy("0.5", "398.50", tag="first")], None]
    rig.engine.start(1)
    report = rig.tick()
    assert report.placed == 1
    (order,) = _exchange_orders(rig)
    assert (order.side, order.price, order.quantity, order.status) == (Side.BUY, D("398.50"), D("0.5"),
                                                                     OrderStatus.OPENED)
    (row,) = queries.orders(rig.journal)
    assert row["exchange_order_id"] == order.order_id
    assert (row["status"], row["strategy"], row["side"], row["price"]) == ("opened", "rec", "buy", D("398.50"))
    # the next tick's context shows the strategy its open order, tag included
    seen: list[Any] = []
    recorder.script = [lambda snapshot, ctx: seen.extend(ctx.open_orders)]
    rig.tick()
    assert [(o.order_id, o.tag) for o in seen] == [(order.order_id, "first")]
    assert recorder.names()[:2] == ["start", "snapshot"]


def test_hook_botkit_on_fill_delivers_each_fill_once_and_tracks_position(rig: Rig, recorder: Recorder) -> None:
    recorder.script = [[botkit.buy("1", "400.00")]]
    rig.engine.start(1)
    rig.tick()
    rig.counter(Side.SELL, "399.50", "0.4")  # trades at our resting 400.00 bid: we are maker
    rig.tick()
    rig.tick()  # nothing new: no second delivery
    fills = [args for name, args in recorder.calls if name == "fill"]
    assert len(fills) == 1
    assert fills[0][1:] == (D("0.4"), D("400.00"))
    assert rig.engine.positions == {"rec": D("0.4")}
    (fill_row,) = queries.fills(rig.journal)
    assert fill_row["fee"] == D("0.4") * D("400.00") * D(10) / D(10000)  # maker 10 bps, exact
    assert fill_row["liquidity"] == "maker"


def test_hook_botkit_on_order_update_reports_status_changes(rig: Rig, recorder: Recorder) -> None:
    recorder.script = [[botkit.sell("0.3", "400.50")]]
    rig.engine.start(1)
    rig.tick()
    rig.counter(Side.BUY, "400.50", "0.3")
    rig.tick()
    updates = [args[1] for name, args in recorder.calls if name == "order"]
    assert updates[-1] == "filled"
    names = recorder.names()
    assert names.index("fill") < len(names) - 1 - names[::-1].index("order")  # fill before its update
    assert queries.orders(rig.journal)[0]["status"] == "filled"
    assert rig.engine.positions["rec"] == D("-0.3")


def test_hook_botkit_on_rejection_and_risk_rejections_are_journaled(sandbox: Any, journal_url: str, bot_id: str,
                                                                     recorder: Recorder) -> None:
    from tests.engine.harness import GENEROUS

    limits = GENEROUS.__class__(**{**{f: getattr(GENEROUS, f) for f in GENEROUS.__dataclass_fields__},
                                   "max_order_quantity": D(1)})
    rig = build(sandbox, journal_url, bot_id, {"rec": recorder}, limits=limits)
    seed_book(rig)
    recorder.script = [[botkit.buy("2", "399.00"), botkit.buy("0.1", "399.001"), botkit.sell("0.1", "399")]]
    rig.engine.start(1)
    report = rig.tick()
    assert report.rejected == 2
    assert report.placed == 1
    reasons = [args for name, args in recorder.calls if name == "rejection"]
    assert reasons[0].startswith("max_order_quantity: quantity 2 BTC exceeds")
    assert reasons[1].startswith("invalid: price 399.001 is not a multiple")
    with rig.journal.session() as s:
        from sqlalchemy import select

        from botkit.journal.schema import RiskRejection

        rules = [r.rule for r in s.scalars(select(RiskRejection).where(RiskRejection.run_id == rig.engine.run_id)
                                           .order_by(RiskRejection.id))]
    assert rules == ["max_order_quantity", "invalid"]
    assert len(_exchange_orders(rig)) == 1
    rig.journal.close()


def test_exchange_refusal_is_a_rejection_not_a_crash(rig: Rig, recorder: Recorder) -> None:
    recorder.script = [[botkit.sell("9.5", "420.00"), botkit.sell("0.6", "421.00")]]  # the bot has 10 BTC
    rig.engine.start(1)
    report = rig.tick()
    assert report.placed == 1
    assert report.rejected == 1
    reasons = [args for name, args in recorder.calls if name == "rejection"]
    assert reasons[0].startswith("exchange: HTTP 400")
    statuses = sorted(r["status"] for r in queries.orders(rig.journal))
    assert statuses == ["opened", "rejected"]


class RefuseBigBuys:
    """A third-party pre-trade check."""

    @botkit.hookimpl
    def botkit_check_intent(self, intent: botkit.PlaceOrder) -> str | None:
        if intent.side is Side.BUY and intent.quantity > D("0.5"):
            return "no big buys today"
        return None


def test_hook_botkit_check_intent_plugins_can_refuse(sandbox: Any, journal_url: str, bot_id: str,
                                                      recorder: Recorder) -> None:
    rig = build(sandbox, journal_url, bot_id, {"rec": recorder, "guard": RefuseBigBuys()})
    seed_book(rig)
    recorder.script = [[botkit.buy("0.6", "398"), botkit.buy("0.5", "398")]]
    rig.engine.start(1)
    report = rig.tick()
    assert (report.placed, report.rejected) == (1, 1)
    assert [a for n, a in recorder.calls if n == "rejection"] == ["guard: no big buys today"]
    rig.journal.close()


class RefuseBigSells:
    """A check that names its rule, as the built-in rules do: it raises RiskRejected."""

    @botkit.hookimpl
    def botkit_check_intent(self, intent: botkit.PlaceOrder) -> str | None:
        if intent.side is Side.SELL and intent.quantity > D("0.5"):
            raise RiskRejected("no_big_sells", "sells above 0.5 BTC wait for Monday")
        return None


def test_a_check_that_raises_risk_rejected_refuses_under_its_own_rule(sandbox: Any, journal_url: str, bot_id: str,
                                                                       recorder: Recorder) -> None:
    """The built-in rules are an ordinary plugin: any check may refuse the way they do."""
    rig = build(sandbox, journal_url, bot_id, {"rec": recorder, "guard": RefuseBigSells()})
    seed_book(rig)
    recorder.script = [[botkit.sell("0.6", "402"), botkit.sell("0.5", "402")]]
    rig.engine.start(1)
    report = rig.tick()
    assert (report.placed, report.rejected) == (1, 1)
    assert [a for n, a in recorder.calls if n == "rejection"] == ["no_big_sells: sells above 0.5 BTC wait for Monday"]
    rig.journal.close()


def test_hook_botkit_on_start_and_botkit_on_stop_and_cancel_on_shutdown(rig: Rig, recorder: Recorder) -> None:
    recorder.script = [[botkit.buy("0.2", "398"), botkit.sell("0.2", "402")]]
    rig.engine.start(1)
    rig.tick()
    assert len([o for o in _exchange_orders(rig) if o.is_open]) == 2
    summary = rig.engine.stop(5)
    assert recorder.names()[0] == "start"
    assert recorder.names()[-1] != "start"
    assert "stop" in recorder.names()
    assert [o.status for o in _exchange_orders(rig)] == [OrderStatus.CANCELED, OrderStatus.CANCELED]
    assert summary["open_orders"] == 0
    assert {r["status"] for r in queries.orders(rig.journal)} == {"canceled"}
    (run,) = queries.runs(rig.journal)
    assert run.status == "stopped"


def test_hook_botkit_on_stop_runs_before_open_orders_are_cancelled(rig: Rig) -> None:
    seen: list[Any] = []

    class Watcher(Recorder):
        @botkit.hookimpl
        def botkit_on_stop(self, ctx: Any) -> None:
            seen.extend(o.status for o in ctx.open_orders)

    watcher = Watcher()
    engine = rig.engine
    engine.pm.register(watcher, name="watcher")
    from botkit.strategy.context import StrategyContext
    from botkit.strategy.host import StrategyHost

    host = StrategyHost("watcher", engine.pm, watcher, StrategyContext.create("watcher", {}), timeout=None,
                        max_failures=3)
    engine.strategies.append(host)
    engine._hosts["watcher"] = host
    watcher.script = [[botkit.buy("0.1", "398")]]
    engine.start(1)
    rig.tick()
    engine.stop(2)
    assert seen == [OrderStatus.OPENED]
    assert [o.status for o in _exchange_orders(rig)] == [OrderStatus.CANCELED]


def test_on_shutdown_leave_keeps_orders_open(sandbox: Any, journal_url: str, bot_id: str, recorder: Recorder) -> None:
    rig = build(sandbox, journal_url, bot_id, {"rec": recorder}, settings=with_settings(on_shutdown="leave"))
    seed_book(rig)
    recorder.script = [[botkit.buy("0.2", "398")]]
    rig.engine.start(1)
    rig.tick()
    rig.engine.stop(2)
    assert [o.status for o in _exchange_orders(rig)] == [OrderStatus.OPENED]
    rig.journal.close()


def test_cancel_and_cancel_all_intents(rig: Rig, recorder: Recorder) -> None:
    recorder.script = [[botkit.buy("0.1", "397"), botkit.buy("0.1", "396"), botkit.sell("0.1", "403")]]
    rig.engine.start(1)
    rig.tick()
    first = next(o for o in _exchange_orders(rig) if o.price == D(397))
    recorder.script = [[botkit.cancel(first.order_id), botkit.cancel("not-mine")]]
    report = rig.tick()
    assert report.cancelled == 1
    assert report.rejected == 1
    recorder.script = [[botkit.cancel_all(Side.BUY)]]
    rig.tick()
    by_price = {o.price: o.status for o in _exchange_orders(rig)}
    assert by_price == {D(397): OrderStatus.CANCELED, D(396): OrderStatus.CANCELED, D(403): OrderStatus.OPENED}


def test_a_raising_strategy_is_isolated_and_paused(sandbox: Any, journal_url: str, bot_id: str) -> None:
    good, bad = Recorder(), Recorder()

    def explode(snapshot: Any, ctx: Any) -> Any:
        raise RuntimeError("boom")

    rig = build(sandbox, journal_url, bot_id, {"bad": bad, "good": good}, max_failures=2)
    seed_book(rig)
    bad.script = [explode, explode, explode]
    good.script = [[botkit.buy("0.1", "398")], None, None]
    rig.engine.start(1)
    reports = [rig.tick() for _ in range(3)]
    assert [r.failures for r in reports] == [1, 1, 0]  # paused after the second: not called a third time
    assert bad.names().count("snapshot") == 2
    assert good.names().count("snapshot") == 3
    assert reports[0].placed == 1
    host = next(h for h in rig.engine.strategies if h.name == "bad")
    assert host.paused
    assert "RuntimeError: boom" in (host.last_error or "")
    rig.journal.close()


@pytest.mark.parametrize("junk", [42, "buy", [botkit.buy("0.1", "398"), "sell"], {"side": "buy"},
                                  [botkit.buy("0.0001", "300")] * 10_000])
def test_junk_results_drop_the_tick_of_that_strategy(rig: Rig, recorder: Recorder, junk: Any) -> None:
    recorder.script = [junk]
    rig.engine.start(1)
    report = rig.tick()
    assert report.failures == 1
    assert report.placed == 0
    assert _exchange_orders(rig) == []


def test_a_strategy_that_overruns_its_time_limit_has_its_intents_dropped(sandbox: Any, journal_url: str,
                                                                          bot_id: str) -> None:
    slow = Recorder()

    def sleepy(snapshot: Any, ctx: Any) -> Any:
        time.sleep(1.5)
        return [botkit.buy("0.1", "398")]

    rig = build(sandbox, journal_url, bot_id, {"slow": slow}, timeout=0.1)
    seed_book(rig)
    slow.script = [sleepy, [botkit.buy("0.1", "397")]]
    rig.engine.start(1)
    assert rig.tick().failures == 1
    assert _exchange_orders(rig) == []
    time.sleep(1.6)  # its late call finishes in its own thread; its intents are still dropped
    report = rig.tick()
    assert report.placed == 1
    assert [o.price for o in _exchange_orders(rig)] == [D(397)]
    rig.journal.close()


def test_state_survives_a_restart(sandbox: Any, journal_url: str, bot_id: str) -> None:
    first = Recorder()
    first.script = [lambda snapshot, ctx: ctx.state.update(count=ctx.state.get("count", 0) + 1, px=D("1.10"))]
    rig = build(sandbox, journal_url, bot_id, {"s": first})
    seed_book(rig)
    rig.engine.start(1)
    rig.tick()
    rig.engine.stop(2)
    rig.journal.close()
    second = Recorder()
    seen: list[Any] = []
    second.script = [lambda snapshot, ctx: seen.append(dict(ctx.state))]
    rig2 = build(sandbox, journal_url, bot_id, {"s": second})
    rig2.engine.start(3)
    rig2.tick()
    assert seen == [{"count": 1, "px": D("1.10")}]
    rig2.journal.close()


def test_restart_journals_fills_missed_while_down_before_strategies_run(sandbox: Any, journal_url: str,
                                                                        bot_id: str) -> None:
    first = Recorder()
    first.script = [[botkit.buy("1", "400.00")]]
    rig = build(sandbox, journal_url, bot_id, {"s": first})
    seed_book(rig)
    rig.engine.start(1)
    rig.tick()
    rig.journal.close()  # the daemon dies here: no stop()
    rig.counter(Side.SELL, "400.00", "0.7")  # fills while botkit is down
    stray = rig.api.place_order(Side.SELL, D("0.1"), D("450"))  # an order the journal never saw

    second = Recorder()
    positions: list[Any] = []
    second.script = [lambda snapshot, ctx: positions.append(ctx.position)]
    rig2 = build(sandbox, journal_url, bot_id, {"s": second})
    rig2.engine.start(2)
    assert [r["quantity"] for r in queries.fills(rig2.journal)] == [D("0.7")]
    assert rig2.api.order(stray).status is OrderStatus.CANCELED  # unknown_orders = "cancel"
    rig2.tick()
    assert positions == [D("0.7")]
    assert second.names()[0] == "start"
    statuses = {r.status for r in queries.runs(rig2.journal)}
    assert statuses == {"crashed", "running"}
    rig2.journal.close()


def test_unknown_outcome_is_resolved_without_a_duplicate(sandbox: Any, journal_url: str, bot_id: str) -> None:
    strat = Recorder()
    rig = build(sandbox, journal_url, bot_id, {"s": strat}, client_timeout=2.0)
    seed_book(rig)
    rig.engine.start(1)
    sandbox.faults.queue("accept_then_drop", method="POST", path="/v1/orders", count=1)
    posts_before = sandbox.stats.requests[("POST", "/v1/orders")]
    strat.script = [[botkit.buy("0.3", "398.25")], None]
    first = rig.tick()
    assert first.placed == 0
    assert first.errors
    (row,) = queries.orders(rig.journal)
    assert row["status"] == "unknown"
    assert row["exchange_order_id"] is None
    rig.tick()  # reads the account's orders and binds the one that matches
    (order,) = _exchange_orders(rig)
    (row,) = queries.orders(rig.journal)
    assert row["exchange_order_id"] == order.order_id
    assert row["status"] == "opened"
    assert sandbox.stats.requests[("POST", "/v1/orders")] - posts_before == 1  # sent exactly once
    rig.journal.close()


def test_unresolved_side_refuses_new_orders_until_resolved(sandbox: Any, journal_url: str, bot_id: str) -> None:
    strat = Recorder()
    rig = build(sandbox, journal_url, bot_id, {"s": strat},
                settings=with_settings(resolve_window_ms=60_000), client_timeout=2.0)
    seed_book(rig)
    rig.engine.start(1)
    sandbox.faults.queue("drop_before", method="POST", path="/v1/orders", count=1)
    strat.script = [[botkit.buy("0.3", "398.25")], [botkit.buy("0.2", "398.00"), botkit.sell("0.2", "405")]]
    t0 = int(time.time() * 1000)
    rig.tick(t0)
    report = rig.tick(t0 + 1000)  # never reached the exchange, but only time can tell
    assert report.rejected == 1
    assert report.placed == 1
    assert next(a for n, a in strat.calls if n == "rejection").startswith("unresolved:")
    rig.tick(t0 + 61_000)  # past the window: declared not placed
    statuses = sorted(r["status"] for r in queries.orders(rig.journal))
    assert statuses == ["not_placed", "opened"]
    assert [o.side for o in _exchange_orders(rig)] == [Side.SELL]
    rig.journal.close()


def test_an_order_of_unresolved_outcome_is_in_ctx_open_orders_as_not_placed(rig: Rig, recorder: Recorder) -> None:
    """Until the exchange's orders tell, an order whose request got no reply is shown to its strategy
    (so that it does not place it twice) with ``is_placed`` False, under botkit's ``local-N`` id."""
    seen: list[tuple[Any, ...]] = []
    recorder.script = [[botkit.buy("0.3", "398.25"), botkit.sell("0.2", "405")],
                       lambda snapshot, ctx: seen.append(ctx.open_orders)]
    rig.engine.start(1)
    rig.sandbox.faults.queue("drop_before", method="POST", path="/v1/orders", count=1)
    t0 = int(time.time() * 1000)
    rig.tick(t0)
    rig.tick(t0 + 1000)  # within the resolve window: still unresolved
    ((unplaced, placed),) = seen
    first_id = min(r["id"] for r in queries.orders(rig.journal))
    assert (unplaced.side, unplaced.is_placed, unplaced.order_id, unplaced.status) == (
        Side.BUY, False, f"local-{first_id}", OrderStatus.OPENED)
    (on_exchange,) = _exchange_orders(rig)
    assert (placed.side, placed.is_placed, placed.order_id) == (Side.SELL, True, on_exchange.order_id)


def test_an_order_the_exchange_forgot_is_marked_vanished_and_the_bot_goes_on(tmp_path: Any, journal_url: str,
                                                                           bot_id: str) -> None:
    """An exchange restored from an older state (the embedded sandbox after a kill -9) answers 404
    for an order the journal holds: botkit records that and keeps trading."""
    import shutil

    from botkit.sandbox import Sandbox

    old, live = tmp_path / "old.sqlite", tmp_path / "live.sqlite"
    with Sandbox(market="off", accounts=accounts(), rate_limit=0, state_path=old):
        pass
    shutil.copy(old, live)
    strat = Recorder()
    strat.script = [[botkit.buy("0.1", "398")]]
    with Sandbox(market="off", accounts=accounts(), rate_limit=0, state_path=live) as first:
        rig = build(first, journal_url, bot_id, {"s": strat})
        seed_book(rig)
        rig.engine.start(1)
        rig.tick()
        rig.journal.close()
    shutil.copy(old, live)  # the exchange loses what happened since
    again = Recorder()
    again.script = [None, [botkit.sell("0.1", "405")]]
    with Sandbox(market="off", accounts=accounts(), rate_limit=0, state_path=live) as restored:
        rig2 = build(restored, journal_url, bot_id, {"s": again})
        seed_book(rig2)
        rig2.engine.start(2)
        assert [r["status"] for r in queries.orders(rig2.journal)] == ["vanished"]
        rig2.tick()
        report = rig2.tick()
        assert report.placed == 1
        rig2.journal.close()


def test_market_orders_buy_and_sell_through_the_book(rig: Rig, recorder: Recorder) -> None:
    """A market buy of BTC travels as a USD_BTC market sell (the contract's only market buy) and
    comes back as the BTC buy it is; a market sell walks the bids."""
    recorder.script = [[botkit.buy("0.5")], [botkit.sell("0.25")]]
    rig.engine.start(1)
    rig.tick()
    rig.tick()
    fills = {(f["side"], f["price"], f["quantity"]) for f in queries.fills(rig.journal)}
    assert {p for s, p, _ in fills if s == "buy"} == {D(401)}  # the best ask, 5 BTC deep
    assert ("sell", D(399), D("0.25")) in fills
    rows = {r["side"]: r for r in queries.orders(rig.journal)}
    assert rows["buy"]["status"] == "filled" and rows["sell"]["status"] == "filled"
    assert rows["buy"]["order_type"] == "market"
    bought = sum(q for s, _, q in fills if s == "buy")
    assert D("0.49") <= bought <= D("0.51")  # the USD spent was 0.5 x best ask, rounded up to the cent
    assert rig.engine.positions["rec"] == bought - D("0.25")


def test_no_strategy_is_asked_when_the_account_cannot_be_read(rig: Rig, recorder: Recorder) -> None:
    """A failed order sync means a fill may have gone unseen: position and risk would be stale."""
    recorder.script = [[botkit.buy("0.1", "398")], [botkit.buy("0.1", "397")], [botkit.buy("0.1", "396")]]
    rig.engine.start(1)
    rig.tick()
    rig.sandbox.faults.queue("error500", method="GET", path="/v1/orders/{id}", count=3)  # every retry too
    calls = recorder.names().count("snapshot")
    report = rig.tick()
    assert recorder.names().count("snapshot") == calls
    assert report.placed == 0
    assert any("account's state could not be read" in e for e in report.errors)
    assert rig.tick().placed == 1  # the next good tick trades again


def test_the_tick_of_a_fill_reports_the_position_after_it(rig: Rig, recorder: Recorder) -> None:
    """A newcomer saw `pos=0` on the tick line of a fill and the position one tick later."""
    recorder.script = [[botkit.buy("1", "400.00")], None, [botkit.buy("0.2", "401.00")]]
    rig.engine.start(1)
    assert rig.tick().position == 0
    rig.counter(Side.SELL, "399.50", "0.4")  # trades at our resting bid between two ticks
    maker = rig.tick()
    assert (maker.fills, maker.position) == (1, D("0.4"))
    taker = rig.tick()  # crosses the counterparty's 401.00 ask at once
    assert (taker.fills, taker.position) == (1, D("0.6"))


def test_observers_read_a_copy_of_the_engine_state(rig: Rig, recorder: Recorder) -> None:
    """Metrics and the daemon's heartbeat read `Engine.view()`, not the engine's attributes."""
    recorder.script = [[botkit.buy("1", "400.00")], None]
    rig.engine.start(1)
    rig.tick()
    before = rig.engine.view()
    assert (before.ticks, before.open_orders, before.unresolved_orders) == (1, {"rec": 1}, 0)
    assert [(s.name, s.paused) for s in before.strategies] == [("rec", False)]
    with pytest.raises(TypeError):
        before.positions["rec"] = D(5)  # type: ignore[index]
    rig.counter(Side.SELL, "399.50", "0.4")
    rig.tick()
    after = rig.engine.view()
    assert (before.position, after.position) == (D(0), D("0.4"))  # the old view did not move
    assert after.ticks == 2
