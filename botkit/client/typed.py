"""The typed layer the engine uses: domain values in, domain values out.

:class:`ButtercoinClient` keeps the original client's dict conventions; :class:`Buttercoin` wraps
it and returns :mod:`botkit.model` types, validated by :mod:`botkit.client.parse`.
"""

from __future__ import annotations

from decimal import Decimal

from botkit.client import parse
from botkit.client.client import ButtercoinClient
from botkit.core import times
from botkit.core.jsonutil import decimal_text
from botkit.model import Balances, Order, OrderBook, OrderStatus, Side, Ticker, Trade


class Buttercoin:
    """Typed calls on top of a :class:`ButtercoinClient`."""

    def __init__(self, client: ButtercoinClient) -> None:
        self.client = client

    def __repr__(self) -> str:
        return f"Buttercoin({self.client!r})"

    def ticker(self) -> Ticker:
        return parse.ticker(self.client.get_ticker())

    def order_book(self) -> OrderBook:
        return parse.order_book(self.client.get_order_book())

    def trades(self) -> tuple[Trade, ...]:
        return parse.trades(self.client.get_trade_history())

    def balances(self) -> Balances:
        return parse.balances(self.client.get_balances())

    def permissions(self) -> list[str]:
        return list(parse.permissions(self.client.get_key()))

    def orders(
        self,
        *,
        status: OrderStatus | None = None,
        side: Side | None = None,
        since_ms: int | None = None,
    ) -> tuple[Order, ...]:
        """The account's orders, newest first.

        ``since_ms`` bounds their creation time, to the second (the filter's resolution).
        """
        query: dict[str, str] = {}
        if status is not None:
            query["status"] = status.value
        if side is not None:
            query["side"] = side.value
        if since_ms is not None:
            query["dateMin"] = times.iso_seconds(since_ms)
        return parse.orders(self.client.get_orders(query))

    def order(self, order_id: str) -> Order:
        return parse.order(self.client.get_order_by_id(order_id))

    def place_order(self, side: Side, quantity: Decimal, price: Decimal | None = None) -> str:
        """Place a BTC_USD limit order (or a market sell when ``price`` is None); returns its id.

        A market buy is sent as the contract asks: a ``USD_BTC`` market sell; then ``quantity``
        is the USD amount to spend.
        """
        body: dict[str, str] = {"instrument": "BTC_USD", "side": side.value}
        if price is None:
            body["orderType"] = "market"
            if side is Side.BUY:
                body["instrument"] = "USD_BTC"
                body["side"] = "sell"
        else:
            body["orderType"] = "limit"
            body["price"] = decimal_text(price)
        body["quantity"] = decimal_text(quantity)
        return parse.order_id_from_location(self.client.create_order(body))

    def cancel_order(self, order_id: str) -> None:
        self.client.cancel_order(order_id)
