"""After a 429 the client sends nothing before ``X-Rate-Limit-Reset``: reads wait, orders are
refused unsent (caught by the reliability suite: one 429 used to be followed by the tick's other
calls within a millisecond)."""

from __future__ import annotations

import time

import pytest

from botkit.client import ButtercoinClient, RateLimitedError
from tests.client.contract_server import ContractServer, Reply, SleepRecorder, error_json


def _limited_for(server: ContractServer, client: ButtercoinClient, ms: int) -> int:
    reset = time.time_ns() // 1_000_000 + ms
    server.reply(Reply(429, error_json(429, "rate_limited", "slow"), headers={"X-Rate-Limit-Reset": str(reset)}))
    with pytest.raises(RateLimitedError):
        client.create_order({"instrument": "BTC_USD", "side": "buy", "orderType": "limit",
                             "price": "1", "quantity": "1"})
    return reset


def test_an_order_after_a_429_is_refused_without_being_sent(
    client: ButtercoinClient, server: ContractServer, sleeps: SleepRecorder
) -> None:
    reset = _limited_for(server, client, 5000)
    sent = len(server.seen)
    with pytest.raises(RateLimitedError) as info:
        client.create_order({"instrument": "BTC_USD", "side": "buy", "orderType": "limit",
                             "price": "1", "quantity": "1"})
    assert len(server.seen) == sent  # nothing reached the server
    assert info.value.reset_ms == reset
    assert "not sent" in info.value.message
    assert sleeps.waits == []


def test_a_read_after_a_429_waits_for_the_reset_first(
    client: ButtercoinClient, server: ContractServer, sleeps: SleepRecorder
) -> None:
    _limited_for(server, client, 2000)
    sent = len(server.seen)
    assert client.get_ticker()["currency"] == "USD"
    assert len(server.seen) == sent + 1
    [wait] = sleeps.waits
    assert 1.5 < wait <= 2.0


def test_a_reset_beyond_the_retry_budget_refuses_reads_too(
    client: ButtercoinClient, server: ContractServer, sleeps: SleepRecorder
) -> None:
    _limited_for(server, client, 600_000)
    sent = len(server.seen)
    with pytest.raises(RateLimitedError):
        client.get_balances()
    assert len(server.seen) == sent and sleeps.waits == []
