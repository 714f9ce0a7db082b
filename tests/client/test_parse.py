"""Wire JSON → domain values (``botkit.client.parse``): valid data read exactly, malformed data
refused with :class:`MalformedResponseError` naming the field, never another exception."""

from __future__ import annotations

import contextlib
import copy
import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from botkit.client import MalformedResponseError, parse
from botkit.core import jsonutil, times
from botkit.model import (
    Balances,
    BookLevel,
    Liquidity,
    OrderBook,
    OrderStatus,
    OrderType,
    Side,
    Ticker,
    Trade,
)

D = Decimal

ORDER: dict[str, Any] = jsonutil.loads(
    '{"orderId":"886313e1-3b8a-5372-9b90-0c9aee199e5d","side":"buy","orderType":"limit","status":"opened",'
    '"price":600.12,"priceCurrency":"USD","quantity":1.234567,"quantityCurrency":"BTC",'
    '"events":[{"eventType":"created","eventDate":"2014-05-06T13:15:30Z"}]}'
)
ORDER_WITH_FILLS: dict[str, Any] = jsonutil.loads(
    '{"orderId":"o-2","side":"sell","orderType":"limit","status":"partial-filled","instrument":"BTC_USD",'
    '"price":600,"quantity":2,"quantityFilled":0.75,"averagePrice":600.5,"fees":0.9,'
    '"events":[{"eventType":"created","eventDate":"2014-05-06T13:15:30.250Z"},{"eventType":"fill"}],'
    '"fills":[{"quantity":0.5,"price":600,"fee":0.6,"feeCurrency":"USD","liquidity":"maker",'
    '"eventDate":"2014-05-06T13:15:31Z"},{"quantity":0.25,"price":601.5,"fee":0.3,'
    '"liquidity":"taker","eventDate":"2014-05-06T13:15:32.001Z"}]}'
)
CREATED_MS = 1399382130000


def malformed(match: str | None = None) -> Any:
    return pytest.raises(MalformedResponseError, match=match)


# ------------------------------------------------------------------ amounts

FINITE = st.decimals(
    min_value=0, max_value=D("1e15"), allow_nan=False, allow_infinity=False, places=12
)


@given(FINITE)
def test_amount_round_trips_exactly_through_the_wire(value: Decimal) -> None:
    wire = jsonutil.loads(jsonutil.dumps({"x": value}))["x"]
    assert parse.amount(wire, "x") == value


@pytest.mark.parametrize(
    "value", [D("0.1"), D("1e-8"), D("123456789012345.123456789012345"), 0, 7, "0.00000001"]
)
def test_amount_accepts(value: Any) -> None:
    assert parse.amount(value, "x") == D(value)
    assert isinstance(parse.amount(value, "x"), Decimal)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0.1,
        1.0,
        [],
        {},
        "abc",
        "",
        "NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        D("NaN"),
        D("Infinity"),
        D("-1"),
        -1,
        "-0.01",
        D("1e16"),
        10**16,
        D("1e999999"),
        D("1e-40000000"),  # once passed (finite, small), then froze exact arithmetic downstream
        "1e-40000000",
        D("0e-99999999"),
        "1_00",
        " 100",
        "\u0661\u0660\u0660",
        "\uff11\uff10\uff10",
        "+1",
    ],
)
def test_amount_refuses(value: Any) -> None:
    with malformed("the.field"):
        parse.amount(value, "the.field")


def test_amount_positive_refuses_zero() -> None:
    with malformed():
        parse.amount(0, "x", positive=True)
    with malformed():
        parse.amount(D("-0"), "x", positive=True)
    assert parse.amount(D("1e-8"), "x", positive=True) == D("1e-8")


# ------------------------------------------------------------------ ticker


def test_ticker() -> None:
    t = parse.ticker(jsonutil.loads('{"currency":"USD","last":404.12,"bid":403.98,"ask":404.22}'))
    assert t == Ticker(last=D("404.12"), bid=D("403.98"), ask=D("404.22"), currency="USD")


