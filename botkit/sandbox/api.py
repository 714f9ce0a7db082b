"""The v1 HTTP API as a WSGI application: routing, the request pipeline, and one handler per
endpoint of the contract.

The pipeline of a ``/v1`` call, in order (each step may answer instead of the next):

1. count it in :class:`~botkit.sandbox.faults.Stats` under its route template;
2. injected faults that act *before* handling (reset, latency, 429 burst, 500/503, drop);
3. the rate limit (per API key when the call carries one, else per client address);
4. routing: 404 unknown path, 405 known path with another method;
5. authentication (401) and permission (403) for signed endpoints;
6. content negotiation: 406 when ``Accept`` excludes JSON, 415 when a body is not
   ``application/json`` or names a charset other than UTF-8; then the handler (400 for anything
   malformed, including a number that is not ASCII decimal notation within
   :mod:`botkit.core.numbers`' bounds);
7. an ``accept_then_drop`` fault cuts the connection after the handler acted.

Every answer carries the ``X-Rate-Limit-*`` headers. Any unexpected exception becomes a 500 with
the contract's error body and a ``unique_id`` that is also logged.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from botkit.core.times import date_ms
from botkit.sandbox import faults as fault_kinds
from botkit.sandbox.admin import AdminApi
from botkit.sandbox.auth import DATE_HEADER, KEY_HEADER, SIGNATURE_HEADER, authenticate, require
from botkit.sandbox.errors import ApiError
from botkit.sandbox.exchange import Exchange
from botkit.sandbox.faults import Faults, Stats
from botkit.sandbox.orders import USD_BTC
from botkit.sandbox.ratelimit import RateLimiter, Verdict
from botkit.sandbox.wsgi import (
    Environ,
    Request,
    StartResponse,
    WsgiResponse,
    cut_connection,
    error_response,
    json_response,
)

log = logging.getLogger("botkit.sandbox")

Handler = Callable[["Call"], WsgiResponse]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    handler: str
    """Name of the :class:`SandboxApi` method that answers."""
    auth: bool = True
    permission: str | None = "get-account"
    """Checked before the handler; None: any valid key (or decided by the handler)."""

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template.strip("/").split("/"))


ROUTES = (
    Route("GET", "/v1/ticker", "ticker", auth=False, permission=None),
    Route("GET", "/v1/orderbook", "orderbook", auth=False, permission=None),
    Route("GET", "/v1/trades", "trades", auth=False, permission=None),
    Route("GET", "/v1/key", "key", permission=None),
    Route("GET", "/v1/account/balances", "balances"),
    Route("GET", "/v1/account/depositAddress", "deposit_address"),
    Route("GET", "/v1/orders", "list_orders"),
    Route("POST", "/v1/orders", "create_order", permission=None),
    Route("GET", "/v1/orders/{id}", "get_order"),
    Route("DELETE", "/v1/orders/{id}", "cancel_order", permission="cancel-order"),
    Route("GET", "/v1/transactions", "list_transactions"),
    Route("POST", "/v1/transactions/deposit", "deposit", permission="deposit"),
    Route("POST", "/v1/transactions/withdraw", "withdraw", permission="withdraw"),
    Route("POST", "/v1/transactions/send", "send_bitcoin", permission="send-bitcoin"),
    Route("GET", "/v1/transactions/{id}", "get_transaction"),
    Route("DELETE", "/v1/transactions/{id}", "cancel_transaction", permission="cancel-transaction"),
)


class Router:
    """Path templates with ``{id}`` segments; exact segments win over a parameter."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=lambda r: sum(s.startswith("{") for s in r.segments))

    def resolve(self, method: str, path: str) -> Resolution:
        parts = tuple(path.strip("/").split("/"))
        allowed: list[str] = []
        template: str | None = None
        for route in self.routes:
            param = _match(route.segments, parts)
            if param is False:
                continue
            if template is not None and route.template != template:
                continue  # a less specific template for a path already matched
            template = route.template
            if route.method == method:
                return Resolution(route, route.template, param if isinstance(param, str) else "", [])
            allowed.append(route.method)
        return Resolution(None, template or path, "", allowed)


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a request goes. No route but ``allowed`` methods: a 405; neither: a 404."""

    route: Route | None
    template: str
    """The route template (the path itself when nothing matched): the key of the counters."""
    param: str
    allowed: list[str]


def _match(segments: tuple[str, ...], parts: tuple[str, ...]) -> str | bool | None:
    if len(segments) != len(parts):
        return False
    param: str | None = None
    for segment, part in zip(segments, parts, strict=True):
        if segment.startswith("{"):
            if not part:
                return False
            param = part
        elif segment != part:
            return False
    return param


UNKNOWN_PATH = "(unknown path)"
COUNTED_METHODS = frozenset({"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"})


def _counter_key(method: str, resolution: Resolution) -> tuple[str, str]:
    """The request counters' key: the route template, and every unknown path (or method) under one
    name, so that a client asking for a million made-up paths adds one counter, not a million."""
    known = resolution.route is not None or bool(resolution.allowed)
    return (method if method in COUNTED_METHODS else "(other method)",
            resolution.template if known else UNKNOWN_PATH)


@dataclass(slots=True)
class Call:
    """One routed request: who makes it, and the path parameter."""

    request: Request
    key: str
    param: str
    base_url: str


class SandboxApi:
    """The WSGI application serving the v1 contract (and ``/admin`` when enabled)."""

    def __init__(
        self,
        exchange: Exchange,
        *,
        faults: Faults | None = None,
        stats: Stats | None = None,
        limiter: RateLimiter | None = None,
        public_url: str | None = None,
        admin: AdminApi | None = None,
    ) -> None:
        self.exchange = exchange
        self.faults = faults or Faults()
        self.stats = stats or Stats()
        self.limiter = limiter or RateLimiter(0)
        self.public_url = public_url
        self.admin = admin
        self.router = Router(ROUTES)

    # ------------------------------------------------------------------ pipeline

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path == "/admin" or request.path.startswith("/admin/"):
            return self._admin(request).send(start_response)
        resolution = self.router.resolve(request.method, request.path)
        template = resolution.template
        self.stats.record_request(*_counter_key(request.method, resolution))
        plan = fault_kinds.NO_FAULT
        if request.path.startswith("/v1/"):
            plan = self.faults.plan(request.method, template, request.path)
        if plan is not fault_kinds.NO_FAULT:
            early = self._before(request, template, plan)
            if early is not None:
                return early.send(start_response)
        key = self._authenticate(request, resolution)
        # A key's bucket is charged only for requests that prove they hold its secret; anything
        # else (unsigned, badly signed, replayed) is charged to the caller's address, so knowing
        # a key is not enough to drain its rate limit.
        identity = "key:" + key if isinstance(key, str) and key else "addr:" + request.remote_addr
        verdict = self.limiter.take(identity)
        if not verdict.allowed:
            response = error_response(ApiError(429, "rate_limited", "Too many requests: over the rate limit"))
        elif isinstance(key, WsgiResponse):
            response = key
        else:
            response = self._respond(request, resolution, key)
        if plan.after == fault_kinds.ACCEPT_THEN_DROP:
            self.stats.record_fault(plan.after, request.method, template)
            cut_connection(environ, reset=False)
        response.headers.update(verdict.headers())
        return response.send(start_response)

    def _before(self, request: Request, template: str, plan: fault_kinds.FaultPlan) -> WsgiResponse | None:
        method = request.method
        if plan.latency_ms:
            self.stats.record_fault(fault_kinds.LATENCY, method, template)
            time.sleep(plan.latency_ms / 1000)
        kind = plan.before
        if kind is None:
            return None
        self.stats.record_fault(kind, method, template)
        if kind == fault_kinds.RESET:
            cut_connection(request.environ, reset=True)
        if kind == fault_kinds.DROP_BEFORE:
            cut_connection(request.environ, reset=False)
        identity = self._identity(request)
        if kind == fault_kinds.RATE_LIMITED:
            now = self.exchange.now_ms()
            verdict = Verdict(False, self.limiter.per_minute, 0, now + self.faults.rate_limit_reset_ms)
            response = error_response(ApiError(429, "rate_limited", "Too many requests: over the rate limit"))
        elif kind == fault_kinds.ERROR503:
            verdict = self.limiter.peek(identity)
            response = error_response(
                ApiError(503, "maintenance", "The service is temporarily unavailable (injected fault)"),
                unique_id=uuid.uuid4().hex,
            )
        else:
            verdict = self.limiter.peek(identity)
            response = error_response(
                ApiError(500, "internal_error", "The server encountered an internal error (injected fault)"),
                unique_id=uuid.uuid4().hex,
            )
        response.headers.update(verdict.headers())
        return response

    def _identity(self, request: Request) -> str:
        """Whose bucket an injected fault's headers show: the address (nothing is charged)."""
        return "addr:" + request.remote_addr

    def _authenticate(self, request: Request, resolution: Resolution) -> str | WsgiResponse:
        """The verified API key of a signed route's request ("" for public routes and unknown
        paths: their own errors come first), or the refusal to send."""
        route = resolution.route
        if route is None or not route.auth:
            return ""
        try:
            return authenticate(
                self.exchange,
                request.header(KEY_HEADER),
                request.header(SIGNATURE_HEADER),
                request.header(DATE_HEADER),
                request.signed_url(self.public_url),
                request.body,
            )
        except ApiError as error:
            return error_response(error)
        except Exception:
            unique_id = uuid.uuid4().hex
            log.exception("sandbox: authenticating %s %s failed (unique_id %s)",
                          request.method, request.path, unique_id)
            return error_response(ApiError(500, "internal_error", "The server encountered an internal error"),
                                  unique_id)

    def _respond(self, request: Request, resolution: Resolution, key: str) -> WsgiResponse:
        route, allowed = resolution.route, resolution.allowed
        try:
            if route is None:
                if allowed:
                    raise ApiError(
                        405, "method_not_allowed",
                        f"{request.method} is not allowed on {request.path}; use {', '.join(allowed)}",
                        headers={"Allow": ", ".join(allowed)},
                    )
                raise ApiError(404, "not_found", f"no such resource: {request.path}")
            if route.auth and route.permission is not None:
                require(self.exchange, key, route.permission)
            _negotiate(request)
            call = Call(request, key, resolution.param, request.base_url(self.public_url))
            handler: Handler = getattr(self, route.handler)
            return handler(call)
        except ApiError as error:
            return error_response(error)
        except Exception:
            unique_id = uuid.uuid4().hex
            log.exception("sandbox: %s %s failed (unique_id %s)", request.method, request.path, unique_id)
            failure = ApiError(500, "internal_error", "The server encountered an internal error")
            return error_response(failure, unique_id)

    def _admin(self, request: Request) -> WsgiResponse:
        verdict = self.limiter.peek("addr:" + request.remote_addr)
        if self.admin is None:
            response = error_response(
                ApiError(403, "admin_disabled", "the admin endpoints are off: start the sandbox with --admin")
            )
        else:
            try:
                response = self.admin.handle(request)
            except ApiError as error:
                response = error_response(error)
            except Exception:
                unique_id = uuid.uuid4().hex
                log.exception("sandbox admin: %s %s failed (unique_id %s)", request.method, request.path, unique_id)
                failure = ApiError(500, "internal_error", "The server encountered an internal error")
                response = error_response(failure, unique_id)
        response.headers.update(verdict.headers())
        return response

    # ------------------------------------------------------------------ public endpoints

    def ticker(self, call: Call) -> WsgiResponse:
        return json_response(200, self.exchange.ticker())

    def orderbook(self, call: Call) -> WsgiResponse:
        return json_response(200, self.exchange.order_book_view())

    def trades(self, call: Call) -> WsgiResponse:
        return json_response(200, {"trades": self.exchange.trades_view()})

    # ------------------------------------------------------------------ account

    def key(self, call: Call) -> WsgiResponse:
        return json_response(200, {"permissions": list(self.exchange.permissions(call.key))})

    def balances(self, call: Call) -> WsgiResponse:
        return json_response(200, self.exchange.balances(call.key))

    def deposit_address(self, call: Call) -> WsgiResponse:
        return json_response(200, {"address": self.exchange.deposit_address(call.key)})

    # ------------------------------------------------------------------ orders

    def list_orders(self, call: Call) -> WsgiResponse:
        query = call.request.query_params()
        results = self.exchange.order_views(
            call.key,
            status=query.get("status"),
            side=query.get("side"),
            order_type=query.get("orderType"),
            date_min=_date(query, "dateMin"),
            date_max=_date(query, "dateMax"),
        )
        return json_response(200, {"results": results})

    def get_order(self, call: Call) -> WsgiResponse:
        return json_response(200, self.exchange.order_view(call.key, call.param))

    def create_order(self, call: Call) -> WsgiResponse:
        body = _object(call.request)
        instrument = _text(body, "instrument", default="BTC_USD")
        side = _text(body, "side")
        order_type = _text(body, "orderType")
        if side in ("buy", "sell"):
            buys_bitcoin = (side == "buy") == (instrument != USD_BTC)
            require(self.exchange, call.key, "create-buy" if buys_bitcoin else "create-sell")
        order_id = self.exchange.submit_order(
            call.key,
            side=side,
            order_type=order_type,
            price=_amount(body, "price", required=False),
            quantity=_amount(body, "quantity"),
            instrument=instrument,
        )
        return WsgiResponse(202, headers={"Location": f"{call.base_url}/v1/orders/{order_id}"})

    def cancel_order(self, call: Call) -> WsgiResponse:
        self.exchange.cancel_order(call.key, call.param)
        return WsgiResponse(204)

    # ------------------------------------------------------------------ transactions

    def list_transactions(self, call: Call) -> WsgiResponse:
        query = call.request.query_params()
        results = self.exchange.transaction_views(
            call.key,
            status=query.get("status"),
            kind=query.get("transactionType"),
            date_min=_date(query, "dateMin"),
            date_max=_date(query, "dateMax"),
        )
        return json_response(200, {"results": results})

    def get_transaction(self, call: Call) -> WsgiResponse:
        return json_response(200, self.exchange.transaction_view(call.key, call.param))

    def deposit(self, call: Call) -> WsgiResponse:
        body = _object(call.request)
        tx = self.exchange.deposit(
            call.key, _text(body, "method"), _text(body, "currency"), _amount(body, "amount")
        )
        return _created(call, tx.transaction_id, tx.confirmed)

    def withdraw(self, call: Call) -> WsgiResponse:
        body = _object(call.request)
        tx = self.exchange.withdraw(
            call.key, _text(body, "method"), _text(body, "currency"), _amount(body, "amount")
        )
        return _created(call, tx.transaction_id, tx.confirmed)

    def send_bitcoin(self, call: Call) -> WsgiResponse:
        body = _object(call.request)
        tx = self.exchange.send_bitcoin(
            call.key, _text(body, "currency"), _amount(body, "amount"), _text(body, "destination")
        )
        return _created(call, tx.transaction_id, tx.confirmed)

    def cancel_transaction(self, call: Call) -> WsgiResponse:
        self.exchange.cancel_transaction(call.key, call.param)
        return WsgiResponse(204)


# ---------------------------------------------------------------------- request helpers


def _negotiate(request: Request) -> None:
    accept = request.header("Accept")
    if accept and not _accepts_json(accept):
        raise ApiError(406, "not_acceptable", f"this API answers application/json, not {accept}")
    if request.method in ("POST", "PUT", "PATCH"):
        media, *params = (request.header("Content-Type") or "").split(";")
        content_type = media.strip().lower()
        if content_type != "application/json":
            raise ApiError(
                415, "unsupported_media_type",
                f"send the body as application/json, not {content_type or 'no Content-Type'}",
            )
        for param in params:
            name, _, value = param.partition("=")
            charset = value.strip().strip('"').lower()
            if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
                raise ApiError(
                    415, "unsupported_media_type",
                    f"send the body as UTF-8 JSON (charset=utf-8), not charset={charset[:40]}",
                )


def _accepts_json(accept: str) -> bool:
    for item in accept.split(","):
        media = item.split(";")[0].strip().lower()
        if media in ("application/json", "application/*", "*/*", "*"):
            return True
    return False


def _object(request: Request) -> dict[str, Any]:
    body = request.json_body()
    if not isinstance(body, dict):
        raise ApiError(400, "malformed_json", "the request body must be a JSON object")
    return body


def _text(body: dict[str, Any], name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    if value is None:
        raise ApiError(400, f"missing_{_snake(name)}", f"{name} is required")
    if not isinstance(value, str):
        raise ApiError(400, f"invalid_{_snake(name)}", f"{name} must be a string")
    return value


def _amount(body: dict[str, Any], name: str, *, required: bool = True) -> Any:
    """An amount as sent (string, or a JSON number read as Decimal/int); checked by the exchange."""
    value = body.get(name)
    if value is None and required:
        raise ApiError(400, f"missing_{name}", f"{name} is required")
    return value


def _date(query: dict[str, str], name: str) -> int | None:
    text = query.get(name)
    if text is None:
        return None
    ms = date_ms(text)
    if ms is None:
        raise ApiError(400, "invalid_date", f"{name} must be ISO-8601 UTC, e.g. 2014-05-06T13:15:30Z")
    return ms


def _created(call: Call, transaction_id: str, confirmed: bool) -> WsgiResponse:
    location = {"Location": f"{call.base_url}/v1/transactions/{transaction_id}"}
    if not confirmed:
        body = {"status": 201, "message": "This operation requires email confirmation"}
        return json_response(201, body, location)
    return WsgiResponse(202, headers=location)


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)
