"""The WSGI plumbing under the API: the request as received, JSON responses, and cutting a
connection dead.

Cutting a connection must look to a client exactly like a dead server, never like an HTTP
status. Under waitress the worker thread reaches the connection's socket through the channel
behind ``environ["waitress.client_disconnected"]``; it shuts the socket down (FIN, no byte of a
reply) or arms ``SO_LINGER`` 0 so that the close sends an RST, then raises waitress's
``ClientDisconnected`` so that waitress writes nothing and closes the channel.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, NoReturn
from urllib.parse import parse_qsl, quote

from waitress.channel import ClientDisconnected

from botkit.core import jsonutil
from botkit.sandbox.errors import ApiError

StartResponse = Callable[..., Any]
Environ = dict[str, Any]

MAX_BODY = 1 << 20


class Request:
    """One HTTP request, with the raw target and body that the signature covers."""

    __slots__ = ("body", "environ", "method", "path", "query", "target")

    def __init__(self, environ: Environ) -> None:
        self.environ = environ
        self.method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", "/")) or "/"
        self.path = path.rstrip("/") if len(path) > 1 else path
        self.target = _raw_target(environ)
        self.query = str(environ.get("QUERY_STRING", ""))
        self.body = _read_body(environ)

    def header(self, name: str) -> str | None:
        key = name.upper().replace("-", "_")
        value = self.environ.get(key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key)
        return None if value is None else str(value)

    @property
    def remote_addr(self) -> str:
        return str(self.environ.get("REMOTE_ADDR", "unknown"))

    def base_url(self, public_url: str | None) -> str:
        """The base URL the client addressed: the configured public one, or scheme + Host."""
        if public_url:
            return public_url.rstrip("/")
        scheme = str(self.environ.get("wsgi.url_scheme", "http"))
        host = self.header("Host")
        if not host:
            host = f"{self.environ.get('SERVER_NAME', 'localhost')}:{self.environ.get('SERVER_PORT', '80')}"
        return f"{scheme}://{host}"

    def signed_url(self, public_url: str | None) -> str:
        return self.base_url(public_url) + self.target

    def query_params(self) -> dict[str, str]:
        """Query parameters, blank values dropped (``?status=`` means no filter); the first of a
        repeated name wins."""
        params: dict[str, str] = {}
        for name, value in parse_qsl(self.query, keep_blank_values=True):
            if value and name not in params:
                params[name] = value
        return params

    def json_body(self) -> Any:
        if not self.body.strip():
            raise ApiError(400, "malformed_json", "the request body is empty: send a JSON object")
        try:
            return jsonutil.loads(self.body)
        except jsonutil.JSONDecodeError as exc:
            raise ApiError(400, "malformed_json", f"the request body is malformed JSON: {exc}") from None


def _raw_target(environ: Environ) -> str:
    """Path and query exactly as they arrived on the request line."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if not raw:
        raw = quote(str(environ.get("PATH_INFO", "/")))
        if environ.get("QUERY_STRING"):
            raw += "?" + str(environ["QUERY_STRING"])
    text = str(raw)
    if text.startswith(("http://", "https://")):  # absolute-form request target
        slash = text.find("/", text.find("//") + 2)
        text = text[slash:] if slash >= 0 else "/"
    return text


def _read_body(environ: Environ) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0:
        return b""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    return bytes(stream.read(min(length, MAX_BODY)))


@dataclass
class WsgiResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, start_response: StartResponse) -> Iterable[bytes]:
        headers = dict(self.headers)
        if self.body:
            headers.setdefault("Content-Type", "application/json")
        headers["Content-Length"] = str(len(self.body))
        start_response(f"{self.status} {_phrase(self.status)}", list(headers.items()))
        return [self.body]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> WsgiResponse:
    return WsgiResponse(status, jsonutil.dumps(data).encode("utf-8"), dict(headers or {}))


def error_response(error: ApiError, unique_id: str | None = None) -> WsgiResponse:
    body: dict[str, Any] = {"status": error.status, "errors": [{"code": error.code, "message": error.message}]}
    if unique_id is not None:
        body["unique_id"] = unique_id
    return json_response(error.status, body, error.headers)


def cut_connection(environ: Environ, *, reset: bool) -> NoReturn:
    """Kill the client's connection without a byte of reply: FIN, or RST when ``reset``."""
    probe = environ.get("waitress.client_disconnected")
    channel = getattr(probe, "__self__", None)
    sock = getattr(channel, "socket", None)
    if not isinstance(sock, socket.socket):
        raise RuntimeError("cutting a connection needs the waitress server")
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RD)
        else:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # the client went away first: the connection is dead either way
    raise ClientDisconnected
