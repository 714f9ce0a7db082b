"""Authentication over real HTTP: every way a signed request can be wrong, and permissions."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

import pytest
import requests

from botkit.client import (
    AuthenticationError,
    ButtercoinClient,
    InvalidEnvironmentError,
    PermissionDeniedError,
)
from botkit.client.signing import signature
from botkit.sandbox import Sandbox, SandboxAccount
from tests.sandbox.helpers import ALICE, LIMIT_BUY, START, Signer, client_for, error_code, order, order_id

FIVE_MINUTES = 5 * 60 * 1000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_a_correctly_signed_request_is_accepted(sandbox: Sandbox) -> None:
    response = Signer(sandbox, ALICE).send("GET", "/v1/key")
    assert response.status_code == 200
    assert "get-account" in response.json()["permissions"]


def test_no_headers_is_401_with_the_contracts_message(sandbox: Sandbox) -> None:
    response = requests.get(sandbox.base_url + "/v1/account/balances", timeout=5)
    assert response.status_code == 401
    body = response.json()
    assert body["errors"][0]["code"] == "authentication_failed"
    assert body["errors"][0]["message"].startswith(
        "The resource requires authentication, which was not supplied with the request"
    )


@pytest.mark.parametrize("missing", ["X-Buttercoin-Access-Key", "X-Buttercoin-Signature", "X-Buttercoin-Date"])
def test_each_header_is_required(sandbox: Sandbox, missing: str) -> None:
    signer = Signer(sandbox, ALICE)
    url = sandbox.base_url + "/v1/key"
    headers = signer.headers(url)
    del headers[missing]
    response = requests.get(url, headers=headers, timeout=5)
    assert response.status_code == 401
    assert missing in response.json()["errors"][0]["message"]


def test_unknown_key_is_401(sandbox: Sandbox) -> None:
    response = Signer(sandbox, ("mallory", "alice-secret")).send("GET", "/v1/key")
    assert response.status_code == 401
    assert "unknown API key" in response.text


def test_bad_signature_is_401(sandbox: Sandbox) -> None:
    response = Signer(sandbox, ("alice", "wrong-secret")).send("GET", "/v1/key")
    assert response.status_code == 401
    assert "bad signature" in response.text


def test_the_signature_covers_the_body(sandbox: Sandbox) -> None:
    signer = Signer(sandbox, ALICE)
    url = sandbox.base_url + "/v1/orders"
    signed = b'{"side":"buy","orderType":"limit","price":"1.00","quantity":"1"}'
    sent = b'{"side":"buy","orderType":"limit","price":"9.00","quantity":"1"}'
    headers = signer.headers(url, signed)
    response = requests.post(url, data=sent, headers=headers, timeout=5)
    assert response.status_code == 401
    assert sandbox.exchange.orders("alice") == []


def test_the_signature_covers_the_raw_query_as_sent(sandbox: Sandbox) -> None:
    """The contract leaves ``:`` unescaped; the server must not re-encode what it received."""
    signer = Signer(sandbox, ALICE)
    raw = sandbox.base_url + "/v1/orders?dateMin=2014-05-06T13:15:30Z"
    ok = requests.get(raw, headers=signer.headers(raw), timeout=5)
    assert ok.status_code == 200
    encoded = sandbox.base_url + "/v1/orders?dateMin=2014-05-06T13%3A15%3A30Z"
    refused = requests.get(raw, headers=signer.headers(encoded), timeout=5)
    assert refused.status_code == 401
    both_encoded = requests.get(encoded, headers=signer.headers(encoded), timeout=5)
    assert both_encoded.status_code == 200


def test_the_signature_covers_the_host_the_client_addressed(sandbox: Sandbox) -> None:
    signer = Signer(sandbox, ALICE)
    url = sandbox.base_url + "/v1/key"
    elsewhere = f"http://localhost:{sandbox.port}/v1/key"
    assert requests.get(url, headers=signer.headers(elsewhere), timeout=5).status_code == 401
    assert requests.get(elsewhere, headers=signer.headers(elsewhere), timeout=5).status_code == 200


def test_a_configured_public_url_is_what_must_be_signed() -> None:
    with Sandbox(market="off", accounts=[SandboxAccount(*ALICE)], public_url="https://sandbox.example.com") as sb:
        signer = Signer(sb, ALICE)
        local = sb.base_url + "/v1/key"
        public = "https://sandbox.example.com/v1/key"
        assert requests.get(local, headers=signer.headers(public), timeout=5).status_code == 200
        assert requests.get(local, headers=signer.headers(local), timeout=5).status_code == 401
        location = Signer(sb, ALICE).send("POST", "/v1/orders", LIMIT_BUY)
        assert location.status_code == 401  # signed over the local URL
        url = sb.base_url + "/v1/orders"
        body = b'{"side":"sell","orderType":"limit","price":"1","quantity":"1"}'
        headers = signer.headers("https://sandbox.example.com/v1/orders", body)
        response = requests.post(url, data=body, headers=headers, timeout=5)
        assert response.status_code == 400
        assert error_code(response) == "insufficient_funds"


@pytest.mark.parametrize("offset", [-FIVE_MINUTES - 5_000, FIVE_MINUTES + 5_000])
def test_stale_or_future_timestamps_are_401(sandbox: Sandbox, offset: int) -> None:
    response = Signer(sandbox, ALICE).send("GET", "/v1/key", timestamp=now_ms() + offset)
    assert response.status_code == 401
    assert "stale timestamp" in response.text


def test_timestamps_within_the_window_are_accepted(sandbox: Sandbox) -> None:
    signer = Signer(sandbox, ALICE)
    assert signer.send("GET", "/v1/key", timestamp=now_ms() - FIVE_MINUTES + 30_000).status_code == 200


def test_non_numeric_date_is_401(sandbox: Sandbox) -> None:
    signer = Signer(sandbox, ALICE)
    url = sandbox.base_url + "/v1/key"
    headers = signer.headers(url)
    headers["X-Buttercoin-Date"] = "Tue, 24 Jun 2014 10:00:00 GMT"
    assert requests.get(url, headers=headers, timeout=5).status_code == 401


def test_replayed_or_older_timestamps_are_401(sandbox: Sandbox) -> None:
    signer = Signer(sandbox, ALICE)
    ts = now_ms()
    assert signer.send("GET", "/v1/key", timestamp=ts).status_code == 200
    replay = signer.send("GET", "/v1/key", timestamp=ts)
    assert replay.status_code == 401
    assert "replayed timestamp" in replay.text
    assert signer.send("GET", "/v1/key", timestamp=ts - 1).status_code == 401
    assert signer.send("GET", "/v1/key", timestamp=ts + 1).status_code == 200


def test_a_replayed_order_is_not_placed_twice(sandbox: Sandbox) -> None:
    signer = Signer(sandbox, ALICE)
    url = sandbox.base_url + "/v1/orders"
    body = b'{"side":"buy","orderType":"limit","price":"100.00","quantity":"1"}'
    headers = signer.headers(url, body)
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 202
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 401
    assert len(sandbox.exchange.orders("alice")) == 1


def test_a_refused_signature_does_not_use_up_its_timestamp(sandbox: Sandbox) -> None:
    ts = now_ms()
    assert Signer(sandbox, ("alice", "nope")).send("GET", "/v1/key", timestamp=ts).status_code == 401
    assert Signer(sandbox, ALICE).send("GET", "/v1/key", timestamp=ts).status_code == 200


def test_timestamps_are_per_key(sandbox: Sandbox) -> None:
    ts = now_ms()
    assert Signer(sandbox, ALICE).send("GET", "/v1/key", timestamp=ts).status_code == 200
    assert Signer(sandbox, ("bob", "bob-secret")).send("GET", "/v1/key", timestamp=ts).status_code == 200


def test_the_clients_explicit_timestamp_argument_is_honoured(alice: ButtercoinClient) -> None:
    ts = now_ms() + 1000
    assert alice.get_key(timestamp=ts)
    with pytest.raises(AuthenticationError) as info:
        alice.get_balances(timestamp=ts)
    assert info.value.status == 401
    assert alice.get_balances()["USD"] == 100000  # the client's clock moved past ts


def test_missing_credentials_never_reach_the_server(sandbox: Sandbox) -> None:
    with pytest.raises(InvalidEnvironmentError):
        ButtercoinClient(base_url=sandbox.base_url).get_balances()
    assert sandbox.stats.requests == {}


def test_permissions_are_enforced_with_403(sandbox: Sandbox) -> None:
    sandbox.add_account(SandboxAccount("reader", "r", dict(START), permissions=("get-account",)))
    sandbox.add_account(SandboxAccount("seller", "s", dict(START), permissions=("create-sell", "cancel-order")))
    with client_for(sandbox, ("reader", "r")) as reader, client_for(sandbox, ("seller", "s")) as seller:
        assert reader.get_key() == ["get-account"]
        assert reader.get_balances()["BTC"] == 10
        calls: list[Callable[[], object]] = [
            lambda: reader.create_order(order("buy", "100.00", "1")),
            lambda: reader.create_order(order("sell", None, "10.00", "USD_BTC")),  # a buy of bitcoin
            lambda: reader.cancel_order("x"),
            lambda: reader.create_deposit({"method": "wire", "currency": "USD", "amount": "1"}),
            lambda: reader.create_withdrawal({"method": "check", "currency": "USD", "amount": "1"}),
            lambda: reader.send_bitcoin({"currency": "BTC", "amount": "1", "destination": "x"}),
            lambda: reader.cancel_transaction("x"),
            lambda: seller.create_order(order("buy", "100.00", "1")),
            seller.get_balances,
        ]
        for call in calls:
            with pytest.raises(PermissionDeniedError) as info:
                call()
            assert info.value.status == 403
            assert info.value.code == "permission_denied"
        placed = order_id(seller.create_order(order("sell", "900.00", "1")))
        assert seller.cancel_order(placed)["status"] == 204
        assert seller.get_key() == ["create-sell", "cancel-order"]
    assert sandbox.exchange.balances("reader") == {"USD": Decimal(100000), "BTC": Decimal(10)}


def test_sandbox_signature_matches_the_contract_vector() -> None:
    """The server verifies with the same function the client signs with, pinned by the vector."""
    assert signature("abcdefghijklmnopqrstuvwxyz123456", 1403558182457, "https://api.buttercoin.com/v1/key") == (
        "amakcIy40XLCUaSz6urhl+687F2pIexux+TJ2bl+66I="
    )
