"""Error mapping, malformed answers, missing credentials, no foreign exception leaking out, and
the secret kept out of every text."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
import requests

from botkit.client import (
    AuthenticationError,
    BadRequestError,
    BaseButtercoinClientError,
    Buttercoin,
    ButtercoinApiError,
    ButtercoinClient,
    InvalidEnvironmentError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from tests.client.contract_server import (
    KEY,
    SECRET,
    ContractServer,
    Reply,
    error_json,
    refused_url,
    walk_chain,
)

MAPPING = [
    (400, BadRequestError, "malformed"),
    (401, AuthenticationError, "authentication_failed"),
    (403, PermissionDeniedError, "not_permitted"),
    (404, NotFoundError, "not_found"),
    (405, BadRequestError, "method_not_allowed"),
    (406, BadRequestError, "not_acceptable"),
    (415, BadRequestError, "unsupported_media_type"),
    (409, ButtercoinApiError, "conflict"),
    (429, RateLimitedError, "rate_limited"),
    (500, ServerError, "internal_error"),
    (503, ServerError, "maintenance"),
]


@pytest.fixture
def no_retry_client(server: ContractServer) -> ButtercoinClient:
    return ButtercoinClient(
        KEY, SECRET, base_url=server.base_url, retry=RetryPolicy(attempts=1), sleep=lambda _: None
    )


@pytest.mark.parametrize(("status", "kind", "code"), MAPPING)
def test_status_maps_to_its_error_class_with_the_original_text(
    no_retry_client: ButtercoinClient, server: ContractServer, status: int, kind: type, code: str
) -> None:
    server.reply(Reply(status, error_json(status, code, f"the message for {status}")))
    with pytest.raises(ButtercoinApiError) as info:
        no_retry_client.get_balances()
    exc = info.value
    assert type(exc) is kind
    assert isinstance(exc, BaseButtercoinClientError)
    assert str(exc) == f"Error from Buttercoin API. Details:\n Message: the message for {status}"
    assert (exc.status, exc.code, exc.message) == (status, code, f"the message for {status}")
    assert exc.stacktrace_id is None
    assert exc.unique_id is None
    assert exc.api_error["errors"][0]["code"] == code


def test_error_text_carries_the_stacktrace_and_unique_ids(
    no_retry_client: ButtercoinClient, server: ContractServer
) -> None:
    server.reply(
        Reply(
            500,
            error_json(500, "internal_error", "Boom", stacktrace_id="st-123", unique_id="u-456"),
        )
    )
    with pytest.raises(ServerError) as info:
        no_retry_client.create_order({"side": "buy"})
    assert (
        str(info.value) == "Error from Buttercoin API. Details:\n Message: Boom"
        "\nStacktrace ID: st-123\nUnique ID: u-456"
    )
    assert (info.value.stacktrace_id, info.value.unique_id) == ("st-123", "u-456")


def test_only_the_first_error_is_the_message(
    no_retry_client: ButtercoinClient, server: ContractServer
) -> None:
    body = (
        '{"status":400,"errors":[{"code":"a","message":"first"},{"code":"b","message":"second"}]}'
    )
    server.reply(Reply(400, body))
    with pytest.raises(BadRequestError) as info:
        no_retry_client.get_orders()
    assert (info.value.code, info.value.message) == ("a", "first")
    assert "second" not in str(info.value)


def test_rate_limited_error_carries_the_reset_time(
    no_retry_client: ButtercoinClient, server: ContractServer
) -> None:
    server.reply(
        Reply(
            429,
            error_json(429, "rate_limited", "Slow down"),
            headers={"X-Rate-Limit-Reset": "1410806083687", "X-Rate-Limit-Remaining": "0"},
        )
    )
    with pytest.raises(RateLimitedError) as info:
        no_retry_client.get_balances()
    assert info.value.reset_ms == 1410806083687
    assert no_retry_client.rate_limit.remaining == 0  # headers of an error answer are read too


@pytest.mark.parametrize("status", [400, 404, 429, 500, 502, 503])
@pytest.mark.parametrize(
    "body",
    [
        "<html><body><h1>502 Bad Gateway</h1></body></html>",
        "",
        '{"status":500,"errors":[{"code":"x","mess',  # truncated JSON
        '{"error":"not the contract shape"}',
        '{"errors":[]}',
        '{"errors":"nope"}',
        "[1,2,3]",
        b"\xff\xfe binary",
    ],
)
def test_error_status_with_a_non_contract_body_still_maps_by_status(
    no_retry_client: ButtercoinClient, server: ContractServer, status: int, body: str | bytes
) -> None:
    """A proxy's HTML 502 or a maintenance page is still a server error (and so retryable); the
    status is the fact, the body only decorates the message."""
    server.reply(Reply(status, body))
    with pytest.raises(ButtercoinApiError) as info:
        no_retry_client.get_balances()
    expected = {400: BadRequestError, 404: NotFoundError, 429: RateLimitedError}.get(
        status, ServerError
    )
    assert type(info.value) is expected
    assert info.value.status == status
    assert str(info.value).startswith("Error from Buttercoin API. Details:\n Message: ")
    assert f"HTTP {status}" in info.value.message


@pytest.mark.parametrize(
    "body",
    [
        "<!DOCTYPE html><html><body>Welcome to nginx!</body></html>",
        "",
        '{"currency":"USD","last":404.1',  # truncated JSON
        "NaN",
        '{"last":NaN}',
        '{"last":Infinity}',
        '{"last":-Infinity}',
        "{'single': 'quotes'}",
        b"\xff\xfe\x00not utf-8",
        "1" * 5000,  # beyond Python's int-parsing digit limit
        '{"a":' + "1" * 5000 + "}",
        "[" * 100_000 + "]" * 100_000,  # nested beyond the recursion limit
    ],
)
def test_malformed_success_bodies(
    no_retry_client: ButtercoinClient, server: ContractServer, body: str | bytes
) -> None:
    server.reply(Reply(200, body))
    with pytest.raises(MalformedResponseError) as info:
        no_retry_client.get_ticker()
    assert info.value.status == 200
    assert not isinstance(info.value, ValueError | json.JSONDecodeError)
    assert info.value.__cause__ is None or not isinstance(
        info.value.__cause__, json.JSONDecodeError
    )


def test_202_without_location_is_malformed(
    no_retry_client: ButtercoinClient, server: ContractServer
) -> None:
    server.reply(Reply(202))
    with pytest.raises(MalformedResponseError, match="Location"):
        no_retry_client.create_order({"side": "buy"})


@pytest.mark.parametrize("status", [100 + 99, 203, 301, 302, 304, 307])
def test_unexpected_status_is_malformed(
    no_retry_client: ButtercoinClient, server: ContractServer, status: int
) -> None:
    server.reply(Reply(status, "{}", headers={"Location": "http://elsewhere.invalid/"}))
    with pytest.raises(MalformedResponseError) as info:
        no_retry_client.get_balances()
    assert info.value.status == status
    assert len(server.seen) == 1  # redirects are not followed


# ------------------------------------------------------------------ credentials

AUTHENTICATED: list[tuple[str, Callable[[ButtercoinClient], Any]]] = [
    ("get_key", lambda c: c.get_key()),
    ("get_balances", lambda c: c.get_balances()),
    ("get_deposit_address", lambda c: c.get_deposit_address()),
    ("get_orders", lambda c: c.get_orders({"status": "opened"})),
    ("get_order_by_id", lambda c: c.get_order_by_id("x")),
    ("get_order_by_url", lambda c: c.get_order_by_url("http://h/v1/orders/x")),
    ("get_transactions", lambda c: c.get_transactions()),
    ("get_transaction_by_id", lambda c: c.get_transaction_by_id("x")),
    ("get_transaction_by_url", lambda c: c.get_transaction_by_url("http://h/v1/transactions/x")),
    ("create_order", lambda c: c.create_order({"side": "buy"})),
    ("create_deposit", lambda c: c.create_deposit({"amount": "1"})),
    ("create_withdrawal", lambda c: c.create_withdrawal({"amount": "1"})),
    ("send_bitcoin", lambda c: c.send_bitcoin({"amount": "1"})),
    ("cancel_order", lambda c: c.cancel_order("x")),
    ("cancel_transaction", lambda c: c.cancel_transaction("x")),
]


@pytest.mark.parametrize(
    ("key", "secret"), [(None, None), (KEY, None), (None, SECRET), ("", SECRET), (KEY, "")]
)
def test_missing_credentials_raise_before_anything_is_sent(
    server: ContractServer, key: str | None, secret: str | None
) -> None:
    client = ButtercoinClient(key, secret, base_url=server.base_url)
    for name, call in AUTHENTICATED:
        with pytest.raises(InvalidEnvironmentError, match="API Key and API Secret are required"):
            call(client)
        assert server.seen == [], name
    # public calls need no credentials
    client.get_ticker()
    client.get_order_book()
    client.get_trade_history()
    assert [s.auth for s in server.seen] == ["public"] * 3


@pytest.mark.parametrize(
    "key", ["key\n", "key\r\nX-Injected: 1", " key", "key with space", "k\x00"]
)
def test_api_key_that_cannot_be_a_header_is_refused_before_sending(
    server: ContractServer, key: str
) -> None:
    client = ButtercoinClient(key, SECRET, base_url=server.base_url)
    with pytest.raises(InvalidEnvironmentError, match="API key"):
        client.get_balances()
    assert server.seen == []


# ------------------------------------------------------------------ nothing foreign leaks


def test_no_requests_or_json_exception_escapes(server: ContractServer) -> None:
    client = ButtercoinClient(
        KEY,
        SECRET,
        base_url=server.base_url,
        timeout=0.3,
        retry=RetryPolicy(attempts=2),
        sleep=lambda _: None,
    )
    server.reply(
        Reply(200, "<html>"),
        Reply(200, "{bad"),
        Reply(200, b"\xff"),
        Reply(200, "1" * 5000),
        Reply(close=True),
        Reply(close=True),
        Reply(reset=True),
        Reply(reset=True),
        Reply(200, TICKER_LONG, truncate=True),
        Reply(200, TICKER_LONG, truncate=True),
        Reply(delay=5),
        Reply(delay=5),
        Reply(502, "<html>bad gateway</html>"),
        Reply(502, "<html>"),
    )
    raised: list[BaseException] = []
    for _ in range(10):
        try:
            client.get_ticker()
        except Exception as exc:
            raised.append(exc)
    refused = ButtercoinClient(KEY, SECRET, base_url=refused_url(), retry=RetryPolicy(attempts=1))
    for call in (
        refused.get_ticker,
        refused.get_balances,
        lambda: refused.create_order({"a": "1"}),
    ):
        try:
            call()
        except Exception as exc:
            raised.append(exc)
    assert len(raised) == 12
    for exc in raised:
        assert isinstance(exc, BaseButtercoinClientError), repr(exc)
        assert not isinstance(
            exc, requests.RequestException | json.JSONDecodeError | ValueError | OSError
        )


TICKER_LONG = (
    '{"currency":"USD","last":404.12,"bid":403.98,"ask":404.22,"pad":"' + "x" * 2000 + '"}'
)


def test_secret_never_appears_in_text(
    server: ContractServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    client = ButtercoinClient(
        KEY,
        SECRET,
        base_url=server.base_url,
        timeout=0.3,
        retry=RetryPolicy(attempts=2, backoff=0.001),
        sleep=lambda _: None,
    )
    texts += [
        repr(client),
        str(client),
        repr(Buttercoin(client)),
        repr(vars(client).get("session")),
    ]
    server.reply(
        Reply(401, error_json(401, "authentication_failed", "bad signature")),
        Reply(500, error_json(500, "x", "boom", stacktrace_id="s", unique_id="u")),
        Reply(500, "<html>"),
        Reply(close=True),
        Reply(close=True),
        Reply(200, "{bad"),
        Reply(delay=5),
    )
    calls: list[Callable[[], Any]] = [
        client.get_balances,
        client.get_key,
        lambda: client.create_order({"price": "1"}),
        client.get_ticker,
        client.get_deposit_address,
        lambda: client.create_order({"a": "b"}),
        client.get_key,
        lambda: client.cancel_order("x"),
        lambda: client.get_orders({"status": "opened"}),
    ]
    for call in calls:
        try:
            texts.append(repr(call()))
        except BaseButtercoinClientError as exc:
            for link in walk_chain(exc):
                texts += [str(link), repr(link), repr(link.args)]
    refused = ButtercoinClient(KEY, SECRET, base_url=refused_url(), retry=RetryPolicy(attempts=1))
    try:
        refused.get_balances()
    except TransportError as exc:
        texts += [f"{link!s} {link!r}" for link in walk_chain(exc)]
    bad_mode: list[str] = []
    try:
        ButtercoinClient(KEY, SECRET, mode="nope")
    except InvalidEnvironmentError as exc:
        bad_mode.append(str(exc))
    texts += bad_mode
    texts.append(caplog.text)
    texts += [r.getMessage() for r in caplog.records]
    assert any("retry" in r.getMessage() for r in caplog.records)  # the session did log
    for text in texts:
        assert SECRET not in text
    assert len(texts) > 20