@pytest.mark.parametrize("field", ["last", "bid", "ask"])
@pytest.mark.parametrize("bad", [None, "x", -1, D("NaN"), [1], 0.5, D("1e20")])
def test_ticker_bad_field(field: str, bad: Any) -> None:
    data: dict[str, Any] = {"last": D(1), "bid": D(1), "ask": D(2), field: bad}
    with malformed(f"ticker.{field}"):
        parse.ticker(data)


@pytest.mark.parametrize("field", ["last", "bid", "ask"])
def test_ticker_missing_field(field: str) -> None:
    data = {"last": D(1), "bid": D(1), "ask": D(2)}
    del data[field]
    with malformed(repr(field)):
        parse.ticker(data)


@pytest.mark.parametrize("data", [None, [], "ticker", 5])
def test_ticker_not_an_object(data: Any) -> None:
    with malformed():
        parse.ticker(data)


@given(last=FINITE, bid=FINITE, ask=FINITE)
def test_ticker_round_trip(last: Decimal, bid: Decimal, ask: Decimal) -> None:
    assume(bid == 0 or ask == 0 or bid < ask)  # a crossed ticker is refused (below)
    text = jsonutil.dumps({"currency": "USD", "last": last, "bid": bid, "ask": ask})
    assert parse.ticker(jsonutil.loads(text)) == Ticker(last, bid, ask, "USD")


@pytest.mark.parametrize(("bid", "ask"), [("404.22", "404.22"), ("405", "404.22")])
def test_ticker_crossed_is_malformed(bid: str, ask: str) -> None:
    with malformed("ticker is crossed"):
        parse.ticker({"last": D(404), "bid": D(bid), "ask": D(ask)})


def test_ticker_with_an_empty_side_is_not_crossed() -> None:
    assert parse.ticker({"last": D(404), "bid": D(404), "ask": 0}).ask == 0


# ------------------------------------------------------------------ order book


def book(bids: list[tuple[Any, Any]], asks: list[tuple[Any, Any]]) -> dict[str, Any]:
    return {
        "bid": [{"price": p, "quantity": q} for p, q in bids],
        "ask": [{"price": p, "quantity": q} for p, q in asks],
        "price_currency": "USD",
        "quantity_currency": "BTC",
    }


def test_order_book_best_first() -> None:
    ob = parse.order_book(
        book([(D("403.98"), D("1.5")), (D("403.5"), 2)], [(D("404.22"), 1), (405, D("1e-8"))])
    )
    assert ob == OrderBook(
        bids=(BookLevel(D("403.98"), D("1.5")), BookLevel(D("403.5"), D(2))),
        asks=(BookLevel(D("404.22"), D(1)), BookLevel(D(405), D("0.00000001"))),
    )
    assert (ob.best_bid, ob.best_ask) == (D("403.98"), D("404.22"))


def test_empty_and_one_sided_books() -> None:
    assert parse.order_book(book([], [])) == OrderBook((), ())
    assert parse.order_book(book([(1, 1)], [])).best_ask is None


@pytest.mark.parametrize(
    ("bids", "asks", "match"),
    [
        ([(1, 1), (2, 1)], [], "bid is not sorted"),
        ([(2, 1), (2, 1)], [], "bid is not sorted"),  # duplicate level
        ([], [(3, 1), (2, 1)], "ask is not sorted"),
        ([], [(3, 1), (3, 1)], "ask is not sorted"),
        ([(5, 1)], [(5, 1)], "crossed"),
        ([(6, 1)], [(5, 1)], "crossed"),
        ([(0, 1)], [], "price"),
        ([(1, 0)], [], "quantity"),
        ([(-1, 1)], [], "price"),
        ([(1, -1)], [], "quantity"),
        ([(D("NaN"), 1)], [], "price"),
        ([(1, "lots")], [], "quantity"),
        ([(D("1e16"), 1)], [], "price"),
        ([(1.5, 1)], [], "price"),
    ],
)
def test_order_book_refused(
    bids: list[tuple[Any, Any]], asks: list[tuple[Any, Any]], match: str
) -> None:
    with malformed(match):
        parse.order_book(book(bids, asks))


@pytest.mark.parametrize(
    "data",
    [
        {"bid": []},
        {"ask": []},
        {"bid": {}, "ask": []},
        {"bid": [], "ask": "x"},
        [],
        None,
        {"bid": [{"price": 1}], "ask": []},
        {"bid": [{"quantity": 1}], "ask": []},
        {"bid": [5], "ask": []},
    ],
)
def test_order_book_shape_refused(data: Any) -> None:
    with malformed():
        parse.order_book(data)


LEVEL = st.tuples(
    st.decimals(min_value=D("0.01"), max_value=D("1e6"), places=2),
    st.decimals(min_value=D("1e-8"), max_value=D("1e4"), places=8),
)


@given(st.lists(LEVEL, max_size=8), st.lists(LEVEL, max_size=8))
def test_order_book_accepts_exactly_the_sorted_uncrossed_books(
    bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]
) -> None:
    data = jsonutil.loads(jsonutil.dumps(book(bids, asks)))
    bid_prices = [p for p, _ in bids]
    ask_prices = [p for p, _ in asks]
    ok = (
        all(a > b for a, b in itertools.pairwise(bid_prices))
        and all(a < b for a, b in itertools.pairwise(ask_prices))
        and not (bids and asks and bid_prices[0] >= ask_prices[0])
    )
    if ok:
        ob = parse.order_book(data)
        assert [(lv.price, lv.quantity) for lv in ob.bids] == bids
        assert [(lv.price, lv.quantity) for lv in ob.asks] == asks
    else:
        with malformed():
            parse.order_book(data)


# ------------------------------------------------------------------ trades


def test_trades_read_price_quantity_and_taker_side() -> None:
    data = jsonutil.loads(
        '[{"spent":0.02,"spentCurrency":"BTC","earned":12,"earnedCurrency":"USD","timestamp":1410806083687},'
        '{"spent":12.5,"spentCurrency":"USD","earned":0.025,"earnedCurrency":"BTC","timestamp":1410806083000}]'
    )
    assert parse.trades(data) == (
        Trade(1410806083687, D(600), D("0.02"), Side.SELL),
        Trade(1410806083000, D(500), D("0.025"), Side.BUY),
    )


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"spent": 0}, "spent"),
        ({"earned": -1}, "earned"),
        ({"spentCurrency": "EUR"}, "spentCurrency"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": D("1410806083687.5")}, "timestamp"),
        ({"timestamp": True}, "timestamp"),
        ({"spent": D("NaN")}, "spent"),
        ({"earned": 1.5}, "earned"),
    ],
)
def test_trade_refused(change: dict[str, Any], match: str) -> None:
    row = {
        "spent": D("0.02"),
        "spentCurrency": "BTC",
        "earned": 12,
        "earnedCurrency": "USD",
        "timestamp": 1,
    }
    row.update(change)
    with malformed(match):
        parse.trades([row])


@pytest.mark.parametrize("key", ["spent", "earned", "spentCurrency", "timestamp"])
def test_trade_missing_field(key: str) -> None:
    row = {"spent": D("0.02"), "spentCurrency": "BTC", "earned": 12, "timestamp": 1}
    del row[key]
    with malformed(repr(key)):
        parse.trades([row])


@pytest.mark.parametrize(("spent", "earned"), [(D("1e-999999999"), 1), (1, D("1e-999999999"))])
def test_trade_with_absurd_exponents_is_malformed_not_an_arithmetic_error(
    spent: Decimal, earned: Decimal
) -> None:
    for currency in ("BTC", "USD"):
        with malformed():
            parse.trades(
                [{"spent": spent, "spentCurrency": currency, "earned": earned, "timestamp": 1}]
            )


