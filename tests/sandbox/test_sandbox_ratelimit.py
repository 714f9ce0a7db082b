"""Rate limiting: the token bucket's arithmetic on a fake clock, and the 429 over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from botkit.client import RateLimitedError
from botkit.client.signing import signature
from botkit.sandbox import Sandbox, SandboxAccount
from botkit.sandbox.clock import wall_clock_ms
from botkit.sandbox.ratelimit import UNLIMITED, RateLimiter
from tests.sandbox.helpers import ALICE, BOB, START, client_for


class FakeClock:
    def __init__(self, now: int = 1_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_bucket_bursts_to_capacity_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(per_minute=60, capacity=3, clock=clock)
    verdicts = [limiter.take("k") for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert [v.remaining for v in verdicts] == [2, 1, 0, 0]
    assert verdicts[3].reset_ms == clock.now + 1000  # one call a second
    assert verdicts[2].reset_ms == clock.now + 3000  # full again in three seconds
    clock.now += 999
    assert not limiter.take("k").allowed
    clock.now += 1
    assert limiter.take("k").allowed
    clock.now += 60_000
    assert limiter.peek("k").remaining == 3  # never above capacity


def test_default_capacity_is_five_minutes_of_rate_as_the_original_service() -> None:
    limiter = RateLimiter(per_minute=120, clock=FakeClock())
    assert limiter.capacity == 600
    assert sum(limiter.take("k").allowed for _ in range(601)) == 600


def test_buckets_are_per_identity_and_peek_is_free() -> None:
    limiter = RateLimiter(per_minute=60, capacity=1, clock=FakeClock())
    assert limiter.take("a").allowed
    assert limiter.peek("a").remaining == 0
    assert limiter.take("b").allowed
    assert not limiter.take("a").allowed


def test_off_means_unlimited() -> None:
    verdict = RateLimiter(per_minute=0).take("k")
    assert verdict.allowed
    assert verdict.headers()["X-Rate-Limit-Limit"] == "0"
    assert verdict.remaining == UNLIMITED


@pytest.fixture
def limited() -> Iterator[Sandbox]:
    """One call a second, bursting to three, on a server clock stopped at the real time: buckets
    never refill during the test however slow the machine (and signatures stay in the window)."""
    accounts = [SandboxAccount(*ALICE, balances=dict(START)), SandboxAccount(*BOB, balances=dict(START))]
    stopped = FakeClock(wall_clock_ms())
    with Sandbox(market="off", rate_limit=60, rate_limit_capacity=3, accounts=accounts, clock=stopped) as sb:
        yield sb


def test_signed_calls_are_limited_per_key_with_headers(limited: Sandbox) -> None:
    with client_for(limited, ALICE) as alice, client_for(limited, BOB) as bob:
        remaining = []
        for _ in range(3):
            alice.get_balances()
            remaining.append(alice.rate_limit.remaining)
        assert remaining == [2, 1, 0]
        assert alice.rate_limit.limit == 60
        with pytest.raises(RateLimitedError) as info:
            alice.get_balances()
        assert info.value.status == 429
        assert info.value.code == "rate_limited"
        assert info.value.reset_ms == limited.exchange.now_ms() + 1000
        assert alice.rate_limit.remaining == 0
        assert bob.get_balances()["USD"] == 100000  # another key has its own bucket


def test_public_calls_are_limited_per_client_address(limited: Sandbox) -> None:
    answers = [requests.get(limited.base_url + "/v1/ticker", timeout=5) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].json()["errors"][0]["code"] == "rate_limited"
    assert answers[3].headers["X-Rate-Limit-Remaining"] == "0"
    with client_for(limited, ALICE) as alice:
        assert alice.get_key()  # the key's bucket is not the address's


def test_a_rate_limited_post_did_nothing(limited: Sandbox) -> None:
    with client_for(limited, ALICE) as alice:
        for _ in range(3):
            alice.get_key()
        with pytest.raises(RateLimitedError):
            alice.create_order({"side": "buy", "orderType": "limit", "price": "1.00", "quantity": "1"})
    assert limited.exchange.orders("alice") == []


@pytest.mark.parametrize("forgery", ["unsigned", "bad signature", "replayed"])
def test_knowing_a_key_is_not_enough_to_drain_its_bucket(limited: Sandbox, forgery: str) -> None:
    """Found by the hardening pass: requests naming a key were charged to the key before their
    signature was checked, so anyone who knew the key could lock its owner out for minutes."""
    key, secret = ALICE
    url = limited.base_url + "/v1/account/balances"
    headers = {"X-Buttercoin-Access-Key": key}
    if forgery == "bad signature":
        headers |= {"X-Buttercoin-Signature": "AAAA", "X-Buttercoin-Date": str(wall_clock_ms())}
    if forgery == "replayed":  # a request the owner really signed, captured and sent again
        ts = wall_clock_ms()
        headers |= {"X-Buttercoin-Signature": signature(secret, ts, url, b""), "X-Buttercoin-Date": str(ts)}
        assert requests.get(url, headers=headers, timeout=5).status_code == 200  # the owner's one call
    answers = [requests.get(url, headers=headers, timeout=5).status_code for _ in range(6)]
    assert answers == [401, 401, 401, 429, 429, 429]  # the caller's address ran dry
    with client_for(limited, ALICE) as alice:
        assert alice.get_balances()["USD"] == 100000  # the owner's bucket is untouched
        assert alice.rate_limit.remaining == (1 if forgery == "replayed" else 2)
