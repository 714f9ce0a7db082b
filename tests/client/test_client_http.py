"""The client end to end over real HTTP against the sandbox: every call of the 1.0.2 surface, the
typed layer, and each branch of the error tree produced by a real server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from botkit.client import (
    AuthenticationError,
    BadRequestError,
    Buttercoin,
    ButtercoinApiError,
    ButtercoinClient,
    InvalidEnvironmentError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from botkit.model import Liquidity, OrderStatus, OrderType, Side
from botkit.sandbox import Sandbox, SandboxAccount

KEY, SECRET = "http-key", "http-secret"
OTHER = ("other-key", "other-secret")
BALANCES = {"USD": Decimal("50000"), "BTC": Decimal("5")}
NO_RETRY = RetryPolicy(attempts=1)
TESTNET = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"

COMPLETED = {"status": 204, "message": "This operation has completed successfully"}
CONFIRMATION = {"status": 201, "message": "This operation requires email confirmation"}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    accounts = [
        SandboxAccount(KEY, SECRET, dict(BALANCES)),
        SandboxAccount(*OTHER, balances=dict(BALANCES), confirm_withdrawals=True),
        SandboxAccount("limited", "l", dict(BALANCES), permissions=("get-account",)),
    ]
    with Sandbox(market="off", rate_limit=0, accounts=accounts, deposit_delay=0, withdraw_delay=0) as sb:
        yield sb


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[ButtercoinClient]:
    with ButtercoinClient(KEY, SECRET, base_url=sandbox.base_url, retry=NO_RETRY) as client:
        yield client


def limit(side: str, price: str, quantity: str) -> dict[str, str]:
    return {"instrument": "BTC_USD", "side": side, "orderType": "limit", "price": price, "quantity": quantity}


def counterparty(sandbox: Sandbox, side: str, price: str, quantity: str) -> str:
    """A resting order of another account, placed in-process, for the client's orders to hit."""
    return sandbox.exchange.submit_order(OTHER[0], side, "limit", price, quantity)


# ---------------------------------------------------------------------- public data


def test_get_ticker(sandbox: Sandbox, api: ButtercoinClient) -> None:
    counterparty(sandbox, "buy", "399.98", "1")
    counterparty(sandbox, "sell", "404.22", "1")
    assert api.get_ticker() == {"currency": "USD", "last": 0, "bid": Decimal("399.98"), "ask": Decimal("404.22")}


def test_get_order_book(sandbox: Sandbox, api: ButtercoinClient) -> None:
    counterparty(sandbox, "buy", "399.00", "1.5")
    counterparty(sandbox, "sell", "401.00", "0.25")
    assert api.get_order_book() == {
        "bid": [{"price": 399, "quantity": Decimal("1.5")}],
        "ask": [{"price": 401, "quantity": Decimal("0.25")}],
        "price_currency": "USD",
        "quantity_currency": "BTC",
    }


def test_get_trade_history(sandbox: Sandbox, api: ButtercoinClient) -> None:
    counterparty(sandbox, "sell", "600.00", "0.02")
    api.create_order(limit("buy", "600.00", "0.02"))
    (trade,) = api.get_trade_history()
    assert trade["spent"] == 12
    assert trade["spentCurrency"] == "USD"
    assert trade["earned"] == Decimal("0.02")
    assert trade["earnedCurrency"] == "BTC"
    assert isinstance(trade["timestamp"], int)


# ---------------------------------------------------------------------- account


def test_get_key_balances_and_deposit_address(api: ButtercoinClient) -> None:
    assert "create-buy" in api.get_key()
    assert api.get_balances() == {"BTC": 5, "USD": 50000}
    assert api.get_deposit_address()[0] in "mn"


# ---------------------------------------------------------------------- orders


def test_create_get_list_and_cancel_orders(sandbox: Sandbox, api: ButtercoinClient) -> None:
    location = api.create_order(limit("buy", "390.00", "0.5"))
    assert location.startswith(f"{sandbox.base_url}/v1/orders/")
    order_id = location.rsplit("/", 1)[1]
    by_url = api.get_order_by_url(location)
    by_id = api.get_order_by_id(order_id)
    assert by_url == by_id
    assert by_id["status"] == "opened"
    assert by_id["price"] == 390
    assert api.get_orders() == [by_id]
    assert api.get_orders({"status": "opened", "side": "buy", "orderType": "limit"}) == [by_id]
    assert api.get_orders({"status": "filled"}) == []
    assert api.cancel_order(order_id) == COMPLETED
    assert api.get_order_by_id(order_id)["status"] == "canceled"
    assert api.get_order_by_url("http://api.buttercoin.com/v1/orders/" + order_id)["orderId"] == order_id


