"""Every call of the original 1.0.2 client: names, arguments, what goes on the wire, and the
return conventions (200 unwrapping, 201/202/204), against the contract server."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
import requests

from botkit.client import ButtercoinClient, InvalidEnvironmentError
from botkit.client.client import PRODUCTION_URL, SANDBOX_URL
from botkit.core import jsonutil
from tests.client.contract_server import (
    KEY,
    ORDER_ID,
    SECRET,
    TRANSACTION_ID,
    ContractServer,
    Reply,
    SleepRecorder,
)

CONFIRM = {"status": 201, "message": "This operation requires email confirmation"}
DONE = {"status": 204, "message": "This operation has completed successfully"}

ORIGINAL_SIGNATURES: dict[str, list[tuple[str, object]]] = {
    # name -> [(parameter, default)] of the 1.0.2 client (inspect.Parameter.empty = required)
    "get_ticker": [],
    "get_order_book": [],
    "get_trade_history": [],
    "get_key": [("timestamp", None)],
    "get_balances": [("timestamp", None)],
    "get_deposit_address": [("timestamp", None)],
    "get_orders": [("body", None), ("timestamp", None)],
    "get_order_by_id": [("order_id", inspect.Parameter.empty), ("timestamp", None)],
    "get_order_by_url": [("url", inspect.Parameter.empty), ("timestamp", None)],
    "get_transactions": [("body", None), ("timestamp", None)],
    "get_transaction_by_id": [("transaction_id", inspect.Parameter.empty), ("timestamp", None)],
    "get_transaction_by_url": [("url", inspect.Parameter.empty), ("timestamp", None)],
    "create_order": [("body", None), ("timestamp", None)],
    "create_deposit": [("body", None), ("timestamp", None)],
    "create_withdrawal": [("body", None), ("timestamp", None)],
    "send_bitcoin": [("body", None), ("timestamp", None)],
    "cancel_order": [("order_id", inspect.Parameter.empty), ("timestamp", None)],
    "cancel_transaction": [("transaction_id", inspect.Parameter.empty), ("timestamp", None)],
}


@pytest.mark.parametrize("name", sorted(ORIGINAL_SIGNATURES))
def test_every_original_call_exists_with_the_original_parameters(name: str) -> None:
    params = list(inspect.signature(getattr(ButtercoinClient, name)).parameters.values())[1:]
    assert [(p.name, p.default) for p in params] == ORIGINAL_SIGNATURES[name]
    for p in params:
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD


def test_constructor_takes_the_pinned_arguments_in_order() -> None:
    params = list(inspect.signature(ButtercoinClient).parameters)
    assert params[:6] == ["api_key", "api_secret", "mode", "base_url", "timeout", "session"]


# (call, method, path, answer, expected result)
Call = Callable[[ButtercoinClient], Any]
LOC_ORDER = "http://127.0.0.1/v1/orders/" + ORDER_ID
LOC_TXN = "http://127.0.0.1/v1/transactions/" + TRANSACTION_ID
CASES: list[tuple[str, Call, str, str, Reply, Any]] = [
    (
        "get_ticker",
        lambda c: c.get_ticker(),
        "GET",
        "/v1/ticker",
        Reply(200, '{"currency":"USD","last":404.12,"bid":403.98,"ask":404.22}'),
        {
            "currency": "USD",
            "last": Decimal("404.12"),
            "bid": Decimal("403.98"),
            "ask": Decimal("404.22"),
        },
    ),
    (
        "get_order_book",
        lambda c: c.get_order_book(),
        "GET",
        "/v1/orderbook",
        Reply(200, '{"bid":[{"price":1.5,"quantity":2}],"ask":[],"price_currency":"USD"}'),
        {"bid": [{"price": Decimal("1.5"), "quantity": 2}], "ask": [], "price_currency": "USD"},
    ),
    (
        "get_trade_history",
        lambda c: c.get_trade_history(),
        "GET",
        "/v1/trades",
        Reply(200, '{"trades":[{"spent":0.02,"timestamp":1410806083687}]}'),
        [{"spent": Decimal("0.02"), "timestamp": 1410806083687}],
    ),
    (
        "get_key",
        lambda c: c.get_key(),
        "GET",
        "/v1/key",
        Reply(200, '{"permissions":["get-account","create-buy"]}'),
        ["get-account", "create-buy"],
    ),
    (
        "get_balances",
        lambda c: c.get_balances(),
        "GET",
        "/v1/account/balances",
        Reply(200, '{"BTC":5.44423312,"USD":1413.56}'),
        {"BTC": Decimal("5.44423312"), "USD": Decimal("1413.56")},
    ),
    (
        "get_deposit_address",
        lambda c: c.get_deposit_address(),
        "GET",
        "/v1/account/depositAddress",
        Reply(200, '{"address":"1J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"}'),
        "1J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
    ),
    (
        "get_orders",
        lambda c: c.get_orders(),
        "GET",
        "/v1/orders",
        Reply(200, '{"results":[{"orderId":"a"},{"orderId":"b"}]}'),
        [{"orderId": "a"}, {"orderId": "b"}],
    ),
    (
        "get_order_by_id",
        lambda c: c.get_order_by_id(ORDER_ID),
        "GET",
        "/v1/orders/" + ORDER_ID,
        Reply(200, '{"orderId":"x","price":600.12}'),
        {"orderId": "x", "price": Decimal("600.12")},
    ),
    (
        "get_order_by_url",
        lambda c: c.get_order_by_url("https://api.buttercoin.com/v1/orders/" + ORDER_ID),
        "GET",
        "/v1/orders/" + ORDER_ID,
        Reply(200, '{"orderId":"x"}'),
        {"orderId": "x"},
    ),
    (
        "get_transactions",
        lambda c: c.get_transactions(),
        "GET",
        "/v1/transactions",
        Reply(200, '{"results":[]}'),
        [],
    ),
    (
        "get_transaction_by_id",
        lambda c: c.get_transaction_by_id(TRANSACTION_ID),
        "GET",
        "/v1/transactions/" + TRANSACTION_ID,
        Reply(200, '{"amount":500.98}'),
        {"amount": Decimal("500.98")},
    ),
    (
        "get_transaction_by_url",
        lambda c: c.get_transaction_by_url(
            "http://api.buttercoin.com/v1/transactions/" + TRANSACTION_ID
        ),
        "GET",
        "/v1/transactions/" + TRANSACTION_ID,
        Reply(200, '{"amount":1}'),
        {"amount": 1},
    ),
    (
        "create_order",
        lambda c: c.create_order(body={"side": "buy"}),
        "POST",
        "/v1/orders",
        Reply(202, headers={"Location": LOC_ORDER}),
        LOC_ORDER,
    ),
    (
        "create_deposit",
        lambda c: c.create_deposit(body={"amount": "500"}),
        "POST",
        "/v1/transactions/deposit",
        Reply(202, headers={"Location": LOC_TXN}),
        LOC_TXN,
    ),
    (
        "create_withdrawal 202",
        lambda c: c.create_withdrawal(body={"amount": "1"}),
        "POST",
        "/v1/transactions/withdraw",
        Reply(202, headers={"Location": LOC_TXN}),
        LOC_TXN,
    ),
    (
        "create_withdrawal 201",
        lambda c: c.create_withdrawal(body={"amount": "1"}),
        "POST",
        "/v1/transactions/withdraw",
        Reply(201),
        CONFIRM,
    ),
    (
        "send_bitcoin 202",
        lambda c: c.send_bitcoin(body={"amount": "0.3"}),
        "POST",
        "/v1/transactions/send",
        Reply(202, headers={"Location": LOC_TXN}),
        LOC_TXN,
    ),
    (
        "send_bitcoin 201",
        lambda c: c.send_bitcoin(body={"amount": "0.3"}),
        "POST",
        "/v1/transactions/send",
        Reply(201, '{"ignored":true}'),
        CONFIRM,
    ),
    (
        "cancel_order",
        lambda c: c.cancel_order(ORDER_ID),
        "DELETE",
        "/v1/orders/" + ORDER_ID,
        Reply(204),
        DONE,
    ),
    (
        "cancel_transaction",
        lambda c: c.cancel_transaction(TRANSACTION_ID),
        "DELETE",
        "/v1/transactions/" + TRANSACTION_ID,
        Reply(204),
        DONE,
    ),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "answer", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_call_sends_the_contract_request_and_returns_the_original_convention(
    client: ButtercoinClient,
    server: ContractServer,
    call: Call,
    method: str,
    path: str,
    answer: Reply,
    expected: Any,
) -> None:
    server.reply(answer)
    result = call(client)
    assert result == expected
    assert type(result) is type(expected)
    [seen] = server.seen
    assert (seen.method, seen.path) == (method, path)
    public = path in ("/v1/ticker", "/v1/orderbook", "/v1/trades")
    assert seen.auth == ("public" if public else "ok")
    if public:
        assert "x-buttercoin-signature" not in seen.headers
        assert "x-buttercoin-access-key" not in seen.headers


def test_every_call_against_the_default_contract_answers(
    client: ButtercoinClient, server: ContractServer
) -> None:
    """All 18 calls in a row on one client: every signature verifies, no timestamp is refused."""
    results = [
        client.get_ticker(),
        client.get_order_book(),
        client.get_trade_history(),
        client.get_key(),
        client.get_balances(),
        client.get_deposit_address(),
        client.get_orders(),
        client.get_order_by_id(ORDER_ID),
        client.get_order_by_url(f"{server.base_url}/v1/orders/{ORDER_ID}"),
        client.get_transactions(),
        client.get_transaction_by_id(TRANSACTION_ID),
        client.get_transaction_by_url(f"{server.base_url}/v1/transactions/{TRANSACTION_ID}"),
        client.create_order(
            {
                "instrument": "BTC_USD",
                "side": "buy",
                "orderType": "limit",
                "price": "600",
                "quantity": "0.2346",
            }
        ),
        client.create_deposit({"method": "wire", "currency": "USD", "amount": "500"}),
        client.create_withdrawal({"method": "check", "currency": "USD", "amount": "3020.30"}),
        client.send_bitcoin(
            {
                "currency": "BTC",
                "amount": "0.30",
                "destination": "msj42CCGruhRsFrGATiUuh25dtxYtnpbTx",
            }
        ),
        client.cancel_order(ORDER_ID),
        client.cancel_transaction(TRANSACTION_ID),
    ]
    assert len(server.seen) == 18
    assert [s.auth for s in server.seen] == ["public"] * 3 + ["ok"] * 15
    assert results[3] == ["get-account", "create-buy", "create-sell", "cancel-order"]
    assert results[7]["orderId"] == ORDER_ID
    assert results[8]["orderId"] == ORDER_ID
    assert results[12].startswith(f"{server.base_url}/v1/orders/")
    assert results[16] == DONE


def test_status_dicts_are_fresh_copies(client: ButtercoinClient, server: ContractServer) -> None:
    server.reply(Reply(204), Reply(204))
    first = client.cancel_order("a")
    first["status"] = 999
    assert client.cancel_order("b") == DONE


@pytest.mark.parametrize(
    ("call", "unwrap"),
    [
        ("get_trade_history", "trades"),
        ("get_key", "permissions"),
        ("get_deposit_address", "address"),
        ("get_orders", "results"),
        ("get_transactions", "results"),
    ],
)
@pytest.mark.parametrize("body", ['{"other":1}', "[1,2]", '"text"'])
def test_unwrapped_field_missing_is_malformed(
    client: ButtercoinClient, server: ContractServer, call: str, unwrap: str, body: str
) -> None:
    from botkit.client import MalformedResponseError

    server.reply(Reply(200, body))
    with pytest.raises(MalformedResponseError, match=unwrap):
        getattr(client, call)()


# ------------------------------------------------------------------ arguments on the wire


def test_post_body_is_sent_and_signed_exactly(
    client: ButtercoinClient, server: ContractServer
) -> None:
    body = {
        "instrument": "BTC_USD",
        "side": "buy",
        "orderType": "limit",
        "price": "600",
        "quantity": "0.2346",
    }
    client.create_order(body=body)
    [seen] = server.seen
    assert (
        seen.body == b'{"instrument":"BTC_USD","side":"buy","orderType":"limit",'
        b'"price":"600","quantity":"0.2346"}'
    )
    assert seen.headers["content-type"] == "application/json"
    assert seen.auth == "ok"


def test_post_without_body_sends_an_empty_object(
    client: ButtercoinClient, server: ContractServer
) -> None:
    client.create_deposit()
    assert server.seen[0].body == b"{}"
    assert server.seen[0].auth == "ok"


def test_post_body_with_non_ascii_text_is_signed_over_the_bytes_sent(
    client: ButtercoinClient, server: ContractServer
) -> None:
    client.send_bitcoin({"currency": "BTC", "amount": "0.3", "destination": "adresse-é-ü-€"})
    [seen] = server.seen
    assert seen.auth == "ok"
    assert jsonutil.loads(seen.body)["destination"] == "adresse-é-ü-€"


def test_decimal_amounts_in_a_body_are_written_exactly(
    client: ButtercoinClient, server: ContractServer
) -> None:
    client.create_order(
        {
            "price": Decimal("0.1"),
            "quantity": Decimal("1e-8"),
            "big": Decimal("123456789012345678901234567890.123456789"),
        }
    )
    assert server.seen[0].body == (
        b'{"price":0.1,"quantity":0.00000001,"big":123456789012345678901234567890.123456789}'
    )
    assert server.seen[0].auth == "ok"


@pytest.mark.parametrize("bad", [0.1, Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_float_or_non_finite_in_a_body_is_refused_before_sending(
    client: ButtercoinClient, server: ContractServer, bad: object
) -> None:
    with pytest.raises((TypeError, ValueError)):
        client.create_order({"price": bad})
    assert server.seen == []


def test_query_values_are_percent_encoded_except_colon(
    client: ButtercoinClient, server: ContractServer
) -> None:
    client.get_orders(
        body={
            "status": "partial-filled",
            "dateMin": "2014-05-06T13:15:30Z",
            "odd": "a b&c=d/e?f#g%h+i",
            "uni": "é",
        }
    )
    [seen] = server.seen
    assert seen.query == (
        "status=partial-filled&dateMin=2014-05-06T13:15:30Z&odd=a%20b%26c%3Dd%2Fe%3Ff%23g%25h%2Bi&uni=%C3%A9"
    )
    assert seen.auth == "ok"  # the signed URL is the URL received


def test_query_url_matches_what_the_server_received(
    client: ButtercoinClient, server: ContractServer
) -> None:
    query = {"status": "canceled", "dateMax": "2014-05-06T13:15:30Z"}
    client.get_transactions(body=query)
    assert server.seen[0].url == client.url("transactions", query)


def test_query_skips_none_and_writes_booleans_as_json_words(client: ButtercoinClient) -> None:
    url = client.url("orders", {"status": None, "a": True, "b": False, "n": 3})
    assert url.endswith("/v1/orders?a=true&b=false&n=3")
    assert client.url("orders", {}) == client.url("orders") == client.url("orders", {"x": None})
    assert "?" not in client.url("orders", {"x": None})


def test_get_orders_without_filters_sends_no_query(
    client: ButtercoinClient, server: ContractServer
) -> None:
    client.get_orders()
    client.get_orders(body={})
    client.get_transactions(None)
    assert [s.path for s in server.seen] == ["/v1/orders", "/v1/orders", "/v1/transactions"]


@pytest.mark.parametrize("order_id", ["a/b", "a b", "a?b#c", "é", "../key"])
def test_ids_are_one_path_segment(
    client: ButtercoinClient, server: ContractServer, order_id: str
) -> None:
    client.get_order_by_id(order_id)
    client.cancel_order(order_id)
    for seen in server.seen:
        assert seen.auth == "ok"
        assert seen.path.count("/") == 3  # /v1/orders/<one segment>
        assert seen.path.startswith("/v1/orders/")


@pytest.mark.parametrize(
    ("url", "expected_path"),
    [
        (
            "https://api.buttercoin.com/v1/orders/b9fa58e6-a441-48ca-afbb-14827fca2f7a",
            "/v1/orders/b9fa58e6-a441-48ca-afbb-14827fca2f7a",
        ),
        ("http://api.buttercoin.com/v1/orders/abc", "/v1/orders/abc"),
        ("orders/abc", "/v1/orders/abc"),
        ("http://x/v1/orders/a%2fb", "/v1/orders/a%2Fb"),
    ],
)
def test_get_order_by_url_uses_the_orders_tail(
    client: ButtercoinClient, server: ContractServer, url: str, expected_path: str
) -> None:
    client.get_order_by_url(url)
    assert server.seen[0].path == expected_path
    assert server.seen[0].auth == "ok"


def test_get_transaction_by_url_uses_the_transactions_tail(
    client: ButtercoinClient, server: ContractServer
) -> None:
    client.get_transaction_by_url(
        "https://api.buttercoin.com/v1/transactions/53db06ee7400007700f4c561"
    )
    assert server.seen[0].path == "/v1/transactions/53db06ee7400007700f4c561"


def test_pinned_timestamp_is_sent_and_later_ones_stay_above_it(
    client: ButtercoinClient, server: ContractServer
) -> None:
    import time

    pinned = time.time_ns() // 1_000_000 + 60_000  # a minute ahead of the wall clock
    client.get_key(timestamp=str(pinned))
    client.get_balances()  # must still be accepted: automatic timestamps move past a pinned one
    # Above the pinned one; not necessarily pinned + 1: the key's clock is shared by every
    # process on the machine (botkit.client.turn), and another test process may use this key.
    first, second = (s.timestamp for s in server.seen)
    assert first == pinned and second > pinned
    assert [s.auth for s in server.seen] == ["ok", "ok"]


def test_decimal_exactness_of_responses(client: ButtercoinClient, server: ContractServer) -> None:
    server.reply(
        Reply(
            200,
            '{"a":0.1,"b":1e-8,"c":123456789012345678901234567890.123456789012345678901234567890,'
            '"d":123456789012345678901234567890,"e":-0.0,"f":1E+2,"g":[0.30000000000000004]}',
        )
    )
    data = client.get_balances()
    assert data["a"] == Decimal("0.1")
    assert isinstance(data["a"], Decimal)
    assert data["b"] == Decimal("0.00000001")
    assert isinstance(data["b"], Decimal)
    assert str(data["c"]) == "123456789012345678901234567890.123456789012345678901234567890"
    assert data["d"] == 123456789012345678901234567890
    assert isinstance(data["d"], int)
    assert data["f"] == 100
    assert data["g"] == [Decimal("0.30000000000000004")]

    def no_float(value: Any) -> None:
        assert not isinstance(value, float)
        if isinstance(value, dict):
            for v in value.values():
                no_float(v)
        if isinstance(value, list):
            for v in value:
                no_float(v)

    no_float(data)


# ------------------------------------------------------------------ construction


def test_modes_pick_the_original_hosts() -> None:
    assert ButtercoinClient("k", "s").base_url == PRODUCTION_URL
    assert ButtercoinClient("k", "s", mode="production").base_url == PRODUCTION_URL
    assert ButtercoinClient("k", "s", mode="sandbox").base_url == SANDBOX_URL
    assert (
        ButtercoinClient("k", "s", "sandbox").url("key") == "https://sandbox.buttercoin.com/v1/key"
    )


def test_unknown_mode_is_refused_unless_a_base_url_is_given() -> None:
    with pytest.raises(InvalidEnvironmentError, match="mode"):
        ButtercoinClient("k", "s", mode="staging")
    assert (
        ButtercoinClient("k", "s", mode="staging", base_url="http://127.0.0.1:9").base_url
        == "http://127.0.0.1:9"
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:80", "http://127.0.0.1"),
        ("https://api.buttercoin.com:443", "https://api.buttercoin.com"),
        ("HTTPS://API.Buttercoin.COM/", "https://api.buttercoin.com"),
        ("http://127.0.0.1:8080/prefix/", "http://127.0.0.1:8080/prefix"),
    ],
)
def test_base_url_is_normalized_to_what_the_host_header_says(given: str, expected: str) -> None:
    """The server rebuilds the signed URL from the Host header, which omits a default port and
    is lower case: the client must sign that same URL (else every call is a 401)."""
    assert ButtercoinClient("k", "s", base_url=given).base_url == expected


def test_signed_url_matches_the_host_header_for_a_default_port() -> None:
    """What goes out on a base URL with ``:80``: the Host header and the signed URL must agree."""
    captured: list[requests.PreparedRequest] = []

    class Capture(requests.Session):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            captured.append(request)
            raise requests.exceptions.ConnectionError("not sent")

    client = ButtercoinClient(
        "k", "s", base_url="http://127.0.0.1:80", session=Capture(), sleep=lambda _: None
    )
    with pytest.raises(Exception, match="not sent"):
        client.get_key()
    assert captured
    url = captured[0].url or ""
    assert url == "http://127.0.0.1/v1/key"  # http.client sends "Host: 127.0.0.1" for port 80


def test_environment_fallbacks(monkeypatch: pytest.MonkeyPatch, server: ContractServer) -> None:
    monkeypatch.setenv("BUTTERCOIN_API_KEY", KEY)
    monkeypatch.setenv("BUTTERCOIN_API_SECRET", SECRET)
    monkeypatch.setenv("BUTTERCOIN_BASE_URL", server.base_url)
    client = ButtercoinClient()
    assert client.base_url == server.base_url
    assert client.api_key == KEY
    assert client.get_key() == ["get-account", "create-buy", "create-sell", "cancel-order"]
    assert server.seen[0].auth == "ok"


def test_environment_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUTTERCOIN_MODE", "sandbox")
    assert ButtercoinClient("k", "s").base_url == SANDBOX_URL
    monkeypatch.setenv("BUTTERCOIN_MODE", "nonsense")
    with pytest.raises(InvalidEnvironmentError):
        ButtercoinClient("k", "s")


def test_explicit_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUTTERCOIN_API_KEY", "env-key")
    monkeypatch.setenv("BUTTERCOIN_API_SECRET", "env-secret")
    monkeypatch.setenv("BUTTERCOIN_MODE", "sandbox")
    monkeypatch.setenv("BUTTERCOIN_BASE_URL", "http://127.0.0.1:1234")
    client = ButtercoinClient("arg-key", "arg-secret", base_url="http://127.0.0.1:5678")
    assert (client.api_key, client.base_url) == ("arg-key", "http://127.0.0.1:5678")
    # an explicit mode is a choice of host: an environment base URL must not override it
    assert ButtercoinClient("k", "s", mode="production").base_url == PRODUCTION_URL
    assert ButtercoinClient("k", "s", mode="sandbox").base_url == SANDBOX_URL
    # with neither argument, the environment's base URL beats its mode
    assert ButtercoinClient("k", "s").base_url == "http://127.0.0.1:1234"


# ------------------------------------------------------------------ session, keep-alive, headers


def test_injected_session_is_used(server: ContractServer) -> None:
    sent: list[str] = []

    class Counting(requests.Session):
        def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            sent.append(request.method or "")
            return super().send(request, **kwargs)

    session = Counting()
    client = ButtercoinClient(KEY, SECRET, base_url=server.base_url, session=session)
    assert client.session is session
    client.get_ticker()
    client.get_balances()
    assert sent == ["GET", "GET"]


def test_sequential_calls_reuse_one_keep_alive_connection(
    client: ButtercoinClient, server: ContractServer
) -> None:
    for _ in range(10):
        client.get_ticker()
        client.get_balances()
    client.create_order({"side": "buy"})
    client.cancel_order("x")
    assert len(server.seen) == 22
    assert {s.connection for s in server.seen} == {1}
    assert server.connections_opened == 1


def test_close_and_context_manager_close_the_session(server: ContractServer) -> None:
    closed: list[bool] = []

    class Tracking(requests.Session):
        def close(self) -> None:
            closed.append(True)
            super().close()

    with ButtercoinClient(KEY, SECRET, base_url=server.base_url, session=Tracking()) as client:
        client.get_ticker()
    assert closed == [True]


def test_rate_limit_headers_are_readable_after_each_call(
    client: ButtercoinClient, server: ContractServer
) -> None:
    assert (client.rate_limit.limit, client.rate_limit.remaining, client.rate_limit.reset_ms) == (
        None,
        None,
        None,
    )
    server.reply(
        Reply(
            200,
            "{}",
            headers={
                "X-Rate-Limit-Limit": "120",
                "X-Rate-Limit-Remaining": "7",
                "X-Rate-Limit-Reset": "1410806083687",
            },
        ),
        Reply(
            204,
            headers={
                "X-Rate-Limit-Limit": "120",
                "X-Rate-Limit-Remaining": "6",
                "X-Rate-Limit-Reset": "1410806083999",
            },
        ),
    )
    client.get_balances()
    assert (client.rate_limit.limit, client.rate_limit.remaining, client.rate_limit.reset_ms) == (
        120,
        7,
        1410806083687,
    )
    client.cancel_order("x")
    assert client.rate_limit.remaining == 6
    assert client.rate_limit.reset_ms == 1410806083999


def test_rate_limit_headers_absent_or_garbled_read_as_none(
    client: ButtercoinClient, server: ContractServer
) -> None:
    server.rate_limit_headers = False
    server.reply(Reply(200, "{}", headers={"X-Rate-Limit-Remaining": "lots"}))
    client.get_balances()
    assert (client.rate_limit.limit, client.rate_limit.remaining, client.rate_limit.reset_ms) == (
        None,
        None,
        None,
    )


def test_recorded_sleeps_fixture_is_unused_on_success(
    client: ButtercoinClient, sleeps: SleepRecorder
) -> None:
    client.get_ticker()
    assert sleeps.waits == []


def test_session_proxies_are_honoured(server: ContractServer) -> None:
    session = requests.Session()
    session.proxies = {"http": server.base_url}
    client = ButtercoinClient(KEY, SECRET, base_url="http://buttercoin.invalid", session=session)
    assert client.get_ticker()["currency"] == "USD"
    assert client.get_key()
    assert [s.url for s in server.seen] == [
        "http://buttercoin.invalid/v1/ticker",
        "http://buttercoin.invalid/v1/key",
    ]
    assert [s.auth for s in server.seen] == ["public", "ok"]


def test_environment_proxy_is_honoured(
    server: ContractServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", server.base_url)
    monkeypatch.setenv("http_proxy", server.base_url)
    client = ButtercoinClient(KEY, SECRET, base_url="http://buttercoin.invalid")
    assert client.get_balances()["USD"] == Decimal("1413.56")
    assert server.seen[0].url == "http://buttercoin.invalid/v1/account/balances"
    assert server.seen[0].auth == "ok"


@pytest.mark.parametrize(("url", "words"), [
    ("http://trader:hunter2pass@127.0.0.1:8765", "carries user info"),
    ("https://trader:hunter2pass@127.0.0.1:99999", "bad port"),
    ("http://trader:hunter2/pass@127.0.0.1:8765", "bad port"),  # a '/' in the password
    ("http://trader:hunter2pass@127.0.0.1:port", "bad port"),
    ("http://127.0.0.1:0", "port 0"),
    ("http://127.0.0.1:-1", "bad port"),
])
def test_a_bad_base_url_is_one_clear_error_that_never_echoes_its_password(url: str, words: str) -> None:
    with pytest.raises(InvalidEnvironmentError) as info:
        ButtercoinClient("k", "s", base_url=url)
    text = str(info.value)
    assert words in text
    assert "hunter2" not in text and "pass@" not in text
    if "@" in url:
        assert "***@127.0.0.1" in text
    # a traceback shows no chained exception either (urlsplit's error may quote the URL)
    assert info.value.__context__ is None or info.value.__suppress_context__
