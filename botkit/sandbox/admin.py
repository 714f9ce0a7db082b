"""The admin endpoints, outside ``/v1`` and off unless the sandbox runs with ``--admin``.

They let a test or an operator in another process do what the embedding API does in-process:

=======  ==================================  ====================================================
GET      /admin/faults                       the fault switches and the queue
POST     /admin/faults                       change switches: ``{"error_rate": 0.1, ...}``; also
                                             ``"queue": [{"kind", "method", "path", "count"}]``
                                             and ``"clear": true`` (everything off first)
GET      /admin/stats                        requests per route, faults injected
POST     /admin/stats/reset                  zero the counters
POST     /admin/accounts                     provision ``{"key","secret","balances",
                                             "permissions","confirmWithdrawals"}``
POST     /admin/transactions/{id}/confirm    the e-mail confirmation of a withdrawal
POST     /admin/market/step                  advance the simulated market ``{"count": n}`` steps
=======  ==================================  ====================================================

There is no authentication: never enable it on an address others can reach. What it does refuse
is a web page the operator happens to visit (its scripts can reach 127.0.0.1 too):

- every POST must say ``Content-Type: application/json`` (an HTML form or a "simple" cross-site
  request cannot; a script that sets it must ask the browser first, and the admin API answers no
  CORS pre-flight), so no page can rewrite an account's secret or confirm a withdrawal (CSRF);
- the ``Host`` header must be an IP address, ``localhost`` or a name the sandbox was given (its
  host or public URL), so a hostile domain resolved to 127.0.0.1 cannot read or write it (DNS
  rebinding);
- an ``Origin`` header, when present, must be the admin API's own origin, and
  ``Sec-Fetch-Site: cross-site`` is refused.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from botkit.core import jsonutil
from botkit.sandbox.accounts import ALL_PERMISSIONS, SandboxAccount
from botkit.sandbox.errors import ApiError
from botkit.sandbox.exchange import Exchange
from botkit.sandbox.faults import SETTINGS, Faults, Stats
from botkit.sandbox.wsgi import Request, WsgiResponse, json_response

MAX_COUNT = 100_000
"""Most market steps, or repetitions of a queued fault, one admin call asks for (``int()`` of a
JSON ``1e40000000`` would build a 40-million-digit integer: counts must be JSON integers)."""


class AdminApi:
    def __init__(
        self,
        exchange: Exchange,
        faults: Faults,
        stats: Stats,
        step_market: Callable[[int], None] | None = None,
        names: Iterable[str] = (),
    ) -> None:
        self.exchange = exchange
        self.faults = faults
        self.stats = stats
        self.step_market = step_market
        self.names = frozenset({"localhost", *(n.lower().strip("[]") for n in names if n)})
        """Host names (besides IP addresses) the admin API answers to."""

    def handle(self, request: Request) -> WsgiResponse:
        self._guard(request)
        method, path = request.method, request.path
        if path == "/admin/faults":
            if method == "GET":
                return json_response(200, self.faults.as_dict())
            if method == "POST":
                return self._set_faults(_body(request))
            raise _not_allowed("GET, POST")
        if path == "/admin/stats":
            if method == "GET":
                return json_response(200, self.stats.as_dict())
            raise _not_allowed("GET")
        if path == "/admin/stats/reset":
            _post_only(method)
            self.stats.reset()
            return WsgiResponse(204)
        if path == "/admin/accounts":
            _post_only(method)
            return self._add_account(_body(request))
        if path.startswith("/admin/transactions/") and path.endswith("/confirm"):
            _post_only(method)
            self.exchange.confirm_transaction(path.split("/")[3])
            return WsgiResponse(204)
        if path == "/admin/market/step":
            _post_only(method)
            if self.step_market is None:
                raise ApiError(400, "market_off", "the simulated market is off")
            count = _body(request).get("count", 1) if request.body.strip() else 1
            if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
                raise ApiError(400, "invalid_count", f"count must be an integer from 1 to {MAX_COUNT}")
            self.step_market(count)
            return WsgiResponse(204)
        raise ApiError(404, "not_found", f"no such admin resource: {path}")

    def _guard(self, request: Request) -> None:
        """Refuse what a web page in the operator's browser could send (see the module docstring)."""
        host = request.header("Host") or ""
        if not self._known_host(host):
            raise ApiError(403, "forbidden_host",
                           f"the admin API answers to IP addresses, localhost and {sorted(self.names - {'localhost'})}"
                           f" only, not Host {host[:100]!r}")
        origin = request.header("Origin")
        if origin is not None and origin != "null":
            parts = urlsplit(origin)
            if parts.netloc.lower() != host.lower() or parts.scheme not in ("http", "https"):
                raise ApiError(403, "forbidden_origin", f"the admin API refuses requests from {origin[:100]!r}")
        if (request.header("Sec-Fetch-Site") or "").lower() == "cross-site":
            raise ApiError(403, "forbidden_origin", "the admin API refuses cross-site requests")
        if request.method == "POST":
            content_type = (request.header("Content-Type") or "").split(";")[0].strip().lower()
            if content_type != "application/json":
                raise ApiError(415, "unsupported_media_type",
                               f"admin POSTs must be application/json (even with an empty body), "
                               f"not {content_type or 'no Content-Type'}")

    def _known_host(self, host: str) -> bool:
        name = urlsplit("//" + host).hostname if host else None
        if not name:
            return False
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return name.lower() in self.names
        return True

    def _set_faults(self, body: dict[str, Any]) -> WsgiResponse:
        if body.get("clear"):
            self.faults.clear()
        settings = {k: _plain(v) for k, v in body.items() if k in SETTINGS}
        unknown = set(body) - set(SETTINGS) - {"clear", "queue"}
        if unknown:
            raise ApiError(400, "invalid_fault", f"unknown fault settings {sorted(unknown)}; known: {list(SETTINGS)}")
        try:
            self.faults.update(**settings)
            for entry in body.get("queue") or []:
                if not isinstance(entry, dict):
                    raise ValueError("each queue entry is an object with kind, method, path, count")
                count = entry.get("count", 1)
                if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
                    raise ValueError(f"a queue entry's count is an integer from 1 to {MAX_COUNT}")
                self.faults.queue(
                    str(entry.get("kind", "")),
                    method=entry.get("method"),
                    path=entry.get("path"),
                    count=count,
                )
        except (ValueError, TypeError) as exc:
            raise ApiError(400, "invalid_fault", str(exc)) from None
        return json_response(200, self.faults.as_dict())

    def _add_account(self, body: dict[str, Any]) -> WsgiResponse:
        try:
            balances = body.get("balances") or {}
            if not isinstance(balances, dict):
                raise ValueError("balances is an object such as {\"USD\": \"1000\"}")
            permissions = body.get("permissions") or ALL_PERMISSIONS
            if not isinstance(permissions, list | tuple):
                raise ValueError(f"permissions is a list of strings, some of {list(ALL_PERMISSIONS)}")
            spec = SandboxAccount(
                key=str(body.get("key") or ""),
                secret=str(body.get("secret") or ""),
                balances={str(c): v for c, v in balances.items()},  # each checked by SandboxAccount
                permissions=tuple(permissions),
                confirm_withdrawals=bool(body.get("confirmWithdrawals", False)),
            )
        except (ValueError, ArithmeticError) as exc:
            raise ApiError(400, "invalid_account", str(exc)) from None
        created = self.exchange.add_account(spec)
        return json_response(201 if created else 200, {"key": spec.key, "created": created})


def _body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        data = jsonutil.loads(request.body)
    except jsonutil.JSONDecodeError as exc:
        raise ApiError(400, "malformed_json", f"the request body is malformed JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", "the request body must be a JSON object")
    return data


def _plain(value: Any) -> Any:
    """JSON fractions arrive as Decimal; the fault rates are probabilities, not money."""
    return float(value) if isinstance(value, Decimal) else value


def _post_only(method: str) -> None:
    if method != "POST":
        raise _not_allowed("POST")


def _not_allowed(allow: str) -> ApiError:
    return ApiError(405, "method_not_allowed", f"use {allow}", headers={"Allow": allow})