def test_a_fill_is_visible_right_after_the_202(sandbox: Sandbox, api: ButtercoinClient) -> None:
    counterparty(sandbox, "sell", "400.00", "0.3")
    placed = api.get_order_by_url(api.create_order(limit("buy", "400.00", "0.5")))
    assert placed["status"] == "partial-filled"
    assert placed["quantityFilled"] == Decimal("0.3")
    assert placed["fills"][0]["liquidity"] == "taker"
    assert placed["fees"] == Decimal("0.24")


def test_create_order_with_explicit_timestamps(api: ButtercoinClient) -> None:
    ts = time.time_ns() // 1_000_000 + 50
    assert api.create_order(limit("buy", "1.00", "1"), timestamp=ts)
    with pytest.raises(AuthenticationError):
        api.create_order(limit("buy", "1.00", "1"), timestamp=ts)
    assert len(api.get_orders()) == 1


# ---------------------------------------------------------------------- transactions


def test_deposit_withdraw_send_and_read_transactions(api: ButtercoinClient) -> None:
    deposit = api.create_deposit({"method": "wire", "currency": "USD", "amount": "500.98"})
    withdrawal = api.create_withdrawal({"method": "us_ach", "currency": "USD", "amount": "100"})
    send = api.send_bitcoin({"currency": "BTC", "amount": "0.5", "destination": TESTNET})
    for location in (deposit, withdrawal, send):
        assert "/v1/transactions/" in location
    tx = api.get_transaction_by_url(deposit)
    assert tx["status"] == "funded"
    assert tx["amount"] == Decimal("500.98")
    assert api.get_transaction_by_id(tx["transactionId"]) == tx
    assert [t["transactionType"] for t in api.get_transactions()] == ["withdrawal", "withdrawal", "deposit"]
    assert len(api.get_transactions({"transactionType": "deposit", "status": "funded"})) == 1
    assert api.get_balances() == {"BTC": Decimal("4.5"), "USD": Decimal("50400.98")}


def test_confirmation_and_cancel_of_transactions(sandbox: Sandbox) -> None:
    with ButtercoinClient(*OTHER, base_url=sandbox.base_url, retry=NO_RETRY) as other:
        assert other.create_withdrawal({"method": "check", "currency": "USD", "amount": "10"}) == CONFIRMATION
        assert other.send_bitcoin({"currency": "BTC", "amount": "1", "destination": TESTNET}) == CONFIRMATION
        pending = other.get_transactions({"status": "pending"})
        assert len(pending) == 2
        for tx in pending:
            assert other.cancel_transaction(tx["transactionId"]) == COMPLETED
        assert other.get_transactions({"status": "canceled"}) != []
        with pytest.raises(BadRequestError):
            other.cancel_transaction(pending[0]["transactionId"])


# ---------------------------------------------------------------------- the error tree


def test_errors_from_a_real_server(sandbox: Sandbox, api: ButtercoinClient) -> None:
    with pytest.raises(NotFoundError) as not_found:
        api.get_order_by_id("nope")
    assert not_found.value.status == 404
    assert str(not_found.value).startswith("Error from Buttercoin API. Details:\n Message: ")
    with pytest.raises(BadRequestError) as bad:
        api.create_order({"instrument": "BTC_USD", "side": "buy", "orderType": "market", "quantity": "1"})
    assert bad.value.code == "market_buy_not_supported"
    wrong = ButtercoinClient(KEY, "wrong", base_url=sandbox.base_url, retry=NO_RETRY)
    with pytest.raises(AuthenticationError):
        wrong.get_balances()
    limited = ButtercoinClient("limited", "l", base_url=sandbox.base_url, retry=NO_RETRY)
    with pytest.raises(PermissionDeniedError):
        limited.create_order(limit("buy", "1.00", "1"))
    with pytest.raises(InvalidEnvironmentError):
        ButtercoinClient(base_url=sandbox.base_url).get_key()
    sandbox.faults.queue("rate_limited")
    with pytest.raises(RateLimitedError) as limited_error:
        api.get_key()
    assert limited_error.value.reset_ms is not None
    sandbox.faults.queue("error503")
    with pytest.raises(ServerError) as unavailable:
        api.get_key()
    assert unavailable.value.status == 503
    assert isinstance(unavailable.value, ButtercoinApiError)