def test_trades_not_a_list() -> None:
    with malformed():
        parse.trades({"trades": []})


# ------------------------------------------------------------------ balances


def test_balances() -> None:
    b = parse.balances(jsonutil.loads('{"BTC":5.44423312,"USD":1413.56}'))
    assert b == Balances({"BTC": D("5.44423312"), "USD": D("1413.56")})
    assert (b.btc, b.usd, b["EUR"]) == (D("5.44423312"), D("1413.56"), D(0))


@pytest.mark.parametrize(
    "data", [[], None, {"USD": -1}, {"USD": "NaN"}, {"BTC": None}, {"USD": 0.5}, {"USD": D("1e20")}]
)
def test_balances_refused(data: Any) -> None:
    with malformed():
        parse.balances(data)


# ------------------------------------------------------------------ orders


def test_order_from_the_contract_example() -> None:
    o = parse.order(copy.deepcopy(ORDER))
    assert o.order_id == "886313e1-3b8a-5372-9b90-0c9aee199e5d"
    assert (o.side, o.order_type, o.status) == (Side.BUY, OrderType.LIMIT, OrderStatus.OPENED)
    assert (o.price, o.quantity, o.filled, o.remaining) == (
        D("600.12"),
        D("1.234567"),
        D(0),
        D("1.234567"),
    )
    assert o.created_ts == CREATED_MS
    assert o.fills == ()
    assert o.fees == 0
    assert o.average_price is None
    assert o.instrument == "BTC_USD"


def test_order_with_botkit_extensions() -> None:
    o = parse.order(copy.deepcopy(ORDER_WITH_FILLS))
    assert o.status is OrderStatus.PARTIAL
    assert (o.filled, o.average_price, o.fees) == (D("0.75"), D("600.5"), D("0.9"))
    assert o.created_ts == CREATED_MS + 250
    first, second = o.fills
    assert (
        first.order_id,
        first.seq,
        first.price,
        first.quantity,
        first.fee,
        first.liquidity,
        first.ts,
    ) == (
        "o-2",
        0,
        D(600),
        D("0.5"),
        D("0.6"),
        Liquidity.MAKER,
        CREATED_MS + 1000,
    )
    assert (second.seq, second.liquidity, second.ts, second.fee_currency) == (
        1,
        Liquidity.TAKER,
        CREATED_MS + 2001,
        "USD",
    )


def test_filled_is_the_sum_of_fills_without_quantity_filled() -> None:
    data = copy.deepcopy(ORDER_WITH_FILLS)
    del data["quantityFilled"]
    assert parse.order(data).filled == D("0.75")


def test_documented_open_status_reads_as_opened() -> None:
    data = copy.deepcopy(ORDER)
    data["status"] = "open"
    assert parse.order(data).status is OrderStatus.OPENED


@pytest.mark.parametrize("status", ["opened", "partial-filled", "filled", "canceled"])
def test_every_contract_status(status: str) -> None:
    data = copy.deepcopy(ORDER)
    data["status"] = status
    assert parse.order(data).status.value == status


def test_market_order_has_no_price() -> None:
    data = copy.deepcopy(ORDER)
    data["orderType"] = "market"
    del data["price"]
    o = parse.order(data)
    assert (o.order_type, o.price) == (OrderType.MARKET, None)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"status": "pending"}, "status"),
        ({"status": "OPENED"}, "status"),
        ({"status": None}, "status"),
        ({"status": ["opened"]}, "status"),
        ({"side": "short"}, "side"),
        ({"orderType": "stop"}, "orderType"),
        ({"orderId": 5}, "orderId"),
        ({"orderId": ""}, "orderId"),
        ({"price": 0}, "price"),
        ({"price": "NaN"}, "price"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": D("1e16")}, "quantity"),
        ({"quantityFilled": 5}, "quantityFilled"),
        ({"events": "created"}, "events"),
        ({"events": [{"eventType": "created", "eventDate": "yesterday"}]}, "created"),
        ({"fills": {}}, "fills"),
        ({"fees": -1}, "fees"),
        ({"averagePrice": "x"}, "averagePrice"),
    ],
)
def test_order_refused(change: dict[str, Any], match: str) -> None:
    data = copy.deepcopy(ORDER)
    data.update(change)
    with malformed(match):
        parse.order(data)


