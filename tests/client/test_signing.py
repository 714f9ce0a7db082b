"""The contract's signature rule, pinned by its known-answer vector, and the auth object."""

from __future__ import annotations

import threading

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from botkit.client.auth import ButtercoinAuth, TimestampClock
from botkit.client.signing import signature, verify

KAT_SECRET = "abcdefghijklmnopqrstuvwxyz123456"
KAT_TIMESTAMP = "1403558182457"
KAT_URL = "https://api.buttercoin.com/v1/key"
KAT_SIGNATURE = "amakcIy40XLCUaSz6urhl+687F2pIexux+TJ2bl+66I="
RAW_MESSAGE_SIGNATURE = "txzqoSXeIRsTmRzfVHBYOOxGA6vg8H7A6j5/w0wTh00="
"""What signing the message without the Base64 step gives: the classic mistake."""


def test_known_answer_vector() -> None:
    assert signature(KAT_SECRET, KAT_TIMESTAMP, KAT_URL) == KAT_SIGNATURE


def test_known_answer_with_integer_timestamp_and_explicit_empty_body() -> None:
    assert signature(KAT_SECRET, int(KAT_TIMESTAMP), KAT_URL, b"") == KAT_SIGNATURE
    assert signature(KAT_SECRET, int(KAT_TIMESTAMP), KAT_URL, "") == KAT_SIGNATURE


def test_raw_message_variant_is_not_produced() -> None:
    assert signature(KAT_SECRET, KAT_TIMESTAMP, KAT_URL) != RAW_MESSAGE_SIGNATURE
    assert not verify(KAT_SECRET, KAT_TIMESTAMP, KAT_URL, b"", RAW_MESSAGE_SIGNATURE)


def test_verify_accepts_the_vector_and_refuses_any_change() -> None:
    assert verify(KAT_SECRET, KAT_TIMESTAMP, KAT_URL, b"", KAT_SIGNATURE)
    assert not verify(KAT_SECRET, "1403558182458", KAT_URL, b"", KAT_SIGNATURE)
    assert not verify(KAT_SECRET, KAT_TIMESTAMP, KAT_URL + "?a=1", b"", KAT_SIGNATURE)
    assert not verify(KAT_SECRET, KAT_TIMESTAMP, KAT_URL, b"{}", KAT_SIGNATURE)
    assert not verify(KAT_SECRET[:-1] + "7", KAT_TIMESTAMP, KAT_URL, b"", KAT_SIGNATURE)
    assert not verify(
        KAT_SECRET, KAT_TIMESTAMP, KAT_URL.replace("https", "http"), b"", KAT_SIGNATURE
    )


def test_body_is_appended_after_the_url() -> None:
    body = '{"side":"buy","price":"600"}'
    url = "https://api.buttercoin.com/v1/orders"
    # message = timestamp + url + body: moving the split point between url and body is invisible
    assert signature("s", 1, url, body) == signature("s", 1, url + body)
    assert signature("s", 1, url, body) == signature("s", 1, url, body.encode())


@given(
    secret=st.text(min_size=1),
    ts=st.integers(min_value=0, max_value=10**13),
    path=st.text(),
    body=st.binary(),
)
def test_signature_round_trips_and_binds_the_body(
    secret: str, ts: int, path: str, body: bytes
) -> None:
    url = "http://127.0.0.1:1/v1/" + path
    sig = signature(secret, ts, url, body)
    assert verify(secret, ts, url, body, sig)
    assert not verify(secret, ts, url, body + b"x", sig)
    assert not verify(secret, ts + 1, url, body, sig)


def test_auth_signs_the_prepared_url_and_body_and_sets_the_three_headers() -> None:
    clock = TimestampClock(now_ms=lambda: 1_700_000_000_000)
    auth = ButtercoinAuth("key-1", "secret-1", clock)
    prepared = requests.Request(
        "POST", "http://127.0.0.1:8080/v1/orders", data='{"side":"buy"}', auth=auth
    ).prepare()
    assert prepared.headers["X-Buttercoin-Access-Key"] == "key-1"
    assert prepared.headers["X-Buttercoin-Date"] == "1700000000000"
    assert prepared.headers["X-Buttercoin-Signature"] == signature(
        "secret-1", 1_700_000_000_000, "http://127.0.0.1:8080/v1/orders", '{"side":"buy"}'
    )


def test_auth_with_pinned_timestamp_uses_it_and_the_clock_moves_past_it() -> None:
    clock = TimestampClock(now_ms=lambda: 1000)
    prepared = requests.Request(
        "GET", "http://h/v1/key", auth=ButtercoinAuth("k", "s", clock, timestamp=5000)
    ).prepare()
    assert prepared.headers["X-Buttercoin-Date"] == "5000"
    assert clock.next() == 5001


def test_auth_repr_hides_the_secret() -> None:
    auth = ButtercoinAuth("k", "top-secret-value", TimestampClock())
    assert "top-secret-value" not in repr(auth)
    assert "top-secret-value" not in str(auth)


def test_clock_is_strictly_increasing_when_time_stands_still_or_goes_back() -> None:
    times = iter([100, 100, 100, 50, 50, 200, 150])
    clock = TimestampClock(now_ms=lambda: next(times))
    assert [clock.next() for _ in range(7)] == [100, 101, 102, 103, 104, 200, 201]


def test_clock_shared_by_eight_threads_never_repeats() -> None:
    clock = TimestampClock(now_ms=lambda: 42)  # a frozen clock: the worst case
    per_thread: list[list[int]] = [[] for _ in range(8)]
    barrier = threading.Barrier(8)

    def work(out: list[int]) -> None:
        barrier.wait()
        for _ in range(2000):
            out.append(clock.next())

    threads = [threading.Thread(target=work, args=(out,)) for out in per_thread]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [ts for out in per_thread for ts in out]
    assert len(set(everything)) == 16000
    assert sorted(everything) == list(range(42, 42 + 16000))
    for out in per_thread:
        assert out == sorted(out)


@pytest.mark.parametrize("observed", [10, 10_000])
def test_clock_observe_only_raises(observed: int) -> None:
    clock = TimestampClock(now_ms=lambda: 1000)
    clock.next()
    clock.observe(observed)
    assert clock.next() == max(1001, observed + 1)
