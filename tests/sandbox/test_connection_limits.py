"""Connection limits (botkit.core.http_server): idle and dribbling connections give their place back,
and well-behaved clients are served while hundreds of them are open. Real sockets on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests

from botkit.core.http_server import ConnectionLimits
from botkit.daemon.metrics import Metrics, serve
from botkit.sandbox import Sandbox
from tests.polling import wait
from tests.sockets import closed_by_server, dribble

SHORT = ConnectionLimits(max_connections=1000, idle_timeout=1, request_deadline=1, check_interval=1)


def _connect(port: int, count: int, first_bytes: bytes = b"") -> list[socket.socket]:
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if first_bytes:
            s.sendall(first_bytes)
        socks.append(s)
    return socks






@pytest.fixture
def guarded() -> Iterator[Sandbox]:
    with Sandbox(market="off", rate_limit=0, limits=SHORT) as sb:
        yield sb


def test_hundreds_of_idle_and_dribbling_connections_do_not_lock_clients_out(guarded: Sandbox) -> None:
    """Found by the hardening pass: past waitress's default of 100 connections, idle ones locked
    every other client out, and a byte every few seconds kept a connection forever."""
    idle = _connect(guarded.port, 250)
    dribblers = _connect(guarded.port, 50, b"GET /v1/ticker HTTP/1.1\r\nX-Slow: ")
    try:
        with requests.Session() as client:
            for _ in range(20):
                assert client.get(guarded.base_url + "/v1/ticker", timeout=10).status_code == 200
        wait(lambda: all(closed_by_server(s) for s in idle), 60, "the idle connections to be closed")
        wait(lambda: dribble(dribblers) == len(dribblers), 60, "the dribbling connections to be closed",
             every=0.3)
        assert guarded.http.closed_idle >= 250
        assert guarded.http.closed_slow == 50
    finally:
        for s in idle + dribblers:
            s.close()


def test_a_full_house_makes_new_clients_wait_not_fail() -> None:
    """At the connection limit new connections wait in the backlog; idle ones time out and make
    room, so a patient client is served."""
    limits = ConnectionLimits(max_connections=20, idle_timeout=1, request_deadline=1, check_interval=1)
    with Sandbox(market="off", rate_limit=0, limits=limits) as sb:
        idle = _connect(sb.port, 30)
        try:
            answer = requests.get(sb.base_url + "/v1/ticker", timeout=60)
            assert answer.status_code == 200
            assert sb.http.closed_idle >= 1
        finally:
            for s in idle:
                s.close()


def test_metrics_server_holds_idle_scrapers_without_a_thread_each() -> None:
    """Found by the hardening pass: the library's metrics server started one thread per
    connection, so idle connections grew the bot's threads without bound."""
    import threading

    served = serve("127.0.0.1", 0, Metrics(process_metrics=False))
    try:
        threads_before = threading.active_count()
        idle = _connect(served.port, 200)
        try:
            answer = requests.get(served.url, timeout=10)
            assert answer.status_code == 200 and b"botkit_" in answer.content
            assert threading.active_count() <= threads_before + 2
        finally:
            for s in idle:
                s.close()
    finally:
        served.close()


def test_stopping_a_server_whose_loop_is_already_closed_does_not_raise() -> None:
    """A stop that finds the loop's trigger closed (its loop ended and closed everything) has
    nothing left to do: it once raised EBADF from the sandbox's teardown (seen once in CI)."""
    sandbox = Sandbox(market="off", rate_limit=0)
    sandbox.start()
    server = sandbox._server
    assert server is not None
    server._server.trigger.close()
    sandbox.stop()
