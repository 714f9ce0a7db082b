"""Each built-in risk rule on its own, including the daily-loss kill switch."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import botkit
from botkit.engine.risk import DAY_MS, AccountRisk, RiskLimits, RiskRejected
from botkit.model import BookLevel, Order, OrderBook, OrderStatus, OrderType, Side, Snapshot, Ticker
from botkit.strategy.context import StrategyContext

D = Decimal
LIMITS = RiskLimits(max_order_quantity=D(1), max_position=D(2), max_notional=D(1000), max_open_orders=3,
                    price_band_bps=D(100), daily_loss_limit=D(500), min_balance_usd=D(100), min_balance_btc=D("0.5"))
SNAP = Snapshot(1000, Ticker(D(400), D(399), D(401)),
                OrderBook((BookLevel(D(399), D(1)),), (BookLevel(D(401), D(1)),)))


def _risk(**limits: object) -> AccountRisk:
    risk = AccountRisk(dataclasses.replace(LIMITS, **limits))  # type: ignore[arg-type]
    risk.update(1000, D(10000), available_usd=D(5000), available_btc=D(5), open_orders=0)
    return risk


def _ctx(position: str = "0", open_orders: tuple[Order, ...] = ()) -> StrategyContext:
    ctx = StrategyContext.create("s", {})
    ctx.position = D(position)
    ctx.open_orders = open_orders
    return ctx


def _rule(risk: AccountRisk, intent: botkit.PlaceOrder, ctx: StrategyContext | None = None) -> str | None:
    try:
        risk.check(intent, SNAP, ctx or _ctx())
    except RiskRejected as exc:
        return exc.rule
    return None


def test_an_ordinary_order_passes() -> None:
    assert _rule(_risk(), botkit.buy("0.5", "400")) is None
    assert _risk().botkit_check_intent(botkit.buy("0.5", "400"), SNAP, _ctx()) is None


def test_max_order_quantity() -> None:
    assert _rule(_risk(), botkit.sell("1.01", "400")) == "max_order_quantity"


def test_max_position_counts_open_orders_of_the_same_side() -> None:
    resting = Order("x", Side.BUY, OrderType.LIMIT, OrderStatus.OPENED, D(399), D(1), D(0), 0)
    assert _rule(_risk(), botkit.buy("1", "400"), _ctx("0.5")) is None
    assert _rule(_risk(), botkit.buy("1", "400"), _ctx("0.5", (resting,))) == "max_position"
    assert _rule(_risk(), botkit.sell("1", "400"), _ctx("-1.5")) == "max_position"
    assert _rule(_risk(), botkit.sell("1", "400"), _ctx("1.5")) is None  # reduces the position


def test_max_notional_uses_the_book_for_market_orders() -> None:
    assert _rule(_risk(max_notional=D(300)), botkit.buy("1", "399")) == "max_notional"
    assert _rule(_risk(max_notional=D(400)), botkit.buy("1")) == "max_notional"  # 1 x ask 401
    assert _rule(_risk(max_notional=D(400)), botkit.sell("1")) is None  # 1 x bid 399


def test_max_open_orders() -> None:
    risk = _risk()
    risk.open_orders = 3
    assert _rule(risk, botkit.buy("0.1", "400")) == "max_open_orders"


def test_price_band_guards_against_fat_fingers() -> None:
    assert _rule(_risk(), botkit.buy("0.1", "404")) is None   # 100 bps from mid 400
    assert _rule(_risk(), botkit.buy("0.1", "404.01")) == "price_band"
    assert _rule(_risk(), botkit.sell("0.1", "3.99")) == "price_band"


def test_min_balance_keeps_funds_available() -> None:
    assert _rule(_risk(), botkit.buy("1", "400")) is None           # 5000 - 400 >= 100
    risk = _risk()
    risk.update(1000, D(10000), available_usd=D(450), available_btc=D("0.9"), open_orders=0)
    assert _rule(risk, botkit.buy("1", "400")) == "min_balance"     # would leave 50 USD
    assert _rule(risk, botkit.sell("0.5", "400")) == "min_balance"  # would leave 0.4 BTC
    assert _rule(risk, botkit.sell("0.4", "400")) is None


def test_daily_loss_limit_halts_until_the_next_utc_day() -> None:
    risk = _risk()
    day = 1000 // DAY_MS
    risk.update(2000, D(9600), D(5000), D(5), 0)  # lost 400: fine
    assert _rule(risk, botkit.buy("0.1", "400")) is None
    risk.update(3000, D("9499.99"), D(5000), D(5), 0)  # lost 500.01: tripped
    assert _rule(risk, botkit.buy("0.1", "400")) == "daily_loss_limit"
    risk.update(4000, D(10000), D(5000), D(5), 0)  # recovering does not un-trip it the same day
    assert _rule(risk, botkit.sell("0.1", "400")) == "daily_loss_limit"
    risk.update((day + 1) * DAY_MS, D(9400), D(5000), D(5), 0)  # a new day starts from here
    assert _rule(risk, botkit.sell("0.1", "400")) is None


@given(start=st.decimals(min_value=-10**12, max_value=10**12, places=10, allow_nan=False),
       loss=st.decimals(min_value=-10**6, max_value=10**6, places=10, allow_nan=False),
       limit=st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False))
def test_the_kill_switch_trips_exactly_when_the_loss_exceeds_the_limit(start: Decimal, loss: Decimal,
                                                                        limit: Decimal) -> None:
    """The rule is tested against a floor worked out once a day (no subtraction per tick): it
    must trip on the same ticks as ``start - equity > limit``, at the boundary too, and say the
    exact loss."""
    risk = AccountRisk(dataclasses.replace(LIMITS, daily_loss_limit=limit))
    risk.update(1000, start, D(0), D(0), 0)
    risk.update(2000, start - loss, D(0), D(0), 0)
    assert (risk.halted_reason is not None) == (loss > limit)
    if loss > limit:
        assert risk.halted_reason is not None and risk.halted_reason.startswith(f"daily loss {loss} USD ")


def test_a_loss_of_exactly_the_limit_and_an_unvalued_start_do_not_trip() -> None:
    risk = AccountRisk(LIMITS)
    risk.update(1000, None, D(0), D(0), 0)  # no mid yet: the day is measured from the first equity
    risk.update(2000, D(10000), D(0), D(0), 0)
    risk.update(3000, D(9500), D(0), D(0), 0)  # lost 500, the limit itself
    assert risk.halted_reason is None
    risk.update(4000, D("9499.99"), D(0), D(0), 0)
    assert risk.halted_reason is not None and "daily loss 500.01 USD" in risk.halted_reason


@pytest.mark.parametrize(("limit", "trips"), [(D("1E+120"), False), (D("1E-120"), True)])
def test_a_limit_of_any_size_is_a_floor_and_never_an_error(limit: Decimal, trips: bool) -> None:
    """A limit far beyond money's digits (set in code: the config bounds its numbers) is rounded
    at 100 digits when the floor is worked out, never raised at a tick."""
    risk = AccountRisk(dataclasses.replace(LIMITS, daily_loss_limit=limit))
    risk.update(1000, D("10000.00"), D(0), D(0), 0)
    risk.update(2000, D("9999.99"), D(0), D(0), 0)
    assert (risk.halted_reason is not None) == trips


def test_a_reset_measures_the_days_loss_from_the_equity_then() -> None:
    risk = _risk()
    risk.update(2000, D(9000), D(5000), D(5), 0)  # lost 1000: tripped
    assert risk.halted_reason is not None
    risk.reset()  # from 9000 on
    risk.update(3000, D(8600), D(5000), D(5), 0)  # 400 under the reset: fine
    assert risk.halted_reason is None
    risk.update(4000, D("8499.99"), D(5000), D(5), 0)  # 500.01 under it
    assert risk.halted_reason is not None


@pytest.mark.parametrize("intent", [botkit.buy("0.1"), botkit.sell("0.1")])
def test_market_order_without_the_other_side_is_refused(intent: botkit.PlaceOrder) -> None:
    empty = Snapshot(1, SNAP.ticker, OrderBook((), ()))
    with pytest.raises(RiskRejected) as caught:
        _risk().check(intent, empty, _ctx())
    assert caught.value.rule == "no_market"
