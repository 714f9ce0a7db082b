"""Serving a WSGI app on a background thread with waitress, with limits a hostile client cannot
get around: the sandbox's API and the bot's ``/metrics`` both use it.

waitress reads every connection on one asyncore loop and hands only complete requests to its
worker threads, so an idle or slowly-dribbling connection costs a socket, never a thread. What it
lacks is a bound on *how long* a connection may hold that socket: its idle timeout is reset by
every byte, so a client sending one byte a second keeps a connection forever, and a few hundred
of them reach the connection limit and lock every other client out. :class:`ConnectionLimits`
adds the missing bound (a whole request must arrive within ``request_deadline``) and keeps the
idle timeout short enough that half-open connections give their place back.

Stopping loses nothing: stop accepting, let the workers finish the requests they hold, close the
remaining connections, end the loop.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

log = logging.getLogger("botkit.http")


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How many connections, and for how long, one server gives its clients."""

    max_connections: int = 1000
    """Open connections at once; beyond it new ones wait in the listen backlog until one closes."""
    idle_timeout: float = 30.0
    """A connection with no request in progress is closed after this long without a byte. Longer
    than a bot's tick interval, so a kept-alive client connection is not closed under its next
    request."""
    request_deadline: float = 15.0
    """A request (headers and body) must have fully arrived this long after its first byte."""
    check_interval: float = 1.0
    """How often the limits are enforced."""
    max_body_bytes: int = 1 << 20


class _GuardedChannel(HTTPChannel):
    """A connection that knows when the request it is reading began."""

    request_began: float | None = None

    def received(self, data: bytes) -> bool:
        before = self.request
        result: bool = super().received(data)
        if self.request is None:
            self.request_began = None
        elif self.request is not before or self.request_began is None:  # a new request began
            self.request_began = time.monotonic()
        return result


class _GuardedServer(TcpWSGIServer):
    channel_class = _GuardedChannel

    def __init__(self, app: Any, adj: Adjustments, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.closed_idle = 0
        self.closed_slow = 0
        super().__init__(app, map={}, adj=adj)

    def maintenance(self, now: float) -> None:
        """Close idle connections (waitress's own rule) and those whose request is overdue."""
        cutoff = now - self.adj.channel_timeout
        overdue = time.monotonic() - self.limits.request_deadline
        channels: dict[int, Any] = self.active_channels  # type: ignore[assignment]  # the stubs say HTTPChannel
        for channel in list(channels.values()):
            if channel.will_close or channel.requests:
                continue
            began = getattr(channel, "request_began", None)
            if began is not None and began < overdue:
                channel.will_close = True
                self.closed_slow += 1
            elif began is None and channel.last_activity < cutoff:
                channel.will_close = True
                self.closed_idle += 1


class HttpServer:
    """A waitress server for one WSGI app, run on a background thread."""

    def __init__(self, app: Any, host: str, port: int, threads: int = 8, *, ident: str = "botkit",
                 limits: ConnectionLimits | None = None) -> None:
        self.limits = limits = limits or ConnectionLimits()
        adj = Adjustments(
            host=host,
            port=port,
            threads=threads,
            ident=ident,
            connection_limit=limits.max_connections,
            channel_timeout=max(1, round(limits.idle_timeout)),
            cleanup_interval=max(1, round(limits.check_interval)),
            max_request_body_size=limits.max_body_bytes,
            expose_tracebacks=False,
            asyncore_use_poll=True,
        )
        # Any: the stubs miss what stopping needs (effective_port, the trigger, the socket map).
        server: Any = _GuardedServer(app, adj, limits)
        self._server = server
        self.host = host
        self.port = int(server.effective_port)
        self._thread: threading.Thread | None = None

    @property
    def closed_idle(self) -> int:
        """Connections closed for idling past ``idle_timeout``."""
        return self._server.closed_idle  # type: ignore[no-any-return]

    @property
    def closed_slow(self) -> int:
        """Connections closed for a request not complete within ``request_deadline``."""
        return self._server.closed_slow  # type: ignore[no-any-return]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.run, name=f"{self._server.adj.ident}-http", daemon=True)
        self._thread.start()

    def _on_loop(self, action: Any, timeout: float) -> None:
        """Run ``action`` on the loop thread (asyncore objects belong to it) and wait for it."""
        done = threading.Event()

        def thunk() -> None:
            try:
                action()
            finally:
                done.set()

        try:
            self._server.trigger.pull_trigger(thunk)
        except OSError:  # the trigger is closed: so is the loop (everything on it closed with it)
            return
        done.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        server = self._server
        if self._thread is None:
            server.close()
            return

        def stop_accepting() -> None:
            server.accepting = False
            server.del_channel()
            server.socket.close()

        def close_everything() -> None:
            wasyncore.close_all(server._map)

        self._on_loop(stop_accepting, timeout)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=int(timeout))
        self._on_loop(close_everything, timeout)
        self._thread.join(timeout)
        self._thread = None
