"""The client against a hostile server on real sockets: answers that drip a byte at a time, gzip
bombs, encodings nobody asked for, oversized bodies, rate-limit resets years ahead.

Every call has a total deadline (connect, headers and body within ``timeout``), every reply a
bounded size (sent and decoded), and every failure stays in the client's error tree.
"""

from __future__ import annotations

import gzip
import logging
import shutil
import ssl
import subprocess
import time
import zlib
from pathlib import Path

import pytest
import requests

from botkit.client import (
    ButtercoinClient,
    MalformedResponseError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    TransportError,
)
from botkit.client.client import MAX_SERVER_WAIT
from tests.client.contract_server import KEY as CONTRACT_KEY
from tests.client.contract_server import SECRET as CONTRACT_SECRET
from tests.client.contract_server import ContractServer, Reply
from tests.client.hostile_server import (
    HostileServer,
    dripping_body,
    dripping_headers,
    gzip_bomb,
    reply,
)

KEY, SECRET = "hostile-key", "hostile-secret-0123456789abcdef"
TICKER = b'{"currency":"USD","last":"404.12","bid":"403.98","ask":"404.22"}'


def _client(server: HostileServer, timeout: float = 10.0, **kwargs: object) -> ButtercoinClient:
    return ButtercoinClient(KEY, SECRET, base_url=server.base_url, timeout=timeout,
                            retry=RetryPolicy(attempts=1), **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("script", [dripping_body(0.5), dripping_headers(0.5)], ids=["body", "headers"])
def test_an_answer_dripping_a_byte_every_half_second_is_cut_at_the_deadline(script: object) -> None:
    """Each byte comes well within the socket timeout, so only a total deadline ends the call (it
    was still waiting after 100 s with timeout=5)."""
    with HostileServer(script) as server:  # type: ignore[arg-type]
        client = _client(server, timeout=2.0)
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.get_balances()
        took = time.monotonic() - started
    assert info.value.may_have_reached_server is True  # the request was sent: a POST's outcome is unknown
    assert "no answer within 2.0s" in str(info.value)
    assert 2.0 <= took < 10.0  # the drip alone would take 500 s


def test_a_dripping_answer_over_tls_is_cut_too(tmp_path: Path) -> None:
    """The watchdog shuts the TLS connection's socket down from its own thread."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    session = requests.Session()
    session.verify = str(cert)
    with HostileServer(dripping_body(0.5), tls=tls) as server:
        client = _client(server, timeout=2.0, session=session)
        started = time.monotonic()
        with pytest.raises(TransportError, match=r"no answer within 2\.0s") as info:
            client.get_balances()
        took = time.monotonic() - started
        server.script = reply(200, TICKER)
        assert client.get_ticker()["currency"] == "USD"  # TLS works, and the cut connection is gone
    assert info.value.may_have_reached_server is True
    assert 2.0 <= took < 10.0


def test_a_session_with_its_own_adapter_still_stops_a_dripping_body_at_the_deadline() -> None:
    """The watchdog cannot cut a connection it did not make; the body's per-read check can."""

    class OwnAdapter(requests.adapters.HTTPAdapter):
        pass

    session = requests.Session()
    session.mount("http://", OwnAdapter())
    with HostileServer(dripping_body(0.5)) as server:
        client = _client(server, timeout=2.0, session=session)
        assert type(client.session.get_adapter(server.base_url)) is OwnAdapter  # kept
        started = time.monotonic()
        with pytest.raises(TransportError, match=r"no answer within 2\.0s"):
            client.get_balances()
        took = time.monotonic() - started
    assert 2.0 <= took < 10.0


@pytest.mark.parametrize("encoding", ["", "gzip"])
def test_a_chunked_reply_is_read(encoding: str) -> None:
    body = gzip.compress(TICKER) if encoding else TICKER
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7]) for i in range(0, len(body), 7))
    headers = [("Transfer-Encoding", "chunked")] + ([("Content-Encoding", encoding)] if encoding else [])
    with HostileServer(reply(200, chunked + b"0\r\n\r\n", *headers, length=False)) as server:
        assert _client(server).get_ticker()["last"] == "404.12"


def test_a_cut_call_is_reported_to_the_observer_as_a_timeout() -> None:
    seen: list[str] = []
    with HostileServer(dripping_body(0.5)) as server:
        client = _client(server, timeout=1.0, on_call=lambda m, e, s, outcome: seen.append(outcome))
        with pytest.raises(TransportError):
            client.get_ticker()
    assert seen == ["timeout"]


def test_a_dripped_post_is_an_unknown_outcome_and_the_next_call_works() -> None:
    with HostileServer(dripping_body(0.5)) as server:
        client = _client(server, timeout=1.0)
        with pytest.raises(TransportError) as info:
            client.create_order({"side": "buy"})
        assert info.value.may_have_reached_server is True
        server.script = reply(200, TICKER)
        assert client.get_ticker()["currency"] == "USD"  # the cut connection was not reused


