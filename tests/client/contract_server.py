"""A small contract-following Buttercoin v1 server for the client's tests.

It is *not* the sandbox: it has no matching engine and almost no state. It does exactly what the
client's tests need:

* verifies every authenticated request with :func:`botkit.client.signing.verify` over the URL as
  the client addressed it (``http://`` + ``Host`` header + raw path and query) and the raw body
  bytes received, and refuses a timestamp that is not greater than the last accepted one for the
  key (replay) or is more than five minutes off;
* answers each endpoint of the contract with the contract's example bodies (exact number text);
* can be scripted per test: queued :class:`Reply` objects (status, body, headers, a stall, a
  dropped or reset connection, a truncated body) are consumed, in order, by the next requests
  that pass authentication, before the contract's default answers;
* records every request (:class:`Seen`), and every TCP connection, so tests assert what reached
  the wire.

HTTP/1.1 with keep-alive, on 127.0.0.1 and an ephemeral port, served from a thread.
"""

from __future__ import annotations

import collections
import itertools
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from botkit.client.signing import verify
from botkit.core import jsonutil

KEY = "test-key-0001"
SECRET = "S3cr3t-never-in-text-4f9c2a7e1b"
"""Distinctive, so that a leak into any text is easy to spot."""

PUBLIC_PATHS = frozenset({"/v1/ticker", "/v1/orderbook", "/v1/trades"})
MAX_SKEW_MS = 5 * 60 * 1000

# The contract's example bodies, as exact text (numbers must survive byte for byte).
TICKER = '{"currency":"USD","last":404.12,"bid":403.98,"ask":404.22}'
ORDERBOOK = (
    '{"bid":[{"price":403.98,"quantity":1.5},{"price":403.5,"quantity":0.25}],'
    '"ask":[{"price":404.22,"quantity":2},{"price":405,"quantity":0.00000001}],'
    '"price_currency":"USD","quantity_currency":"BTC"}'
)
TRADES = (
    '{"trades":[{"spent":0.02,"spentCurrency":"BTC","earned":12,"earnedCurrency":"USD",'
    '"timestamp":1410806083687},{"spent":12.5,"spentCurrency":"USD","earned":0.025,'
    '"earnedCurrency":"BTC","timestamp":1410806083000}]}'
)
PERMISSIONS = '{"permissions":["get-account","create-buy","create-sell","cancel-order"]}'
BALANCES = '{"BTC":5.44423312,"USD":1413.56}'
DEPOSIT_ADDRESS = '{"address":"1J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"}'
ORDER_ID = "886313e1-3b8a-5372-9b90-0c9aee199e5d"
TRANSACTION_ID = "538bdc82848a604c007ceac6"


def order_json(order_id: str = ORDER_ID) -> str:
    return (
        f'{{"orderId":"{order_id}","side":"buy","orderType":"limit","status":"opened",'
        '"price":600.12,"priceCurrency":"USD","quantity":1.234567,"quantityCurrency":"BTC",'
        '"events":[{"eventType":"created","eventDate":"2014-05-06T13:15:30Z"}]}'
    )


def transaction_json(transaction_id: str = TRANSACTION_ID) -> str:
    return (
        f'{{"transactionId":"{transaction_id}","transactionType":"deposit","currency":"USD",'
        '"amount":500.98,"method":"wire","status":"funded",'
        '"fundingInfo":{"source":"External Customer Bank"},'
        '"events":[{"eventType":"created","eventDate":"2014-05-06T13:15:30Z"}]}'
    )


def error_json(status: int, code: str, message: str, **extra: str) -> str:
    body: dict[str, Any] = {"status": status, "errors": [{"code": code, "message": message}]}
    body.update(extra)
    return jsonutil.dumps(body)


@dataclass
class Reply:
    """One scripted answer.

    ``body``: bytes or str are sent as they are; any other value (except None, an empty body)
    is serialized with :func:`botkit.core.jsonutil.dumps`. ``delay`` stalls before answering (released
    when the server stops). ``close`` drops the connection without an answer, ``reset`` does so
    with a TCP RST, ``truncate`` declares the full length but sends only half the body.
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close: bool = False
    reset: bool = False
    truncate: bool = False

    def body_bytes(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return jsonutil.dumps(self.body).encode("utf-8")


@dataclass(frozen=True)
class Seen:
    """One request as it reached the server."""

    method: str
    path: str
    """Raw request target: path and query exactly as received."""
    url: str
    """The URL the client addressed: ``http://`` + Host header + raw path."""
    headers: dict[str, str]
    body: bytes
    timestamp: int | None
    auth: str
    """``public``, ``ok``, or why authentication failed."""
    connection: int
    arrived: float

    @property
    def query(self) -> str:
        return self.path.partition("?")[2]


class ContractServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, accounts: dict[str, str] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.accounts = dict(accounts if accounts is not None else {KEY: SECRET})
        self.last_timestamp: dict[str, int] = {}
        self.seen: list[Seen] = []
        self.script: collections.deque[Reply] = collections.deque()
        self.routes: dict[tuple[str, str], Reply | Callable[[Seen], Reply]] = {}
        self.rate_limit_headers = True
        self.lock = threading.Lock()
        self.released = threading.Event()
        self._connections = itertools.count(1)
        self.connections_opened = 0
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="contract-server",
            daemon=True,
        )

    # -- test API ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, *replies: Reply) -> None:
        """Queue answers for the next authenticated-or-public requests, in order."""
        self.script.extend(replies)

    def route(self, method: str, path: str, answer: Reply | Callable[[Seen], Reply]) -> None:
        """Answer every ``method path`` (path without query) with ``answer``."""
        self.routes[(method, path)] = answer

    def requests_to(self, path_prefix: str) -> list[Seen]:
        return [s for s in self.seen if s.path.startswith(path_prefix)]

    def start(self) -> ContractServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.shutdown()
        self.server_close()
        self._thread.join(5)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: broken pipes after a stalled answer are expected."""

    # -- the contract ------------------------------------------------------------------------

    def check_auth(
        self, method: str, raw_path: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[str, int | None]:
        """Authenticate one request; returns (outcome, timestamp). Call with ``self.lock`` held."""
        if raw_path.partition("?")[0] in PUBLIC_PATHS and method == "GET":
            return "public", None
        key = headers.get("x-buttercoin-access-key")
        claimed = headers.get("x-buttercoin-signature")
        date = headers.get("x-buttercoin-date")
        if key is None or claimed is None or date is None:
            return "missing headers", None
        if key not in self.accounts:
            return "unknown key", None
        if not date.isdigit():
            return "bad timestamp", None
        ts = int(date)
        if not verify(self.accounts[key], ts, url, body, claimed):
            return "bad signature", ts
        if abs(ts - time.time_ns() // 1_000_000) > MAX_SKEW_MS:
            return "stale timestamp", ts
        if ts <= self.last_timestamp.get(key, 0):
            return "replayed timestamp", ts
        self.last_timestamp[key] = ts
        return "ok", ts

    def default_reply(self, seen: Seen) -> Reply:
        path = seen.path.partition("?")[0]
        method = seen.method
        for (m, p), answer in self.routes.items():
            if m == method and p == path:
                return answer(seen) if callable(answer) else answer
        parts = path.split("/")[2:]  # drop "", "v1"
        fixed = {
            ("GET", "ticker"): TICKER,
            ("GET", "orderbook"): ORDERBOOK,
            ("GET", "trades"): TRADES,
            ("GET", "key"): PERMISSIONS,
            ("GET", "account/balances"): BALANCES,
            ("GET", "account/depositAddress"): DEPOSIT_ADDRESS,
            ("GET", "orders"): f'{{"results":[{order_json()}]}}',
            ("GET", "transactions"): f'{{"results":[{transaction_json()}]}}',
        }
        joined = "/".join(parts)
        if (method, joined) in fixed:
            return Reply(200, fixed[(method, joined)])
        if len(parts) == 2 and parts[0] in ("orders", "transactions"):
            ident = parts[1]
            if method == "GET":
                text = order_json(ident) if parts[0] == "orders" else transaction_json(ident)
                return Reply(200, text)
            if method == "DELETE":
                return Reply(204)
            if (
                method == "POST"
                and parts[0] == "transactions"
                and ident in ("deposit", "withdraw", "send")
            ):
                return Reply(
                    202,
                    headers={
                        "Location": f"{self.base_url}/v1/transactions/{uuid.uuid4().hex[:24]}"
                    },
                )
        if method == "POST" and joined == "orders":
            return Reply(202, headers={"Location": f"{self.base_url}/v1/orders/{uuid.uuid4()}"})
        return Reply(404, error_json(404, "not_found", f"No such resource: {method} {path}"))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server: ContractServer

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.connection_id = next(self.server._connections)
            self.server.connections_opened += 1

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path.startswith("http://"):  # absolute form: we are being used as a proxy
            url = self.path
            path = "/" + self.path.split("/", 3)[3]
        else:
            url = f"http://{headers.get('host', '')}{self.path}"
            path = self.path
        server = self.server
        with server.lock:
            outcome, ts = server.check_auth(self.command, path, url, headers, body)
            seen = Seen(
                self.command,
                path,
                url,
                headers,
                body,
                ts,
                outcome,
                self.connection_id,
                time.monotonic(),
            )
            server.seen.append(seen)
            scripted = (
                server.script.popleft() if outcome in ("ok", "public") and server.script else None
            )
        if outcome not in ("ok", "public"):
            reply = Reply(
                401, error_json(401, "authentication_failed", f"Authentication failed: {outcome}")
            )
        else:
            reply = scripted or server.default_reply(seen)
        self._send(reply)

    do_GET = do_POST = do_DELETE = do_PUT = _handle  # noqa: N815 - http.server naming

    def _send(self, reply: Reply) -> None:
        if reply.delay:
            self.server.released.wait(reply.delay)
        if reply.close or reply.reset:
            if reply.reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            self.close_connection = True
            return
        body = reply.body_bytes()
        self.send_response(reply.status)
        headers = {"Content-Type": "application/json"}
        if self.server.rate_limit_headers:
            headers.update(
                {
                    "X-Rate-Limit-Limit": "120",
                    "X-Rate-Limit-Remaining": "119",
                    "X-Rate-Limit-Reset": str(time.time_ns() // 1_000_000 + 500),
                }
            )
        headers.update(reply.headers)
        for name, value in headers.items():
            self.send_header(name, value)
        if reply.status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if reply.truncate:
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if body and reply.status not in (204, 304):
            self.wfile.write(body)


@dataclass
class SleepRecorder:
    """Stands in for ``time.sleep`` in the client: records the waits, never sleeps."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def refused_url() -> str:
    """A loopback URL where nothing listens (the port was just released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def walk_chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and its causes/contexts."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__
