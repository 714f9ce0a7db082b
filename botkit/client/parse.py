"""Wire JSON → domain types, with every check a trading decision depends on.

A field that is missing, of the wrong type, not finite, negative where it cannot be, or a book
that is out of order, raises :class:`MalformedResponseError` naming the field: the engine then
skips the tick instead of trading on bad data.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from botkit.client.errors import MalformedResponseError
from botkit.core.numbers import NumberError, exact_decimal
from botkit.core.times import date_ms
from botkit.model import (
    ZERO,
    Balances,
    BookLevel,
    Fill,
    Liquidity,
    Order,
    OrderBook,
    OrderStatus,
    OrderType,
    Side,
    Ticker,
    Trade,
)

MAX_AMOUNT = Decimal("1e15")
"""Larger numbers than this are not a price or a quantity but corrupt data."""


def _bad(what: str, value: Any) -> MalformedResponseError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return MalformedResponseError(f"malformed exchange data: {what} = {shown}")


def field(obj: Any, name: str, where: str) -> Any:
    if not isinstance(obj, dict):
        raise _bad(where, obj)
    if name not in obj:
        raise MalformedResponseError(f"malformed exchange data: {where} has no {name!r}")
    return obj[name]


def amount(value: Any, what: str, *, positive: bool = False) -> Decimal:
    """An exact, finite, non-negative (or positive) decimal no larger than :data:`MAX_AMOUNT`,
    bounded by the one gate for external numbers before any arithmetic."""
    try:
        number = exact_decimal(value, what)
    except NumberError:
        raise _bad(what, value) from None
    if number < 0 or number > MAX_AMOUNT or (positive and number == 0):
        raise _bad(what, value)
    return number


def timestamp_ms(text: Any, what: str) -> int:
    """ISO-8601 UTC (``2014-05-06T13:15:30Z``, milliseconds optional) or epoch milliseconds →
    epoch milliseconds, between 1970 and the end of year 9999 (:func:`botkit.core.times.date_ms`)."""
    ms = date_ms(text)
    if ms is None:
        raise _bad(what, text)
    return ms


def ticker(data: Any) -> Ticker:
    """The ticker; an empty side shows as 0, but a bid at or above the ask is corrupt data."""
    result = Ticker(
        last=amount(field(data, "last", "ticker"), "ticker.last"),
        bid=amount(field(data, "bid", "ticker"), "ticker.bid"),
        ask=amount(field(data, "ask", "ticker"), "ticker.ask"),
        currency=str(data.get("currency", "USD")),
    )
    if result.bid > 0 and result.ask > 0 and result.bid >= result.ask:
        raise MalformedResponseError(
            f"malformed exchange data: ticker is crossed (bid {result.bid} >= ask {result.ask})"
        )
    return result


def _levels(data: Any, side: str) -> tuple[BookLevel, ...]:
    rows = field(data, side, "orderbook")
    if not isinstance(rows, list):
        raise _bad(f"orderbook.{side}", rows)
    levels = tuple(
        BookLevel(
            amount(
                field(row, "price", f"orderbook.{side}[{i}]"),
                f"orderbook.{side}[{i}].price",
                positive=True,
            ),
            amount(
                field(row, "quantity", f"orderbook.{side}[{i}]"),
                f"orderbook.{side}[{i}].quantity",
                positive=True,
            ),
        )
        for i, row in enumerate(rows)
    )
    descending = side == "bid"
    for prev, cur in itertools.pairwise(levels):
        if (cur.price >= prev.price) if descending else (cur.price <= prev.price):
            raise MalformedResponseError(
                f"malformed exchange data: orderbook.{side} is not sorted best first "
                f"({prev.price} then {cur.price})"
            )
    return levels


def order_book(data: Any) -> OrderBook:
    book = OrderBook(bids=_levels(data, "bid"), asks=_levels(data, "ask"))
    if book.is_crossed:
        raise MalformedResponseError(
            f"malformed exchange data: orderbook is a crossed book "
            f"(best bid {book.best_bid} >= best ask {book.best_ask})"
        )
    return book


def trade(data: Any, index: int = 0) -> Trade:
    where = f"trades[{index}]"
    spent = amount(field(data, "spent", where), f"{where}.spent", positive=True)
    earned = amount(field(data, "earned", where), f"{where}.earned", positive=True)
    spent_currency = field(data, "spentCurrency", where)
    raw_ts = field(data, "timestamp", where)
    if isinstance(raw_ts, bool) or not isinstance(raw_ts, int):
        raise _bad(f"{where}.timestamp", raw_ts)
    ts = timestamp_ms(raw_ts, f"{where}.timestamp")
    if spent_currency == "BTC":  # the taker sold bitcoin
        usd, btc, taker = earned, spent, Side.SELL
    elif spent_currency == "USD":
        usd, btc, taker = spent, earned, Side.BUY
    else:
        raise _bad(f"{where}.spentCurrency", spent_currency)
    try:
        price = usd / btc
    except ArithmeticError:  # absurd exponents: decimal.Overflow and friends
        raise _bad(f"{where}.price", f"{usd}/{btc}") from None
    return Trade(ts, amount(price, f"{where}.price", positive=True), btc, taker)


def trades(data: Any) -> tuple[Trade, ...]:
    if not isinstance(data, list):
        raise _bad("trades", data)
    return tuple(trade(row, i) for i, row in enumerate(data))


def permissions(data: Any) -> tuple[str, ...]:
    """The key's permission words (``get-account``, ``create-buy``...)."""
    if not isinstance(data, list) or not all(isinstance(p, str) for p in data):
        raise _bad("key.permissions", data)
    return tuple(data)