def test_accept_then_drop_is_a_transport_error_that_may_have_reached_the_server(
    sandbox: Sandbox, api: ButtercoinClient
) -> None:
    sandbox.faults.queue("accept_then_drop", method="POST", path="/v1/orders", count=1)
    with pytest.raises(TransportError) as info:
        api.create_order(limit("buy", "100.00", "1"))
    assert info.value.may_have_reached_server is True
    assert info.value.method == "POST"
    assert len(sandbox.exchange.orders(KEY)) == 1
    assert sandbox.stats.requests[("POST", "/v1/orders")] == 1


def test_a_stopped_server_is_a_transport_error_that_never_arrived() -> None:
    with Sandbox(market="off", accounts=[SandboxAccount(KEY, SECRET)]) as sb:
        url = sb.base_url
    with pytest.raises(TransportError) as info:
        ButtercoinClient(KEY, SECRET, base_url=url, retry=NO_RETRY).get_key()
    assert info.value.may_have_reached_server is False


def test_reads_retry_through_a_reset_connection(sandbox: Sandbox) -> None:
    sandbox.faults.queue("reset", method="GET", path="/v1/account/balances")
    slept: list[float] = []
    with ButtercoinClient(KEY, SECRET, base_url=sandbox.base_url, sleep=slept.append) as client:
        assert client.get_balances()["BTC"] == 5
    assert len(slept) == 1


# ---------------------------------------------------------------------- the typed layer


def test_typed_layer_end_to_end(sandbox: Sandbox, api: ButtercoinClient) -> None:
    typed = Buttercoin(api)
    counterparty(sandbox, "buy", "399.00", "2")
    counterparty(sandbox, "sell", "401.00", "2")
    assert typed.permissions()[0] == "get-account"
    assert typed.ticker().bid == Decimal("399")
    assert typed.order_book().best_ask == Decimal("401")
    assert typed.balances().usd == Decimal(50000)

    resting = typed.place_order(Side.BUY, Decimal("0.1"), Decimal("350.00"))
    sold = typed.place_order(Side.SELL, Decimal("0.5"))  # market sell
    bought = typed.place_order(Side.BUY, Decimal("100.00"))  # market buy: a USD_BTC sell of 100 USD

    sale = typed.order(sold)
    assert sale.order_type is OrderType.MARKET
    assert sale.status is OrderStatus.FILLED
    assert sale.fills[0].liquidity is Liquidity.TAKER
    assert sale.fills[0].price == Decimal("399")
    purchase = typed.order(bought)
    assert purchase.instrument == "USD_BTC"
    assert purchase.filled <= Decimal("100")
    assert purchase.fills[0].price == Decimal("401")
    assert sum(f.price * f.quantity + f.fee for f in purchase.fills) == purchase.filled

    assert [o.order_id for o in typed.orders()] == [bought, sold, resting]
    assert [o.order_id for o in typed.orders(status=OrderStatus.OPENED)] == [resting]
    assert [o.order_id for o in typed.orders(side=Side.SELL)] == [bought, sold]
    created = typed.order(resting).created_ts
    assert resting in [o.order_id for o in typed.orders(since_ms=created)]
    typed.cancel_order(resting)
    assert typed.order(resting).status is OrderStatus.CANCELED
    assert [t.price for t in typed.trades()] == [Decimal("401"), Decimal("399")]


def test_the_typed_orders_equal_the_exchanges_own(sandbox: Sandbox, api: ButtercoinClient) -> None:
    counterparty(sandbox, "sell", "400.00", "0.2")
    counterparty(sandbox, "sell", "400.50", "0.2")
    typed = Buttercoin(api)
    order_id = typed.place_order(Side.BUY, Decimal("0.5"), Decimal("401.00"))
    assert typed.order(order_id) == sandbox.exchange.order(KEY, order_id)


def test_one_connection_is_kept_alive(sandbox: Sandbox, api: ButtercoinClient) -> None:
    for _ in range(10):
        api.get_key()
    response = requests.get(sandbox.base_url + "/v1/ticker", timeout=5)
    assert response.headers.get("Connection", "").lower() != "close"