@pytest.mark.parametrize("key", ["orderId", "side", "orderType", "status", "quantity"])
def test_order_missing_field(key: str) -> None:
    data = copy.deepcopy(ORDER)
    del data[key]
    with malformed(repr(key)):
        parse.order(data)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"liquidity": "both"}, "liquidity"),
        ({"price": 0}, "price"),
        ({"quantity": "x"}, "quantity"),
        ({"fee": -1}, "fee"),
        ({"eventDate": 5.5}, "eventDate"),
    ],
)
def test_fill_refused(change: dict[str, Any], match: str) -> None:
    data = copy.deepcopy(ORDER_WITH_FILLS)
    data["fills"][0].update(change)
    with malformed(match):
        parse.order(data)


def test_orders_list() -> None:
    assert [
        o.order_id for o in parse.orders([copy.deepcopy(ORDER), copy.deepcopy(ORDER_WITH_FILLS)])
    ] == [
        ORDER["orderId"],
        "o-2",
    ]
    with malformed():
        parse.orders({"results": []})


@pytest.mark.parametrize(
    ("location", "order_id"),
    [
        (
            "https://api.buttercoin.com/v1/orders/b9fa58e6-a441-48ca-afbb-14827fca2f7a",
            "b9fa58e6-a441-48ca-afbb-14827fca2f7a",
        ),
        ("http://127.0.0.1:8080/v1/orders/abc/", "abc"),
    ],
)
def test_order_id_from_location(location: str, order_id: str) -> None:
    assert parse.order_id_from_location(location) == order_id


@pytest.mark.parametrize(
    "location", [None, 5, "", "http://h/v1/transactions/abc", "http://h/v1/orders/"]
)
def test_order_id_from_bad_location(location: Any) -> None:
    with malformed():
        parse.order_id_from_location(location)


# ------------------------------------------------------------------ times


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("2014-05-06T13:15:30Z", CREATED_MS),
        ("2014-05-06T13:15:30.123Z", CREATED_MS + 123),
        ("2014-05-06T13:15:30+00:00", CREATED_MS),
        ("2014-05-06T15:15:30+02:00", CREATED_MS),
        ("2014-05-06T13:15:30", CREATED_MS),
        (CREATED_MS, CREATED_MS),
    ],
)
def test_timestamp_ms(text: Any, ms: int) -> None:
    assert parse.timestamp_ms(text, "t") == ms


@pytest.mark.parametrize("text", ["", "yesterday", "2014-13-01T00:00:00Z", None, 1.5, True, []])
def test_timestamp_ms_refused(text: Any) -> None:
    with malformed():
        parse.timestamp_ms(text, "t")


@pytest.mark.parametrize("text", [
    -1, "1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z", 253402300800000, 10**30,
    "9999-12-31T23:59:59-23:59",  # past the year 9999 once in UTC
    "2014-05-06T13:15:30Z" + " " * 100,
])
def test_absurd_dates_are_refused_cleanly(text: Any) -> None:
    """Before 1970, after 9999, or beyond what datetime holds: one MalformedResponseError."""
    with malformed():
        parse.timestamp_ms(text, "t")


def test_a_trade_with_a_negative_timestamp_is_refused() -> None:
    row = {"spent": D("0.02"), "spentCurrency": "BTC", "earned": 12, "timestamp": -5}
    with malformed():
        parse.trade(row)


