"""Fault injection with the real client: dead connections, 5xx, 429 bursts, latency, the admin
endpoint, and the counters that prove what was sent."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from botkit.client import (
    Buttercoin,
    ButtercoinClient,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from botkit.model import OrderStatus, Side
from botkit.sandbox import Faults, Sandbox, SandboxAccount
from tests.sandbox.helpers import ALICE, START, client_for, order, order_id

BUY = order("buy", "400.00", "1")


def test_accept_then_drop_places_the_order_but_the_client_cannot_know(
    sandbox: Sandbox, alice: ButtercoinClient
) -> None:
    sandbox.exchange.submit_order("bob", "sell", "limit", "400.00", "0.4")
    sandbox.faults.queue("accept_then_drop", method="POST", path="/v1/orders", count=1)
    with pytest.raises(TransportError) as info:
        alice.create_order(BUY)
    assert info.value.may_have_reached_server is True
    assert isinstance(info.value.__cause__, requests.exceptions.ConnectionError)
    (placed,) = sandbox.exchange.orders("alice")
    assert placed.status is OrderStatus.PARTIAL
    assert placed.filled == Decimal("0.4")
    assert sandbox.stats.requests[("POST", "/v1/orders")] == 1  # sent exactly once, never retried
    assert sandbox.stats.faults["accept_then_drop"] == 1
    assert alice.get_orders()[0]["orderId"] == placed.order_id  # the client finds it by reading


def test_accept_then_drop_on_cancel_cancels(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    placed = order_id(alice.create_order(BUY))
    sandbox.faults.queue("accept_then_drop", method="DELETE", path="/v1/orders/{id}")
    with pytest.raises(TransportError) as info:
        Buttercoin(alice).cancel_order(placed)
    assert info.value.may_have_reached_server
    assert sandbox.exchange.orders("alice")[0].status is OrderStatus.CANCELED


def test_the_typed_client_surfaces_the_unknown_outcome(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    sandbox.faults.queue("accept_then_drop", path="/v1/orders")
    with pytest.raises(TransportError):
        Buttercoin(alice).place_order(Side.SELL, Decimal("0.1"), Decimal("900"))
    assert len(sandbox.exchange.orders("alice")) == 1


def test_drop_before_acts_on_nothing(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    sandbox.faults.queue("drop_before", method="POST", path="/v1/orders")
    with pytest.raises(TransportError) as info:
        alice.create_order(BUY)
    assert info.value.may_have_reached_server  # the client cannot tell the two drops apart
    assert sandbox.exchange.orders("alice") == []
    alice.create_order(BUY)  # the connection pool recovers
    assert len(sandbox.exchange.orders("alice")) == 1


def test_reset_is_a_connection_reset(sandbox: Sandbox) -> None:
    sandbox.faults.queue("reset", method="GET", path="/v1/ticker")
    with pytest.raises(requests.exceptions.ConnectionError) as info:
        requests.get(sandbox.base_url + "/v1/ticker", timeout=5)
    assert "reset" in str(info.value).lower() or "aborted" in str(info.value).lower()
    assert requests.get(sandbox.base_url + "/v1/ticker", timeout=5).status_code == 200


def test_queued_5xx_are_answered_before_acting(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    sandbox.faults.queue("error503", method="POST", path="/v1/orders")
    sandbox.faults.queue("error500", method="POST")
    for status in (503, 500):
        with pytest.raises(ServerError) as info:
            alice.create_order(BUY)
        assert info.value.status == status
        assert info.value.unique_id
    assert sandbox.exchange.orders("alice") == []
    assert alice.rate_limit.limit is not None  # 5xx still carry the rate-limit headers


def test_reads_are_retried_through_5xx(sandbox: Sandbox) -> None:
    sandbox.faults.queue("error500", method="GET", path="/v1/account/balances", count=2)
    slept: list[float] = []
    client = client_for(sandbox, ALICE, retry=RetryPolicy(attempts=3), sleep=slept.append)
    assert client.get_balances()["BTC"] == 10
    assert len(slept) == 2
    assert sandbox.stats.requests[("GET", "/v1/account/balances")] == 3


def test_a_429_burst_carries_a_usable_reset(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    sandbox.faults.update(rate_limit_burst=2, rate_limit_reset_ms=100)
    before = sandbox.exchange.now_ms()
    for _ in range(2):
        with pytest.raises(RateLimitedError) as info:
            alice.get_key()
        assert info.value.reset_ms is not None
        assert before < info.value.reset_ms <= sandbox.exchange.now_ms() + 100
        assert alice.rate_limit.remaining == 0
    assert alice.get_key()
    assert sandbox.faults.rate_limit_burst == 0


def test_the_client_waits_out_a_queued_429(sandbox: Sandbox) -> None:
    sandbox.faults.queue("rate_limited", path="/v1/key")
    slept: list[float] = []
    client = client_for(sandbox, ALICE, retry=RetryPolicy(attempts=2), sleep=slept.append)
    assert client.get_key()
    assert len(slept) == 1
    assert slept[0] <= 1.0


def test_latency_delays_but_answers(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    sandbox.faults.queue("latency:30", path="/v1/ticker")
    assert alice.get_ticker()["currency"] == "USD"
    assert sandbox.stats.faults["latency"] == 1
    sandbox.faults.update(latency_ms=1, latency_rate=1.0)
    alice.get_ticker()
    alice.get_key()
    assert sandbox.stats.faults["latency"] == 3


def test_rates_are_seeded_and_repeatable() -> None:
    def statuses(seed: int) -> list[int]:
        faults = Faults(error_rate=0.5, seed=seed)
        with Sandbox(market="off", rate_limit=0, accounts=[SandboxAccount(*ALICE)], faults=faults) as sb:
            return [requests.get(sb.base_url + "/v1/ticker", timeout=5).status_code for _ in range(30)]

    first = statuses(7)
    assert first == statuses(7)
    assert {200, 500, 503} <= set(first)
    assert first != statuses(8)


def test_accept_then_drop_rate_touches_only_order_placement_and_cancel(
    sandbox: Sandbox, alice: ButtercoinClient
) -> None:
    sandbox.faults.update(accept_then_drop_rate=1.0)
    assert alice.get_balances()["USD"] == 100000
    assert alice.create_deposit({"method": "wire", "currency": "USD", "amount": "1"})
    with pytest.raises(TransportError):
        alice.create_order(BUY)
    sandbox.faults.clear()
    assert len(alice.get_orders()) == 1


def test_error_rate_one_fails_every_v1_call_before_acting(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    sandbox.faults.error_rate = 1.0
    with pytest.raises(ServerError):
        alice.create_order(BUY)
    sandbox.faults.error_rate = 0.0
    assert alice.get_orders() == []


def test_fault_settings_are_validated() -> None:
    faults = Faults()
    with pytest.raises(ValueError, match="error_rate"):
        faults.update(error_rate=1.5)
    with pytest.raises(ValueError, match="unknown fault settings"):
        faults.update(explode=True)
    with pytest.raises(ValueError, match="unknown fault kind"):
        faults.queue("explode")
    with pytest.raises(ValueError, match="count"):
        faults.queue("error500", count=0)


def test_admin_endpoint_is_refused_unless_enabled() -> None:
    with Sandbox(market="off", accounts=[SandboxAccount(*ALICE)]) as sb:
        response = requests.post(sb.base_url + "/admin/faults", json={"error_rate": 1}, timeout=5)
        assert response.status_code == 403
        assert response.json()["errors"][0]["code"] == "admin_disabled"
        assert "X-Rate-Limit-Remaining" in response.headers
        assert sb.faults.error_rate == 0


def test_admin_endpoint_switches_faults_and_reads_stats(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    admin = sandbox.base_url + "/admin"
    queue = [{"kind": "accept_then_drop", "method": "POST", "path": "/v1/orders", "count": 1}]
    answer = requests.post(admin + "/faults", json={"latency_ms": 0, "queue": queue}, timeout=5)
    assert answer.status_code == 200
    assert answer.json()["queue"][0]["kind"] == "accept_then_drop"
    with pytest.raises(TransportError):
        alice.create_order(BUY)
    stats = requests.get(admin + "/stats", timeout=5).json()
    assert {"method": "POST", "path": "/v1/orders", "count": 1} in stats["requests"]
    assert stats["faults"] == {"accept_then_drop": 1}
    assert requests.post(admin + "/faults", json={"error_rate": 2}, timeout=5).status_code == 400
    assert requests.post(admin + "/faults", json={"bogus": 1}, timeout=5).status_code == 400
    assert requests.post(admin + "/faults", json={"error_rate": 0.25}, timeout=5).json()["error_rate"] == 0.25
    assert requests.post(admin + "/faults", json={"clear": True}, timeout=5).json()["error_rate"] == 0
    assert requests.get(admin + "/faults", timeout=5).json()["queue"] == []
    assert requests.post(admin + "/stats/reset", json={}, timeout=5).status_code == 204
    assert sandbox.stats.requests == {}
    assert requests.delete(admin + "/faults", timeout=5).status_code == 405
    assert requests.get(admin + "/nothing", timeout=5).status_code == 404


def test_admin_provisions_accounts(sandbox: Sandbox) -> None:
    body = {"key": "carol", "secret": "c", "balances": {"USD": "5.5"}, "permissions": ["get-account"]}
    assert requests.post(sandbox.base_url + "/admin/accounts", json=body, timeout=5).status_code == 201
    with ButtercoinClient("carol", "c", base_url=sandbox.base_url) as carol:
        assert carol.get_balances() == {"BTC": 0, "USD": Decimal("5.5")}
        assert carol.get_key() == ["get-account"]
    bad = {"key": "dave", "secret": "d", "balances": {"EUR": "1"}}
    assert requests.post(sandbox.base_url + "/admin/accounts", json=bad, timeout=5).status_code == 400


def test_admin_cannot_step_a_market_that_is_off(sandbox: Sandbox) -> None:
    response = requests.post(sandbox.base_url + "/admin/market/step", json={"count": 2}, timeout=5)
    assert response.status_code == 400


def test_requests_are_counted_per_route_template(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    first = order_id(alice.create_order(BUY))
    second = order_id(alice.create_order(BUY))
    alice.get_order_by_id(first)
    alice.cancel_order(first)
    alice.cancel_order(second)
    requests.get(sandbox.base_url + "/v1/unknown", timeout=5)
    assert sandbox.stats.requests == {
        ("POST", "/v1/orders"): 2,
        ("GET", "/v1/orders/{id}"): 1,
        ("DELETE", "/v1/orders/{id}"): 2,
        ("GET", "(unknown path)"): 1,
    }


def test_request_counters_stay_bounded_for_made_up_paths_and_methods(sandbox: Sandbox) -> None:
    """Found by the hostile-clients pass: every unknown path got a counter of its own, so a client
    asking for made-up paths grew the sandbox's memory without bound."""
    with requests.Session() as session:
        for i in range(300):
            session.get(f"{sandbox.base_url}/v1/made-up-{i}", timeout=5)
            session.request(f"VERB{i}", f"{sandbox.base_url}/v1/ticker", timeout=5)
    counted = sandbox.stats.requests
    assert counted[("GET", "(unknown path)")] == 300
    assert counted[("(other method)", "/v1/ticker")] == 300
    assert len(counted) == 2


def test_faults_given_at_construction_apply_from_the_start() -> None:
    accounts = [SandboxAccount(*ALICE, balances=dict(START))]
    with Sandbox(market="off", accounts=accounts, faults=Faults(rate_limit_burst=1)) as sb, \
            client_for(sb, ALICE) as client:
        with pytest.raises(RateLimitedError):
            client.get_balances()
        assert client.get_balances()["USD"] == 100000