def test_a_refused_connection_certainly_did_not_arrive() -> None:
    with HostileServer(reply(200, TICKER)) as server:
        url = server.base_url
    client = ButtercoinClient(KEY, SECRET, base_url=url, timeout=1.0, retry=RetryPolicy(attempts=1))
    with pytest.raises(TransportError) as info:
        client.get_balances()
    assert info.value.may_have_reached_server is False


def test_a_gzip_bomb_is_refused_before_it_fills_memory() -> None:
    """1 MB on the wire inflating to 1 GiB: refused once the decoded bytes pass max_reply_bytes."""
    bomb = gzip_bomb(1)
    with HostileServer(reply(200, bomb, ("Content-Encoding", "gzip"))) as server:
        with pytest.raises(MalformedResponseError, match="larger than the client's limit"):
            _client(server).get_ticker()
        with pytest.raises(MalformedResponseError, match="limit of 1,024 bytes"):
            _client(server, max_reply_bytes=1024).get_ticker()


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw"])
def test_gzip_and_deflate_replies_are_decoded(encoding: str) -> None:
    if encoding == "gzip":
        body = gzip.compress(TICKER)
    elif encoding == "deflate":
        body = zlib.compress(TICKER)
    else:  # deflate without its zlib header, as some servers send it
        raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        body, encoding = raw.compress(TICKER) + raw.flush(), "deflate"
    with HostileServer(reply(200, body, ("Content-Encoding", encoding))) as server:
        assert _client(server).get_ticker()["last"] == "404.12"


@pytest.mark.parametrize(("body", "headers", "words"), [
    (b"x" * 5000, (), "reply of 5,000 bytes is larger"),
    (gzip.compress(TICKER), (("Content-Encoding", "br"),), "Content-Encoding 'br'"),
    (gzip.compress(TICKER)[:-12], (("Content-Encoding", "gzip"),), "encoding is corrupt"),
    (b"not gzip at all", (("Content-Encoding", "gzip"),), "encoding is corrupt"),
])
def test_bad_bodies_are_malformed_responses(body: bytes, headers: tuple[tuple[str, str], ...],
                                            words: str) -> None:
    with HostileServer(reply(200, body, *headers)) as server, \
            pytest.raises(MalformedResponseError, match=words):
        _client(server, max_reply_bytes=4096).get_ticker()


def test_an_oversized_body_without_a_length_is_refused_as_it_arrives() -> None:
    with HostileServer(reply(200, b" " * 100_000, length=False)) as server, \
            pytest.raises(MalformedResponseError, match="sent; max_reply_bytes"):
        _client(server, max_reply_bytes=4096).get_ticker()


def test_an_oversized_error_body_keeps_its_status() -> None:
    """The status is the fact: a 503 with a huge page is still a ServerError (retried)."""
    with HostileServer(reply(503, b"<html>" * 10_000)) as server, pytest.raises(ServerError):
        _client(server, max_reply_bytes=4096).get_ticker()


@pytest.mark.parametrize("reset", [
    lambda now: now + 10 * 365 * 86_400_000,  # ten years ahead
    lambda now: now * 1000,                  # microseconds, not milliseconds
], ids=["ten-years", "microseconds"])
def test_a_far_rate_limit_reset_is_capped(reset: object, caplog: pytest.LogCaptureFixture) -> None:
    now = time.time_ns() // 1_000_000
    header = str(reset(now))  # type: ignore[operator]
    body = b'{"status":429,"errors":[{"code":"rate_limited","message":"slow down"}]}'
    with HostileServer(reply(429, body, ("X-Rate-Limit-Reset", header))) as server:
        client = _client(server)
        with caplog.at_level(logging.DEBUG, logger="botkit.client"):
            for _ in range(2):
                with pytest.raises(RateLimitedError) as info:
                    client.request("GET", "ticker", authenticate=False)
                client._blocked_until_ms = 0  # this test is about the header, not the wait
    assert info.value.reset_ms is not None
    assert info.value.reset_ms <= time.time_ns() // 1_000_000 + MAX_SERVER_WAIT * 1000
    odd = [r for r in caplog.records if "beyond any sane wait" in r.getMessage()]
    assert [r.levelno for r in odd] == [logging.WARNING, logging.DEBUG]  # said once, then quietly


def test_a_refused_oversized_reply_does_not_poison_the_kept_alive_connection(server: ContractServer) -> None:
    """The unread rest of a refused body must not be read as the next call's answer."""
    client = ButtercoinClient(CONTRACT_KEY, CONTRACT_SECRET, base_url=server.base_url,
                              retry=RetryPolicy(attempts=1), max_reply_bytes=4096)
    server.reply(Reply(200, b'{"last":"' + b"9" * 10_000 + b'"}'))
    with pytest.raises(MalformedResponseError, match="larger than the client's limit"):
        client.get_ticker()
    assert client.get_ticker()["currency"] == "USD"
    assert server.connections_opened == 2  # the half-read connection was closed, not reused
