"""The v1 API over real HTTP: shapes, status codes, headers, filters and error bodies."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from botkit.client import BadRequestError, ButtercoinClient, NotFoundError, parse
from botkit.core import jsonutil
from botkit.model import OrderStatus
from botkit.sandbox import Sandbox, SandboxAccount
from tests.sandbox.helpers import ALICE, BOB, START, Signer, client_for, error_code, order, order_id

RATE_HEADERS = ("X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset")


def test_public_endpoints_on_an_empty_book(sandbox: Sandbox) -> None:
    ticker = requests.get(sandbox.base_url + "/v1/ticker", timeout=5)
    assert ticker.status_code == 200
    assert ticker.headers["Content-Type"] == "application/json"
    assert jsonutil.loads(ticker.content) == {"currency": "USD", "last": 0, "bid": 0, "ask": 0}
    book = jsonutil.loads(requests.get(sandbox.base_url + "/v1/orderbook", timeout=5).content)
    assert book == {"bid": [], "ask": [], "price_currency": "USD", "quantity_currency": "BTC"}
    trades = jsonutil.loads(requests.get(sandbox.base_url + "/v1/trades", timeout=5).content)
    assert trades == {"trades": []}


def test_order_book_is_aggregated_best_first_and_ticker_follows(
    sandbox: Sandbox, alice: ButtercoinClient, bob: ButtercoinClient
) -> None:
    for price, qty in (("399.00", "1"), ("399.50", "0.5"), ("399.50", "0.25")):
        alice.create_order(order("buy", price, qty))
    for price in ("401.00", "400.50"):
        bob.create_order(order("sell", price, "2"))
    book = alice.get_order_book()
    assert book["bid"] == [{"price": Decimal("399.5"), "quantity": Decimal("0.75")}, {"price": 399, "quantity": 1}]
    assert [level["price"] for level in book["ask"]] == [Decimal("400.5"), 401]
    parse.order_book(book)  # the client's own checks of ordering pass
    bob.create_order(order("sell", "399.50", "0.1"))
    last = Decimal("399.5")
    assert alice.get_ticker() == {"currency": "USD", "last": last, "bid": last, "ask": Decimal("400.5")}


def test_trades_are_newest_first_from_the_takers_side(alice: ButtercoinClient, bob: ButtercoinClient) -> None:
    alice.create_order(order("sell", "400.00", "1"))
    bob.create_order(order("buy", "400.00", "0.25"))
    alice.create_order(order("buy", "300.00", "1"))
    bob.create_order(order("sell", "300.00", "0.5"))
    trades = bob.get_trade_history()
    assert [(t["spentCurrency"], t["spent"], t["earned"]) for t in trades] == [
        ("BTC", Decimal("0.5"), 150),
        ("USD", 100, Decimal("0.25")),
    ]
    assert trades[0]["timestamp"] >= trades[1]["timestamp"]
    assert [t.price for t in parse.trades(trades)] == [300, 400]


def test_trades_keep_only_the_last_hundred(sandbox: Sandbox) -> None:
    for _ in range(105):
        sandbox.exchange.submit_order("alice", "sell", "limit", "400.00", "0.001")
        sandbox.exchange.submit_order("bob", "buy", "limit", "400.00", "0.001")
    assert len(requests.get(sandbox.base_url + "/v1/trades", timeout=5).json()["trades"]) == 100


def test_account_endpoints(alice: ButtercoinClient) -> None:
    assert alice.get_key() == [
        "get-account", "create-buy", "create-sell", "cancel-order",
        "deposit", "withdraw", "send-bitcoin", "cancel-transaction",
    ]
    assert alice.get_balances() == {"BTC": 10, "USD": 100000}
    address = alice.get_deposit_address()
    assert address[0] in "mn"
    assert address == alice.get_deposit_address()


def test_create_order_answers_202_with_location_after_matching(
    sandbox: Sandbox, alice: ButtercoinClient, bob: ButtercoinClient
) -> None:
    bob.create_order(order("sell", "400.00", "0.4"))
    location = alice.create_order(order("buy", "400.00", "1"))
    assert location.startswith(sandbox.base_url + "/v1/orders/")
    placed = alice.get_order_by_url(location)
    assert placed["status"] == "partial-filled"
    assert placed["quantityFilled"] == Decimal("0.4")
    assert placed["averagePrice"] == 400
    assert placed["fills"][0] == {
        "quantity": Decimal("0.4"), "price": 400, "fee": Decimal("0.32"), "feeCurrency": "USD",
        "liquidity": "taker", "eventDate": placed["fills"][0]["eventDate"],
    }
    assert placed["events"][0]["eventDate"].endswith("Z")
    assert "." in placed["events"][0]["eventDate"]
    assert [e["eventType"] for e in placed["events"]] == ["created", "fill"]
    assert set(placed) >= {
        "orderId", "side", "orderType", "status", "price", "priceCurrency", "quantity",
        "quantityCurrency", "events", "instrument", "quantityFilled", "averagePrice", "fees", "fills",
    }


def test_market_order_has_no_price(alice: ButtercoinClient, bob: ButtercoinClient) -> None:
    bob.create_order(order("buy", "400.00", "1"))
    placed = alice.get_order_by_url(alice.create_order(order("sell", None, "0.5")))
    assert "price" not in placed
    assert placed["status"] == "filled"
    assert placed["orderType"] == "market"
    spend = alice.get_order_by_url(alice.create_order(order("sell", None, "10.00", "USD_BTC")))
    assert spend["quantityCurrency"] == "USD"
    assert spend["status"] == "canceled"


def test_invalid_orders_are_400_with_a_code(alice: ButtercoinClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"side": "buy", "orderType": "market", "quantity": "1"}, "market_buy_not_supported"),
        ({"side": "buy", "orderType": "limit", "price": "400.005", "quantity": "1"}, "invalid_price"),
        ({"side": "buy", "orderType": "limit", "price": "400", "quantity": "1.000000001"}, "invalid_quantity"),
        ({"side": "buy", "orderType": "limit", "price": "400", "quantity": "-1"}, "invalid_quantity"),
        ({"side": "buy", "orderType": "limit", "price": "400", "quantity": True}, "invalid_quantity"),
        ({"orderType": "limit", "price": "400", "quantity": "1"}, "missing_side"),
        ({"side": "buy", "price": "400", "quantity": "1"}, "missing_order_type"),
        ({"side": "buy", "orderType": "limit", "price": "400"}, "missing_quantity"),
        ({"side": "buy", "orderType": "limit", "price": "4000", "quantity": "26"}, "insufficient_funds"),
        ({"side": "sell", "orderType": "limit", "price": "400", "quantity": "10.5"}, "insufficient_funds"),
        ({"instrument": "LTC_USD", "side": "sell", "orderType": "limit", "price": "4", "quantity": "1"},
         "invalid_instrument"),
    ]
    for body, code in cases:
        with pytest.raises(BadRequestError) as info:
            alice.create_order(body)
        assert (info.value.status, info.value.code) == (400, code), body
        assert str(info.value).startswith("Error from Buttercoin API. Details:")
    assert alice.get_orders() == []


def test_amounts_may_be_json_numbers(sandbox: Sandbox) -> None:
    signer = Signer(sandbox, ALICE)
    reply = signer.send("POST", "/v1/orders", b'{"side":"buy","orderType":"limit","price":400.5,"quantity":2}')
    assert reply.status_code == 202
    assert sandbox.exchange.orders("alice")[0].price == Decimal("400.5")


def test_orders_list_filters_and_newest_first(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    first = order_id(alice.create_order(order("buy", "300.00", "1")))
    second = order_id(alice.create_order(order("sell", "500.00", "1")))
    third = order_id(alice.create_order(order("buy", "301.00", "1")))
    alice.cancel_order(third)
    ids = [o["orderId"] for o in alice.get_orders()]
    assert ids == [third, second, first]
    assert [o["orderId"] for o in alice.get_orders({"status": "opened"})] == [second, first]
    assert [o["orderId"] for o in alice.get_orders({"status": "canceled"})] == [third]
    assert [o["orderId"] for o in alice.get_orders({"side": "sell"})] == [second]
    assert [o["orderId"] for o in alice.get_orders({"orderType": "market"})] == []
    assert [o["orderId"] for o in alice.get_orders({"status": "", "side": ""})] == ids
    with pytest.raises(BadRequestError):
        alice.get_orders({"status": "closed"})
    with pytest.raises(BadRequestError) as info:
        alice.get_orders({"dateMin": "yesterday"})
    assert info.value.code == "invalid_date"


def test_date_filters_are_inclusive_at_millisecond_precision() -> None:
    clock = iter([1_400_000_000_123, 1_400_000_001_000, 1_400_000_001_999, 1_400_000_002_000])
    from botkit.sandbox import Exchange

    ex = Exchange(clock=lambda: next(clock))
    ex.add_account(SandboxAccount("a", "s", dict(START)))
    stamps = []
    for price in ("1.00", "2.00", "3.00", "4.00"):
        ex.submit_order("a", "buy", "limit", price, "1")
        stamps.append(ex.orders("a")[0].created_ts)
    views = ex.order_views
    assert len(views("a", date_min=parse.timestamp_ms("2014-05-13T16:53:21Z", "d"))) == 3
    assert len(views("a", date_min=parse.timestamp_ms("2014-05-13T16:53:21.001Z", "d"))) == 2
    assert len(views("a", date_max=parse.timestamp_ms("2014-05-13T16:53:21.999Z", "d"))) == 3
    assert len(views("a", date_max=parse.timestamp_ms("2014-05-13T16:53:21Z", "d"))) == 2
    assert stamps == [1_400_000_000_123, 1_400_000_001_000, 1_400_000_001_999, 1_400_000_002_000]


def test_date_filters_over_http_with_and_without_fraction(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    placed = alice.get_order_by_url(alice.create_order(order("buy", "300.00", "1")))
    created = placed["events"][0]["eventDate"]
    assert alice.get_orders({"dateMin": created, "dateMax": created})[0]["orderId"] == placed["orderId"]
    whole = created.split(".")[0] + "Z"
    assert len(alice.get_orders({"dateMin": whole})) == 1
    assert alice.get_orders({"dateMax": "2014-05-06T13:15:30Z"}) == []


def test_cancel_answers_204_then_400_when_not_open_and_404_when_unknown(alice: ButtercoinClient) -> None:
    placed = order_id(alice.create_order(order("buy", "300.00", "1")))
    assert alice.cancel_order(placed) == {"status": 204, "message": "This operation has completed successfully"}
    with pytest.raises(BadRequestError) as info:
        alice.cancel_order(placed)
    assert info.value.code == "order_not_open"
    with pytest.raises(NotFoundError):
        alice.cancel_order("00000000-0000-0000-0000-000000000000")
    assert alice.get_order_by_id(placed)["status"] == "canceled"


def test_an_account_sees_only_its_own_orders(alice: ButtercoinClient, bob: ButtercoinClient) -> None:
    placed = order_id(alice.create_order(order("buy", "300.00", "1")))
    assert bob.get_orders() == []
    with pytest.raises(NotFoundError):
        bob.get_order_by_id(placed)
    with pytest.raises(NotFoundError):
        bob.cancel_order(placed)
    assert alice.get_order_by_id(placed)["status"] == "opened"


def test_http_errors_have_the_contract_body_and_rate_headers(sandbox: Sandbox) -> None:
    base = sandbox.base_url
    signer = Signer(sandbox, ALICE)
    cases = [
        (requests.get(base + "/v1/nothing", timeout=5), 404, "not_found"),
        (requests.get(base + "/", timeout=5), 404, "not_found"),
        (requests.put(base + "/v1/ticker", timeout=5), 405, "method_not_allowed"),
        (requests.get(base + "/v1/ticker", headers={"Accept": "text/html"}, timeout=5), 406, "not_acceptable"),
        (signer.send("POST", "/v1/orders", b"side=buy", extra={"Content-Type": "text/plain"}), 415,
         "unsupported_media_type"),
        (signer.send("POST", "/v1/orders", b"{not json"), 400, "malformed_json"),
        (signer.send("POST", "/v1/orders", b"[1, 2]"), 400, "malformed_json"),
        (signer.send("POST", "/v1/orders", b""), 400, "malformed_json"),
        (requests.get(base + "/v1/key", timeout=5), 401, "authentication_failed"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert error_code(response) == code
        assert response.headers["Content-Type"] == "application/json"
        for header in RATE_HEADERS:
            assert int(response.headers[header]) >= 0
    assert cases[2][0].headers["Allow"] == "GET"


def test_method_not_allowed_lists_the_methods_of_the_path(sandbox: Sandbox) -> None:
    response = requests.post(sandbox.base_url + "/v1/orders/some-id", json={}, timeout=5)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, DELETE"


def test_every_success_carries_rate_headers(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    for path in ("/v1/ticker", "/v1/orderbook", "/v1/trades"):
        response = requests.get(sandbox.base_url + path, timeout=5)
        assert all(h in response.headers for h in RATE_HEADERS)
    alice.create_order(order("buy", "300.00", "1"))
    assert alice.rate_limit.limit == 0  # the fixture turns rate limiting off


def test_location_follows_the_host_the_client_addressed(sandbox: Sandbox) -> None:
    url = f"http://localhost:{sandbox.port}"
    client = ButtercoinClient(*ALICE, base_url=url)
    assert client.create_order(order("buy", "300.00", "1")).startswith(url + "/v1/orders/")


def test_keep_alive_reuses_one_connection(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    for _ in range(20):
        alice.get_balances()
        alice.get_ticker()
    adapter = alice.session.get_adapter(sandbox.base_url)
    assert isinstance(adapter, HTTPAdapter)
    pools = adapter.poolmanager.pools
    (pool,) = [pools[k] for k in pools.keys()]  # noqa: SIM118 - the container refuses iteration
    assert pool.num_connections == 1
    assert pool.num_requests == 40


def test_state_stays_consistent_under_concurrent_clients() -> None:
    """Eight threads, one account each (a key's timestamps must increase, so one client per key),
    crossing orders and cancels at once: conserved, reserves exact."""
    keys = [f"t{i}" for i in range(8)]
    accounts = [SandboxAccount(k, "s", dict(START)) for k in keys]
    with Sandbox(market="off", rate_limit=0, accounts=accounts, threads=8) as sb:
        errors: list[BaseException] = []

        def trade(key: str, side: str) -> None:
            try:
                with ButtercoinClient(key, "s", base_url=sb.base_url) as client:
                    for n in range(25):
                        price = f"{400 + (n % 5) - 2}.00"
                        location = client.create_order(order(side, price, "0.1"))
                        if n % 3 == 0:
                            try:
                                client.cancel_order(order_id(location))
                            except BadRequestError as exc:
                                if exc.code != "order_not_open":
                                    raise
            except BaseException as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=trade, args=(key, "buy" if n % 2 else "sell")) for n, key in enumerate(keys)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        ex = sb.exchange
        assert ex.total("USD") + ex.fees_collected == START["USD"] * 8
        assert ex.total("BTC") == START["BTC"] * 8
        for key in keys:
            orders = ex.orders(key)
            assert len(orders) == 25
            open_sells = sum((o.remaining for o in orders if o.is_open and o.side == "sell"), Decimal(0))
            assert ex.reserved(key)["BTC"] == open_sells
        bids, asks = ex.depth()
        assert not bids or not asks or bids[0][0] < asks[0][0]
        assert any(o.status is OrderStatus.FILLED for key in keys for o in ex.orders(key))


def test_bob_fixture_is_a_second_account(bob: ButtercoinClient) -> None:
    assert bob.api_key == BOB[0]


def test_a_sandbox_is_also_a_wsgi_app() -> None:
    sb = Sandbox(market="off", accounts=[SandboxAccount(*ALICE)])
    seen: list[str] = []
    body = sb({"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/ticker", "wsgi.url_scheme": "http",
               "HTTP_HOST": "x"}, lambda status, headers: seen.append(status))
    assert seen == ["200 OK"]
    assert b"USD" in b"".join(body)


def test_client_for_helper_targets_the_sandbox(sandbox: Sandbox) -> None:
    with client_for(sandbox, ALICE) as client:
        assert client.base_url == sandbox.base_url
