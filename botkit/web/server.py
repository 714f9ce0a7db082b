"""Serving the app with uvicorn: in the foreground (``botkit web``) or in a thread beside the
daemon (``botkit run --web-port``).

The socket is bound here, before uvicorn starts, so that port 0 (any free port) can be reported,
and a port in use is a clear error naming where the port came from.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Generator
from types import FrameType

import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette

from botkit.config import Config
from botkit.core.errors import BotkitError, ConfigError
from botkit.journal.status import default_stale_after

log = logging.getLogger("botkit.web")

START_TIMEOUT_S = 30.0


def bind(host: str, port: int, source: str) -> socket.socket:
    """A listening socket on ``host:port``, or a :class:`ConfigError` naming ``source``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP said outright: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets
    # whose protocol is TCP by name, and with it on, a kept-alive client waits 40 ms for each
    # answer (the body's write held back until the client's delayed ACK of the headers).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise ConfigError(source, f"cannot serve the dashboard on {host}:{port}: {exc.strerror or exc}",
                          "choose another port, or 0 for any free one") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


class _Server(uvicorn.Server):
    """uvicorn's server, but a SIGINT or SIGTERM is a clean stop (exit 0): uvicorn re-raises the
    signal once it has stopped, which would end ``botkit web`` as killed by it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(_signum: int, _frame: FrameType | None) -> None:
            self.should_exit = True

        original = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def _server(app: Starlette) -> uvicorn.Server:
    return _Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                         timeout_keep_alive=5, limit_concurrency=64, server_header=False))


class WebServer:
    """The app served from a thread of its own; :meth:`close` stops it."""

    def __init__(self, app: Starlette, sock: socket.socket) -> None:
        self.url = url_of(sock)
        self._sock = sock
        self._server = _server(app)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, name="botkit-web",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise BotkitError(f"the dashboard server did not start at {self.url}")
            time.sleep(0.01)
        log.info("web dashboard at %s", self.url)

    def close(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


def serve_forever(app: Starlette, sock: socket.socket) -> None:
    """Serve in this thread until SIGINT or SIGTERM (uvicorn handles them)."""
    log.info("web dashboard at %s", url_of(sock))
    try:
        _server(app).run(sockets=[sock])
    finally:
        sock.close()


def token_of(config: Config) -> str:
    """The web token ([web] token, token_file or BOTKIT_WEB_TOKEN): the dashboard never runs without one."""
    token: str | None = config["web"]["token"]
    if not token:
        raise ConfigError("web.token", "the dashboard needs a token, and none is set",
                          "set [web] token or token_file, or BOTKIT_WEB_TOKEN (at least 16 characters; e.g. "
                          "python3 -c 'import secrets; print(secrets.token_urlsafe())')")
    return token


def stale_after_ms(config: Config) -> int:
    """When a running bot counts as stale: ``botkit status``'s default."""
    return int(default_stale_after(config["engine"]["interval_seconds"]) * 1000)


def serve_bot(config: Config, port: int, source: str, engine: Engine, bot_id: str) -> WebServer:
    """Start serving one bot's dashboard and control API beside its daemon (``botkit run --web-port``)."""
    from botkit.web.app import build_app

    app = build_app(engine, token_of(config), bots=[bot_id], stale_after_ms=stale_after_ms(config))
    server = WebServer(app, bind(config["web"]["host"], port, source))
    server.start()
    return server
