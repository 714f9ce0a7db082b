"""The exchange in-process: fills, fees, reserves, market orders, validation and conservation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botkit.client import parse
from botkit.model import Liquidity, OrderStatus
from botkit.sandbox import Exchange, ExchangeError, FeeSchedule, SandboxAccount

START_USD = Decimal("100000")
START_BTC = Decimal("10")


def exchange(maker: str = "10", taker: str = "20", accounts: tuple[str, ...] = ("a", "b", "c")) -> Exchange:
    ex = Exchange(FeeSchedule(Decimal(maker), Decimal(taker)), deposit_delay_ms=0, withdraw_delay_ms=0)
    for key in accounts:
        ex.add_account(SandboxAccount(key, "secret", {"USD": START_USD, "BTC": START_BTC}))
    return ex


def refused(code: str, call: object, *args: object, **kwargs: object) -> None:
    assert callable(call)
    with pytest.raises(ExchangeError) as info:
        call(*args, **kwargs)
    assert info.value.status == 400
    assert info.value.code == code


def assert_conserved(ex: Exchange, keys: int = 3) -> None:
    assert ex.total("USD") + ex.fees_collected == START_USD * keys
    assert ex.total("BTC") == START_BTC * keys


def test_a_crossing_limit_order_fills_at_the_resting_price_with_exact_fees() -> None:
    ex = exchange()
    ask = ex.submit_order("a", "sell", "limit", "400.01", "0.5")
    bid = ex.submit_order("b", "buy", "limit", "401.00", "0.3")
    taker = ex.order("b", bid)
    maker = ex.order("a", ask)
    assert taker.status is OrderStatus.FILLED
    assert maker.status is OrderStatus.PARTIAL
    (fill,) = taker.fills
    assert fill.price == Decimal("400.01")
    assert fill.quantity == Decimal("0.3")
    assert fill.liquidity is Liquidity.TAKER
    assert maker.fills[0].liquidity is Liquidity.MAKER
    notional = Decimal("400.01") * Decimal("0.3")
    assert fill.fee == notional * Decimal("0.002")  # 20 bps, exact: 0.240006
    assert maker.fills[0].fee == notional * Decimal("0.001")
    assert fill.fee == Decimal("0.240006")
    assert ex.balances("b") == {"USD": START_USD - notional - fill.fee, "BTC": START_BTC + Decimal("0.3")}
    assert ex.balances("a") == {"USD": START_USD + notional - maker.fills[0].fee, "BTC": START_BTC - Decimal("0.3")}
    assert ex.fees_collected == fill.fee + maker.fills[0].fee
    assert taker.average_price == Decimal("400.01")
    assert taker.fees == fill.fee
    assert_conserved(ex)


def test_fractional_basis_points_stay_exact() -> None:
    ex = exchange(maker="2.5", taker="7.5")
    ex.submit_order("a", "sell", "limit", "333.33", "0.00000001")
    order_id = ex.submit_order("b", "buy", "limit", "333.33", "0.00000001")
    fee = ex.order("b", order_id).fills[0].fee
    assert fee == Decimal("0.0000033333") * Decimal("0.00075")
    assert_conserved(ex)


def test_an_order_walks_several_levels_and_rests_the_remainder() -> None:
    ex = exchange()
    ex.submit_order("a", "sell", "limit", "400.00", "1")
    ex.submit_order("c", "sell", "limit", "401.00", "1")
    order_id = ex.submit_order("b", "buy", "limit", "400.50", "3")
    order = ex.order("b", order_id)
    assert [(f.price, f.quantity) for f in order.fills] == [(Decimal("400.00"), Decimal("1"))]
    assert order.status is OrderStatus.PARTIAL
    assert order.remaining == Decimal("2")
    assert ex.depth() == ([(40050, 200_000_000)], [(40100, 100_000_000)])


def test_buy_reserves_price_quantity_and_worst_case_fee_and_cancel_releases_it() -> None:
    ex = exchange(maker="10", taker="20")
    order_id = ex.submit_order("a", "buy", "limit", "400.00", "2")
    assert ex.reserved("a")["USD"] == Decimal("800") * Decimal("1.002")
    assert ex.balances("a")["USD"] == START_USD  # totals include reserves
    assert ex.available("a")["USD"] == START_USD - Decimal("801.6")
    ex.cancel_order("a", order_id)
    assert ex.reserved("a") == {"USD": 0, "BTC": 0}
    assert ex.order("a", order_id).status is OrderStatus.CANCELED


def test_reserve_uses_the_maker_rate_when_it_is_the_higher_one() -> None:
    ex = exchange(maker="30", taker="5")
    ex.submit_order("a", "buy", "limit", "100.00", "1")
    assert ex.reserved("a")["USD"] == Decimal("100.3")


def test_sell_reserves_bitcoin_and_a_fill_consumes_the_reserve_exactly() -> None:
    ex = exchange()
    sell = ex.submit_order("a", "sell", "limit", "400.00", "4")
    assert ex.reserved("a")["BTC"] == Decimal("4")
    ex.submit_order("b", "buy", "limit", "400.00", "1.5")
    assert ex.reserved("a")["BTC"] == Decimal("2.5")
    assert ex.reserved("b")["USD"] == 0
    ex.cancel_order("a", sell)
    assert ex.reserved("a")["BTC"] == 0


def test_a_taker_buy_at_a_better_price_releases_its_whole_reserve() -> None:
    ex = exchange()
    ex.submit_order("a", "sell", "limit", "390.00", "1")
    ex.submit_order("b", "buy", "limit", "400.00", "1")
    assert ex.reserved("b") == {"USD": 0, "BTC": 0}


def test_insufficient_available_funds_are_refused_counting_reserves() -> None:
    ex = exchange()
    refused("insufficient_funds", ex.submit_order, "a", "sell", "limit", "400.00", "10.00000001")
    ex.submit_order("a", "sell", "limit", "400.00", "6")
    refused("insufficient_funds", ex.submit_order, "a", "sell", "market", None, "5")
    refused("insufficient_funds", ex.submit_order, "a", "buy", "limit", "10000.00", "10")
    assert ex.orders("a")[0].status is OrderStatus.OPENED
    assert len(ex.orders("a")) == 1


def test_market_buy_of_btc_usd_is_refused() -> None:
    refused("market_buy_not_supported", exchange().submit_order, "a", "buy", "market", None, "1")


@pytest.mark.parametrize(
    ("code", "args"),
    [
        ("invalid_price", ("buy", "limit", "400.001", "1")),
        ("invalid_price", ("buy", "limit", "0", "1")),
        ("invalid_price", ("buy", "limit", "-1.00", "1")),
        ("invalid_price", ("buy", "limit", "NaN", "1")),
        ("invalid_price", ("buy", "limit", "abc", "1")),
        ("invalid_quantity", ("buy", "limit", "400", "0.000000001")),
        ("invalid_quantity", ("sell", "limit", "400", "0")),
        ("invalid_quantity", ("sell", "limit", "400", "Infinity")),
        ("missing_price", ("buy", "limit", None, "1")),
        ("price_not_allowed", ("sell", "market", "400", "1")),
        ("invalid_side", ("short", "limit", "400", "1")),
        ("invalid_order_type", ("buy", "stop", "400", "1")),
    ],
)
def test_prices_are_whole_cents_and_quantities_whole_satoshis(code: str, args: tuple[object, ...]) -> None:
    refused(code, exchange().submit_order, "a", *args)


def test_usd_btc_only_supports_a_market_sell() -> None:
    ex = exchange()
    refused("unsupported_order", ex.submit_order, "a", "buy", "market", None, "100", instrument="USD_BTC")
    refused("unsupported_order", ex.submit_order, "a", "sell", "limit", "400", "100", instrument="USD_BTC")
    refused("invalid_instrument", ex.submit_order, "a", "sell", "limit", "400", "1", instrument="ETH_USD")
    refused("invalid_quantity", ex.submit_order, "a", "sell", "market", None, "10.001", instrument="USD_BTC")


def test_usd_btc_market_sell_spends_a_usd_amount_fees_included_walking_the_asks() -> None:
    ex = exchange(taker="20")
    ex.submit_order("a", "sell", "limit", "400.00", "0.5")
    ex.submit_order("c", "sell", "limit", "500.00", "2")
    order_id = ex.submit_order("b", "sell", "market", None, "500.00", instrument="USD_BTC")
    order = ex.order("b", order_id)
    assert order.status is OrderStatus.FILLED
    assert order.instrument == "USD_BTC"
    first, second = order.fills
    assert (first.price, first.quantity) == (Decimal("400.00"), Decimal("0.5"))
    assert second.price == Decimal("500.00")
    spent = sum((f.price * f.quantity + f.fee for f in order.fills), Decimal(0))
    assert order.filled == spent <= Decimal("500")
    # the second fill is the most satoshis the rest of the budget buys
    left = Decimal("500") - (first.price * first.quantity + first.fee)
    affordable = left / (Decimal("500") * Decimal("1.002"))
    assert second.quantity == affordable.quantize(Decimal("1e-8"), rounding="ROUND_DOWN")
    assert ex.balances("b")["USD"] == START_USD - spent
    assert ex.reserved("b") == {"USD": 0, "BTC": 0}
    assert_conserved(ex)


def test_market_orders_cancel_what_the_book_cannot_fill() -> None:
    ex = exchange()
    ex.submit_order("a", "buy", "limit", "400.00", "1")
    sell = ex.order("b", ex.submit_order("b", "sell", "market", None, "3"))
    assert sell.status is OrderStatus.CANCELED
    assert sell.filled == Decimal("1")
    assert sell.price is None
    nothing = ex.order("b", ex.submit_order("b", "sell", "market", None, "1"))
    assert nothing.status is OrderStatus.CANCELED
    assert nothing.filled == 0
    assert ex.reserved("b") == {"USD": 0, "BTC": 0}
    spend = ex.order("c", ex.submit_order("c", "sell", "market", None, "100", instrument="USD_BTC"))
    assert spend.status is OrderStatus.CANCELED
    assert spend.filled == 0


def test_cancel_of_a_closed_order_is_refused_and_of_someone_elses_is_not_found() -> None:
    ex = exchange()
    ex.submit_order("a", "sell", "limit", "400.00", "1")
    filled = ex.submit_order("b", "buy", "limit", "400.00", "1")
    refused("order_not_open", ex.cancel_order, "b", filled)
    resting = ex.submit_order("a", "sell", "limit", "401.00", "1")
    with pytest.raises(ExchangeError) as info:
        ex.cancel_order("b", resting)
    assert info.value.status == 404
    with pytest.raises(ExchangeError) as info:
        ex.order("b", resting)
    assert info.value.status == 404


def test_self_trades_are_allowed_and_charge_both_fees() -> None:
    ex = exchange()
    ex.submit_order("a", "sell", "limit", "400.00", "1")
    ex.submit_order("a", "buy", "limit", "400.00", "1")
    assert ex.balances("a")["BTC"] == START_BTC
    assert ex.balances("a")["USD"] == START_USD - Decimal("400") * Decimal("0.003")
    assert_conserved(ex)


def test_the_domain_order_equals_what_the_client_parses_from_the_wire() -> None:
    ex = exchange()
    ex.submit_order("a", "sell", "limit", "400.00", "0.25")
    ex.submit_order("a", "sell", "limit", "400.07", "0.25")
    order_id = ex.submit_order("b", "buy", "limit", "401.00", "1")
    view = ex.order_view("b", order_id)
    assert parse.order(view) == ex.order("b", order_id)
    assert view["averagePrice"] == Decimal("400.035")
    assert [e["eventType"] for e in view["events"]] == ["created", "fill", "fill"]
    ex.cancel_order("b", order_id)
    assert ex.order_view("b", order_id)["events"][-1]["eventType"] == "canceled"


def test_orders_are_filtered_and_newest_first() -> None:
    ticks = iter(range(1_000_000, 2_000_000, 1000))
    ex = Exchange(clock=lambda: next(ticks))
    ex.add_account(SandboxAccount("a", "s", {"USD": START_USD, "BTC": START_BTC}))
    first = ex.submit_order("a", "buy", "limit", "300.00", "1")
    second = ex.submit_order("a", "sell", "limit", "500.00", "1")
    third = ex.submit_order("a", "buy", "limit", "301.00", "1")
    ex.cancel_order("a", third)
    assert [o.order_id for o in ex.orders("a")] == [third, second, first]
    assert [o.order_id for o in ex.orders("a", status="opened")] == [second, first]
    assert [o.order_id for o in ex.orders("a", status="open")] == [second, first]
    assert [o.order_id for o in ex.orders("a", side="buy")] == [third, first]
    created = [o.created_ts for o in ex.orders("a")]
    assert [o.order_id for o in ex.orders("a", date_min=created[1], date_max=created[1])] == [second]
    refused("invalid_status", ex.orders, "a", status="done")


# ---------------------------------------------------------------------- conservation property

order_streams = st.lists(
    st.one_of(
        st.tuples(
            st.just("limit"),
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["buy", "sell"]),
            st.integers(39_900, 40_100),
            st.integers(1, 300_000_000),
        ),
        st.tuples(
            st.just("market"),
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["sell", "spend"]),
            st.just(0),
            st.integers(1, 300_000_000),
        ),
        st.tuples(st.just("cancel"), st.sampled_from(["a", "b", "c"]), st.just(""), st.integers(0, 50), st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=120, deadline=None)
@given(
    stream=order_streams,
    maker_bps=st.sampled_from(["0", "10", "2.5", "25"]),
    taker_bps=st.sampled_from(["0", "20", "7.5"]),
)
def test_nothing_is_created_or_destroyed(
    stream: list[tuple[str, str, str, int, int]], maker_bps: str, taker_bps: str
) -> None:
    """Across all accounts, balances plus fees collected are conserved; reserves match the open
    orders; no balance or availability goes negative."""
    ex = exchange(maker_bps, taker_bps)
    placed: dict[str, list[str]] = {"a": [], "b": [], "c": []}
    for kind, key, side, price, amount in stream:
        try:
            if kind == "limit":
                placed[key].append(
                    ex.submit_order(key, side, "limit", Decimal(price) / 100, Decimal(amount) / 10**8)
                )
            elif kind == "market" and side == "sell":
                ex.submit_order(key, "sell", "market", None, Decimal(amount) / 10**8)
            elif kind == "market":
                ex.submit_order(key, "sell", "market", None, Decimal(amount // 1000 + 1) / 100, instrument="USD_BTC")
            elif placed[key]:
                ex.cancel_order(key, placed[key][price % len(placed[key])])
        except ExchangeError as exc:
            if exc.code not in ("insufficient_funds", "order_not_open"):
                raise
        assert_conserved(ex)
    for key in placed:
        balances, reserved, available = ex.balances(key), ex.reserved(key), ex.available(key)
        open_orders = [o for o in ex.orders(key) if o.is_open]
        assert reserved["BTC"] == sum((o.remaining for o in open_orders if o.side == "sell"), Decimal(0))
        buys = [o for o in open_orders if o.side == "buy"]
        worst = max(Decimal(maker_bps), Decimal(taker_bps)) / 10000
        assert reserved["USD"] == sum((o.price * o.remaining * (1 + worst) for o in buys if o.price), Decimal(0))
        for currency in ("USD", "BTC"):
            assert balances[currency] >= 0
            assert available[currency] >= 0
    bids, asks = ex.depth()
    assert not bids or not asks or bids[0][0] < asks[0][0]


def test_finished_orders_beyond_the_history_are_forgotten_open_ones_never() -> None:
    """The exchange's memory stays bounded however long it runs (the soak found it growing)."""
    exchange = Exchange(order_history=3)
    exchange.add_account(SandboxAccount("k", "s" * 20, {"USD": Decimal(10000), "BTC": Decimal(10)}))
    resting = exchange.submit_order("k", "buy", "limit", Decimal("100.00"), Decimal("0.1"))
    finished = []
    for _ in range(5):
        order_id = exchange.submit_order("k", "sell", "limit", Decimal("500.00"), Decimal("0.1"))
        exchange.cancel_order("k", order_id)
        finished.append(order_id)
    kept = [o.order_id for o in exchange.orders("k")]
    assert kept == [*reversed(finished[2:]), resting]  # newest first; the open one stays
    with pytest.raises(ExchangeError):
        exchange.order("k", finished[0])
