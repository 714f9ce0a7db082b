"""Retries (GET and DELETE retried, POST never), timeouts and transport errors, and timestamp
order when threads share a client."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from botkit.client import (
    AuthenticationError,
    BadRequestError,
    ButtercoinClient,
    NotFoundError,
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
    SleepRecorder,
    error_json,
    refused_url,
)

RETRYABLE = [
    ("500", Reply(500, error_json(500, "internal_error", "boom"))),
    ("502 html", Reply(502, "<html>Bad Gateway</html>")),
    ("503", Reply(503, error_json(503, "maintenance", "down for maintenance"))),
    ("429", Reply(429, error_json(429, "rate_limited", "slow down"))),
    ("dropped", Reply(close=True)),
    ("reset", Reply(reset=True)),
    ("truncated", Reply(200, '{"BTC":1,"USD":2,"pad":"' + "x" * 4000 + '"}', truncate=True)),
]

READS: list[tuple[str, Callable[[ButtercoinClient], Any], str]] = [
    ("GET public", lambda c: c.get_ticker(), "GET"),
    ("GET signed", lambda c: c.get_balances(), "GET"),
    ("DELETE", lambda c: c.cancel_order("abc"), "DELETE"),
]
POSTS: list[tuple[str, Callable[[ButtercoinClient], Any]]] = [
    ("create_order", lambda c: c.create_order({"side": "buy", "quantity": "1"})),
    ("create_deposit", lambda c: c.create_deposit({"amount": "1"})),
    ("create_withdrawal", lambda c: c.create_withdrawal({"amount": "1"})),
    ("send_bitcoin", lambda c: c.send_bitcoin({"amount": "1"})),
]


@pytest.mark.parametrize(("fault", "reply"), RETRYABLE, ids=[r[0] for r in RETRYABLE])
@pytest.mark.parametrize(("what", "call", "method"), READS, ids=[r[0] for r in READS])
def test_reads_and_deletes_are_retried_then_succeed(
    client: ButtercoinClient,
    server: ContractServer,
    sleeps: SleepRecorder,
    fault: str,
    reply: Reply,
    what: str,
    call: Callable[[ButtercoinClient], Any],
    method: str,
) -> None:
    server.reply(reply, reply)
    call(client)
    assert len(server.seen) == 3
    assert {s.method for s in server.seen} == {method}
    assert len(sleeps.waits) == 2
    assert all(0 <= w <= client.retry.max_backoff for w in sleeps.waits)
    signed = [s.timestamp for s in server.seen if s.timestamp is not None]
    assert signed == sorted(set(signed))  # every retry is signed afresh, higher


@pytest.mark.parametrize(("fault", "reply"), RETRYABLE[:3], ids=[r[0] for r in RETRYABLE[:3]])
def test_retries_are_bounded_by_attempts(
    client: ButtercoinClient,
    server: ContractServer,
    sleeps: SleepRecorder,
    fault: str,
    reply: Reply,
) -> None:
    server.reply(*[reply] * 10)
    with pytest.raises(ServerError):
        client.get_balances()
    assert len(server.seen) == client.retry.attempts == 3
    assert len(sleeps.waits) == 2


def test_total_waiting_is_bounded_by_max_wait(
    server: ContractServer, sleeps: SleepRecorder
) -> None:
    policy = RetryPolicy(attempts=50, backoff=1.0, max_backoff=3.0, max_wait=7.0)
    client = ButtercoinClient(KEY, SECRET, base_url=server.base_url, retry=policy, sleep=sleeps)
    server.reply(*[Reply(503, error_json(503, "maintenance", "down"))] * 50)
    with pytest.raises(ServerError):
        client.get_ticker()
    assert sum(sleeps.waits) <= policy.max_wait
    assert all(w <= policy.max_backoff for w in sleeps.waits)
    assert len(server.seen) == len(sleeps.waits) + 1 < 50


@pytest.mark.parametrize(
    ("fault", "reply"),
    [
        ("500", Reply(500, error_json(500, "internal_error", "boom"))),
        ("502 html", Reply(502, "<html>Bad Gateway</html>")),
        ("503", Reply(503, error_json(503, "maintenance", "down"))),
        (
            "429",
            Reply(
                429, error_json(429, "rate_limited", "slow"), headers={"X-Rate-Limit-Reset": "0"}
            ),
        ),
        ("dropped", Reply(close=True)),
        ("reset", Reply(reset=True)),
        (
            "truncated",
            Reply(202, "x" * 4000, headers={"Location": "http://h/v1/orders/1"}, truncate=True),
        ),
        ("stalled", Reply(202, delay=10, headers={"Location": "http://h/v1/orders/1"})),
    ],
)
@pytest.mark.parametrize(("what", "call"), POSTS, ids=[p[0] for p in POSTS])
def test_post_is_never_retried(
    server: ContractServer,
    sleeps: SleepRecorder,
    fault: str,
    reply: Reply,
    what: str,
    call: Callable[[ButtercoinClient], Any],
) -> None:
    client = ButtercoinClient(
        KEY,
        SECRET,
        base_url=server.base_url,
        timeout=0.3,
        retry=RetryPolicy(attempts=5),
        sleep=sleeps,
    )
    server.reply(*[reply] * 5)
    with pytest.raises((ServerError, RateLimitedError, TransportError)) as info:
        call(client)
    if isinstance(info.value, TransportError):
        assert info.value.may_have_reached_server is True
        assert info.value.method == "POST"
    assert len(server.seen) == 1
    assert sleeps.waits == []


@pytest.mark.parametrize(
    ("status", "kind"), [(400, BadRequestError), (401, AuthenticationError), (404, NotFoundError)]
)
def test_client_errors_are_not_retried(
    client: ButtercoinClient, server: ContractServer, sleeps: SleepRecorder, status: int, kind: type
) -> None:
    server.reply(*[Reply(status, error_json(status, "x", "no"))] * 3)
    with pytest.raises(kind):
        client.get_balances()
    with pytest.raises(kind):
        client.cancel_order("x")
    assert len(server.seen) == 2
    assert sleeps.waits == []


def test_429_waits_until_the_reset_time(
    client: ButtercoinClient, server: ContractServer, sleeps: SleepRecorder
) -> None:
    reset = time.time_ns() // 1_000_000 + 3000
    server.reply(
        Reply(
            429, error_json(429, "rate_limited", "slow"), headers={"X-Rate-Limit-Reset": str(reset)}
        )
    )
    assert client.get_ticker()["currency"] == "USD"
    assert len(server.seen) == 2
    [wait] = sleeps.waits
    assert 0 < wait <= 3.1
    assert wait > client.retry.max_backoff / 2  # honours the header, not the backoff schedule


def test_429_with_a_reset_beyond_max_wait_is_raised_at_once(
    client: ButtercoinClient, server: ContractServer, sleeps: SleepRecorder
) -> None:
    reset = time.time_ns() // 1_000_000 + 200_000  # beyond max_wait (10 s), within MAX_SERVER_WAIT
    server.reply(
        Reply(
            429, error_json(429, "rate_limited", "slow"), headers={"X-Rate-Limit-Reset": str(reset)}
        )
    )
    with pytest.raises(RateLimitedError) as info:
        client.get_balances()
    assert info.value.reset_ms == reset
    assert len(server.seen) == 1
    assert sleeps.waits == []


def test_429_with_a_past_reset_retries_almost_at_once(
    client: ButtercoinClient, server: ContractServer, sleeps: SleepRecorder
) -> None:
    server.reply(
        Reply(429, error_json(429, "rate_limited", "slow"), headers={"X-Rate-Limit-Reset": "1000"})
    )
    client.get_balances()
    assert len(sleeps.waits) == 1
    assert 0 <= sleeps.waits[0] <= 0.1


def test_retry_after_a_pinned_timestamp_is_signed_with_a_fresh_one(
    client: ButtercoinClient, server: ContractServer
) -> None:
    pinned = time.time_ns() // 1_000_000
    server.reply(Reply(500, error_json(500, "x", "boom")))
    client.get_balances(timestamp=pinned)
    assert [s.auth for s in server.seen] == ["ok", "ok"]
    assert server.seen[0].timestamp == pinned
    assert server.seen[1].timestamp is not None
    assert server.seen[1].timestamp > pinned


def test_pinned_timestamp_read_is_retried_after_a_dropped_connection(
    client: ButtercoinClient, server: ContractServer, sleeps: SleepRecorder
) -> None:
    pinned = time.time_ns() // 1_000_000
    server.reply(Reply(close=True))
    assert client.get_key(timestamp=pinned)
    assert server.seen[0].timestamp == pinned
    assert len(server.seen) == 2
    assert [s.auth for s in server.seen] == ["ok", "ok"]
    assert len(sleeps.waits) == 1


# ------------------------------------------------------------------ timeouts, transport errors


def test_stalled_server_times_out_as_may_have_reached(
    server: ContractServer, sleeps: SleepRecorder
) -> None:
    client = ButtercoinClient(
        KEY,
        SECRET,
        base_url=server.base_url,
        timeout=0.2,
        retry=RetryPolicy(attempts=2),
        sleep=sleeps,
    )
    server.reply(Reply(delay=30), Reply(delay=30))
    with pytest.raises(TransportError) as info:
        client.get_balances()
    assert info.value.may_have_reached_server is True
    assert (info.value.method, info.value.path) == ("GET", "account/balances")
    assert len(server.seen) == 2  # retried once, then gave up
    assert "timed out" in str(info.value) or "no answer" in str(info.value)


def test_stalled_then_answering_server_is_recovered_by_a_retry(
    server: ContractServer, sleeps: SleepRecorder
) -> None:
    client = ButtercoinClient(KEY, SECRET, base_url=server.base_url, timeout=0.2, sleep=sleeps)
    server.reply(Reply(delay=30))
    assert client.get_deposit_address() == "1J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
    assert [s.auth for s in server.seen] == ["ok", "ok"]


def test_connection_refused_certainly_did_not_reach(sleeps: SleepRecorder) -> None:
    client = ButtercoinClient(KEY, SECRET, base_url=refused_url(), timeout=1.0, sleep=sleeps)
    with pytest.raises(TransportError) as info:
        client.get_balances()
    assert info.value.may_have_reached_server is False
    assert len(sleeps.waits) == client.retry.attempts - 1  # refused GETs are retried
    sleeps.waits.clear()
    with pytest.raises(TransportError) as post_info:
        client.create_order({"side": "buy"})
    assert post_info.value.may_have_reached_server is False
    assert sleeps.waits == []  # but a POST never is


@pytest.mark.parametrize(
    "reply",
    [
        Reply(close=True),
        Reply(reset=True),
        Reply(200, "{" + '"a":1,' * 1000 + '"b":2}', truncate=True),
    ],
    ids=["dropped", "reset", "truncated"],
)
def test_lost_connection_may_have_reached(server: ContractServer, reply: Reply) -> None:
    client = ButtercoinClient(KEY, SECRET, base_url=server.base_url, retry=RetryPolicy(attempts=1))
    server.reply(reply)
    with pytest.raises(TransportError) as info:
        client.create_order({"side": "sell"})
    assert info.value.may_have_reached_server is True
    assert len(server.seen) == 1


# ------------------------------------------------------------------ threads


def test_eight_threads_sharing_a_client_reach_the_server_in_timestamp_order(
    client: ButtercoinClient, server: ContractServer
) -> None:
    per_thread = 25
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        barrier.wait()
        try:
            for i in range(per_thread):
                match (n + i) % 4:
                    case 0:
                        client.get_balances()
                    case 1:
                        client.create_order({"side": "buy", "quantity": str(i)})
                    case 2:
                        client.cancel_order(f"order-{n}-{i}")
                    case _:
                        client.get_orders({"status": "opened"})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(server.seen) == 8 * per_thread
    assert {s.auth for s in server.seen} == {"ok"}  # no replay refused
    stamps = [s.timestamp for s in server.seen]  # in arrival order
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