def balances(data: Any) -> Balances:
    if not isinstance(data, dict):
        raise _bad("balances", data)
    return Balances({str(k): amount(v, f"balances.{k}") for k, v in data.items()})


def _enum(kind: Any, value: Any, what: str) -> Any:
    try:
        return kind.parse(value) if hasattr(kind, "parse") else kind(value)
    except (ValueError, TypeError):
        raise _bad(what, value) from None


def order(data: Any) -> Order:
    """Parse an order object, including botkit's ``fills`` and ``quantityFilled`` extensions."""
    order_id = field(data, "orderId", "order")
    if not isinstance(order_id, str) or not order_id:
        raise _bad("order.orderId", order_id)
    where = f"order {order_id}"
    side = _enum(Side, field(data, "side", where), f"{where}.side")
    order_type = _enum(OrderType, field(data, "orderType", where), f"{where}.orderType")
    status = _enum(OrderStatus, field(data, "status", where), f"{where}.status")
    raw_price = data.get("price")
    if raw_price is None and order_type is OrderType.LIMIT:
        # A limit order without its price cannot be priced, journaled or checked for a fill.
        raise _bad(f"{where}.price", raw_price)
    price = None if raw_price is None else amount(raw_price, f"{where}.price", positive=True)
    quantity = amount(field(data, "quantity", where), f"{where}.quantity", positive=True)
    events = data.get("events")
    if events is None:
        events = []
    if not isinstance(events, list):
        raise _bad(f"{where}.events", events)
    created_ts = 0
    for event in events:
        if isinstance(event, dict) and event.get("eventType") == "created":
            created_ts = timestamp_ms(event.get("eventDate"), f"{where}.events.created")
            break
    raw_fills = data.get("fills", [])
    if raw_fills is None:
        raw_fills = []
    if not isinstance(raw_fills, list):
        raise _bad(f"{where}.fills", raw_fills)
    fills = tuple(_fill(order_id, row, seq, where) for seq, row in enumerate(raw_fills))
    filled = (
        amount(data["quantityFilled"], f"{where}.quantityFilled")
        if "quantityFilled" in data
        else sum((f.quantity for f in fills), ZERO)
    )
    if filled > quantity:
        raise _bad(f"{where}.quantityFilled", filled)
    if fills and str(data.get("instrument", "BTC_USD")) == "BTC_USD":
        # Fills and the filled quantity are both in BTC here: they must tell the same story, or
        # a fill listed twice would be journaled twice (a USD_BTC order's filled quantity is USD).
        in_fills = sum((f.quantity for f in fills), ZERO)
        if in_fills != filled:
            raise MalformedResponseError(
                f"malformed exchange data: {where}.fills add up to {in_fills} BTC "
                f"but quantityFilled is {filled}"
            )
    average = data.get("averagePrice")
    return Order(
        order_id=order_id,
        side=side,
        order_type=order_type,
        status=status,
        price=price,
        quantity=quantity,
        filled=filled,
        created_ts=created_ts,
        average_price=None if average is None else amount(average, f"{where}.averagePrice"),
        fees=amount(data.get("fees", 0), f"{where}.fees"),
        fills=fills,
        instrument=str(data.get("instrument", "BTC_USD")),
    )


def _fill(order_id: str, row: Any, seq: int, where: str) -> Fill:
    at = f"{where}.fills[{seq}]"
    liquidity = _enum(Liquidity, field(row, "liquidity", at), f"{at}.liquidity")
    return Fill(
        order_id=order_id,
        price=amount(field(row, "price", at), f"{at}.price", positive=True),
        quantity=amount(field(row, "quantity", at), f"{at}.quantity", positive=True),
        fee=amount(field(row, "fee", at), f"{at}.fee"),
        liquidity=liquidity,
        ts=timestamp_ms(field(row, "eventDate", at), f"{at}.eventDate"),
        seq=seq,
        fee_currency=str(row.get("feeCurrency", "USD")),
    )


def orders(data: Any) -> tuple[Order, ...]:
    if not isinstance(data, list):
        raise _bad("orders.results", data)
    return tuple(order(row) for row in data)


def order_id_from_location(location: Any) -> str:
    if not isinstance(location, str) or "/orders/" not in location:
        raise _bad("Location", location)
    order_id = location.rsplit("/orders/", 1)[1].strip("/")
    if not order_id:
        raise _bad("Location", location)
    return order_id