@given(st.integers(min_value=0, max_value=253402300799999))
def test_iso_ms_round_trips(ms: int) -> None:
    assert parse.timestamp_ms(times.iso_ms(ms), "t") == ms
    assert parse.timestamp_ms(times.iso_seconds(ms), "t") == ms - ms % 1000


def test_iso_formats() -> None:
    assert times.iso_ms(CREATED_MS + 7) == "2014-05-06T13:15:30.007Z"
    assert times.iso_seconds(CREATED_MS + 999) == "2014-05-06T13:15:30Z"


# ------------------------------------------------------------------ no foreign exception, ever

JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=5)
    | st.decimals(allow_nan=True, allow_infinity=True),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)


@given(JSONISH)
def test_any_json_value_parses_or_is_malformed(data: Any) -> None:
    for reader in (
        parse.ticker,
        parse.order_book,
        parse.trades,
        parse.balances,
        parse.order,
        parse.orders,
        parse.order_id_from_location,
    ):
        with contextlib.suppress(MalformedResponseError):
            reader(data)


FIELD_VALUES = st.sampled_from(
    [
        None,
        True,
        0,
        -1,
        1,
        "x",
        "",
        [],
        {},
        D("NaN"),
        D("-1"),
        D("1e30"),
        D("1e-999999999"),
        "open",
        "buy",
        "limit",
        "maker",
        "2014-05-06T13:15:30Z",
    ]
)


@given(st.sampled_from(sorted(ORDER_WITH_FILLS)), FIELD_VALUES)
def test_order_with_any_one_field_damaged_parses_or_is_malformed(key: str, value: Any) -> None:
    data = copy.deepcopy(ORDER_WITH_FILLS)
    data[key] = value
    with contextlib.suppress(MalformedResponseError):
        parse.order(data)


@given(st.sampled_from(["spent", "earned", "spentCurrency", "timestamp"]), FIELD_VALUES)
def test_trade_with_any_one_field_damaged_parses_or_is_malformed(key: str, value: Any) -> None:
    row: dict[str, Any] = {"spent": D("0.02"), "spentCurrency": "BTC", "earned": 12, "timestamp": 1}
    row[key] = value
    with contextlib.suppress(MalformedResponseError):
        parse.trades([row])


@pytest.mark.parametrize("drop", [True, False])
def test_limit_order_without_a_price_is_malformed(drop: bool) -> None:
    """Found by the bad-exchange-data scenario: a listed limit order with ``"price": null`` was
    taken as an order with no price, so the tick went on as if the listing were sound."""
    data = copy.deepcopy(ORDER)
    assert data["orderType"] == "limit"
    if drop:
        del data["price"]
    else:
        data["price"] = None
    with pytest.raises(MalformedResponseError, match=r"order .*\.price"):
        parse.order(data)


@pytest.mark.parametrize("date", [-1, -(10**15), 10**16, "0001-01-01T00:00:00Z", "1969-12-31T23:59:59.999Z"])
def test_a_fill_dated_outside_1970_to_9999_is_malformed(date: object) -> None:
    """Found by the bad-exchange-data scenario (1 run in 40): a fill dated ``-1`` was journaled."""
    data = copy.deepcopy(ORDER)
    data["status"] = "partial-filled"
    data["quantityFilled"] = data["quantity"]
    data["fills"] = [{"quantity": data["quantity"], "price": "400", "fee": "0.01", "feeCurrency": "USD",
                      "liquidity": "maker", "eventDate": date}]
    with pytest.raises(MalformedResponseError, match=r"fills\[0\]\.eventDate"):
        parse.order(data)


def test_the_epoch_and_year_9999_are_the_bounds() -> None:
    assert parse.timestamp_ms("1970-01-01T00:00:00Z", "t") == 0
    assert parse.timestamp_ms("9999-12-31T23:59:59.999Z", "t") == 253_402_300_799_999
