"""The total deadline of one HTTP exchange: connect, send, headers and body within one ``timeout``.

A socket timeout bounds each wait for data, not the exchange: a server that sends one byte every
few seconds, in its headers or its body, never trips it (a call with ``timeout=5`` was still
waiting after 100 s, and a daemon stuck in that call could not stop). So every exchange is
registered with a watchdog, one thread per process, that cuts the connection of an exchange still
running at its deadline: it shuts the socket down, the read blocked on it returns at once, and
the client raises ``TransportError``.

The watchdog can only cut a connection it knows: the client sends through :class:`DeadlineAdapter`,
whose connections register themselves with the exchange of the thread that uses them. A session
whose adapter for the base URL is someone else's (see ``docs/client.md``) keeps its per-read
timeouts and the body's deadline check after every receive, but a server dripping its headers is
not cut.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import PoolManager


class DeadlineExceeded(TimeoutError):
    """The exchange was still running at its deadline (the cause of the client's TransportError)."""


class HttpExchange:
    """One HTTP exchange (request and answer) under a deadline (``time.monotonic`` scale); not the
    sandbox's :class:`~botkit.sandbox.exchange.Exchange`, the trading venue."""

    __slots__ = ("_done", "_lock", "_sock", "deadline", "expired")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.expired = False
        """True once the watchdog cut the exchange (or found it past its deadline)."""
        self._sock: socket.socket | None = None
        self._done = False
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def attach(self, sock: socket.socket) -> None:
        """The socket this exchange is sent on; cut at once if the deadline already passed.

        The socket, not the connection: ``http.client`` drops a closing connection's socket
        (``Connection: close``) and hands it to the response, which goes on reading from it."""
        with self._lock:
            self._sock = sock
            if self.expired:
                _shut(sock)

    def expire(self) -> None:
        """Called by the watchdog at the deadline: cut the connection unless the exchange is over."""
        with self._lock:
            if self._done:
                return
            self.expired = True
            if self._sock is not None:
                _shut(self._sock)

    def finish(self) -> None:
        """The exchange is over (answer read or error raised): its connection is no longer cut."""
        with self._lock:
            self._done = True
            self._sock = None

    @property
    def done(self) -> bool:
        return self._done


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        # the plain socket's shutdown, also for TLS: the blocked read sees EOF, no TLS state touched
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """A heap of running exchanges by deadline, and the thread that expires them."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, HttpExchange]] = []
        self._finished = 0
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def forget(self) -> None:
        """In a forked child: the parent's thread and exchanges do not exist here."""
        self.__init__()  # type: ignore[misc]

    def add(self, exchange: HttpExchange) -> None:
        with self._cond:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="botkit-client-deadlines", daemon=True)
                self._thread.start()
            entry = (exchange.deadline, next(self._seq), exchange)
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:
                self._cond.notify()

    def finished(self, exchange: HttpExchange) -> None:
        exchange.finish()
        with self._cond:
            self._finished += 1
            if self._finished > 1000 and self._finished * 2 > len(self._heap):
                # most entries are over: drop them rather than keep them until their deadline
                self._heap = [entry for entry in self._heap if not entry[2].done]
                heapq.heapify(self._heap)
                self._finished = 0

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                    self._finished = max(0, self._finished - 1)
                if not self._heap:
                    self._cond.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(min(wait, 60.0))  # an infinite timeout must not overflow the wait
                    continue
                heapq.heappop(self._heap)[2].expire()


_watchdog = _Watchdog()
_current = threading.local()


os.register_at_fork(after_in_child=_watchdog.forget)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[HttpExchange]:
    """Run one exchange on this thread under a deadline of ``seconds`` from now."""
    exchange = HttpExchange(time.monotonic() + seconds)
    _watchdog.add(exchange)
    previous = getattr(_current, "exchange", None)
    _current.exchange = exchange
    try:
        yield exchange
    finally:
        _current.exchange = previous
        _watchdog.finished(exchange)


def _attach_to_current(sock: socket.socket | None) -> None:
    exchange: HttpExchange | None = getattr(_current, "exchange", None)
    if exchange is not None and sock is not None:
        exchange.attach(sock)


class _DeadlineHTTPConnection(HTTPConnection):
    """Tells the thread's exchange its socket: a kept-alive one when sending, a new one as soon as
    its TCP connection is made (before a TLS handshake, which a server could drip too)."""

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _attach_to_current(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach_to_current(self.sock)
        super().request(*args, **kwargs)


class _DeadlineHTTPSConnection(_DeadlineHTTPConnection, HTTPSConnection):
    """The same for TLS (the MRO puts the attaching methods before HTTPSConnection's)."""


class _DeadlineHTTPPool(HTTPConnectionPool):
    ConnectionCls = _DeadlineHTTPConnection


class _DeadlineHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection


_POOLS: dict[str, type[HTTPConnectionPool]] = {"http": _DeadlineHTTPPool, "https": _DeadlineHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """``requests``' adapter whose connections the watchdog can cut (direct or through an HTTP
    proxy; a SOCKS proxy's connections keep per-read timeouts only)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager).__name__ != "SOCKSProxyManager" and isinstance(manager, PoolManager):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager
