"""The typed layer ``Buttercoin``: domain values out, exact request bodies in."""

from __future__ import annotations

from decimal import Decimal

import pytest

from botkit.client import Buttercoin, ButtercoinClient, MalformedResponseError, NotFoundError
from botkit.core import jsonutil
from botkit.model import BookLevel, OrderStatus, Side, Ticker
from tests.client.contract_server import ORDER_ID, ContractServer, Reply, error_json, order_json

D = Decimal


@pytest.fixture
def bc(client: ButtercoinClient) -> Buttercoin:
    return Buttercoin(client)


def test_market_data(bc: Buttercoin, server: ContractServer) -> None:
    assert bc.ticker() == Ticker(D("404.12"), D("403.98"), D("404.22"), "USD")
    book = bc.order_book()
    assert book.bids[0] == BookLevel(D("403.98"), D("1.5"))
    assert book.asks[-1] == BookLevel(D(405), D("0.00000001"))
    trades = bc.trades()
    assert [(t.price, t.quantity, t.taker_side) for t in trades] == [
        (D(600), D("0.02"), Side.SELL),
        (D(500), D("0.025"), Side.BUY),
    ]
    assert [s.auth for s in server.seen] == ["public"] * 3


def test_account(bc: Buttercoin) -> None:
    assert bc.balances().btc == D("5.44423312")
    assert bc.balances().usd == D("1413.56")
    assert bc.permissions() == ["get-account", "create-buy", "create-sell", "cancel-order"]


def test_permissions_of_the_wrong_shape_are_malformed(
    bc: Buttercoin, server: ContractServer
) -> None:
    server.reply(Reply(200, '{"permissions":"get-account"}'), Reply(200, '{"permissions":[1,2]}'))
    with pytest.raises(MalformedResponseError):
        bc.permissions()
    with pytest.raises(MalformedResponseError):
        bc.permissions()


def test_orders_with_filters(bc: Buttercoin, server: ContractServer) -> None:
    orders = bc.orders(status=OrderStatus.PARTIAL, side=Side.SELL, since_ms=1399382130999)
    assert [o.order_id for o in orders] == [ORDER_ID]
    assert server.seen[0].query == "status=partial-filled&side=sell&dateMin=2014-05-06T13:15:30Z"
    assert server.seen[0].auth == "ok"
    bc.orders()
    assert server.seen[1].query == ""


def test_one_order(bc: Buttercoin, server: ContractServer) -> None:
    o = bc.order("abc-1")
    assert (o.order_id, o.price, o.quantity, o.status) == (
        "abc-1",
        D("600.12"),
        D("1.234567"),
        OrderStatus.OPENED,
    )
    assert server.seen[0].path == "/v1/orders/abc-1"


@pytest.mark.parametrize(
    ("side", "quantity", "price", "body"),
    [
        (
            Side.BUY,
            D("0.2346"),
            D("600.10"),
            {
                "instrument": "BTC_USD",
                "side": "buy",
                "orderType": "limit",
                "price": "600.1",
                "quantity": "0.2346",
            },
        ),
        (
            Side.SELL,
            D("1E-8"),
            D("1E+3"),
            {
                "instrument": "BTC_USD",
                "side": "sell",
                "orderType": "limit",
                "price": "1000",
                "quantity": "0.00000001",
            },
        ),
        (
            Side.SELL,
            D("0.5"),
            None,
            {"instrument": "BTC_USD", "side": "sell", "orderType": "market", "quantity": "0.5"},
        ),
        (
            Side.BUY,
            D("500.00"),
            None,
            {"instrument": "USD_BTC", "side": "sell", "orderType": "market", "quantity": "500"},
        ),
    ],
)
def test_place_order_sends_exact_strings_and_returns_the_id(
    bc: Buttercoin,
    server: ContractServer,
    side: Side,
    quantity: Decimal,
    price: Decimal | None,
    body: dict[str, str],
) -> None:
    server.reply(Reply(202, headers={"Location": f"{server.base_url}/v1/orders/new-id-7"}))
    assert bc.place_order(side, quantity, price) == "new-id-7"
    [seen] = server.seen
    assert (seen.method, seen.path, seen.auth) == ("POST", "/v1/orders", "ok")
    assert jsonutil.loads(seen.body) == body


def test_place_order_without_a_location_is_malformed(
    bc: Buttercoin, server: ContractServer
) -> None:
    server.reply(Reply(200, order_json()))
    with pytest.raises(MalformedResponseError):
        bc.place_order(Side.BUY, D(1), D(1))


def test_cancel(bc: Buttercoin, server: ContractServer) -> None:
    assert bc.cancel_order("abc") is None
    assert (server.seen[0].method, server.seen[0].path) == ("DELETE", "/v1/orders/abc")
    server.reply(Reply(404, error_json(404, "not_found", "No such order")))
    with pytest.raises(NotFoundError):
        bc.cancel_order("gone")


def test_malformed_market_data_is_refused(bc: Buttercoin, server: ContractServer) -> None:
    server.reply(Reply(200, '{"bid":[{"price":5,"quantity":1}],"ask":[{"price":4,"quantity":1}]}'))
    with pytest.raises(MalformedResponseError, match="crossed"):
        bc.order_book()


def test_repr_shows_no_secret(bc: Buttercoin) -> None:
    from tests.client.contract_server import SECRET

    assert SECRET not in repr(bc)
