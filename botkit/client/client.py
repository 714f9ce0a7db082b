"""``ButtercoinClient``: every call of the original 1.0.2 client, on a safer transport.

The dict-returning methods keep the original names, arguments and return conventions (200 → the
parsed JSON, unwrapped where the original unwrapped it; 201/204 → a status dict; 202 → the
``Location`` header). What differs is underneath: JSON numbers are ``Decimal``, there are
timeouts, GET and DELETE are retried with backoff, POST never is, and every failure is one of
the exceptions in :mod:`botkit.client.errors`.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.utils import resolve_proxies

from botkit.client import body as reply_body
from botkit.client.auth import ButtercoinAuth
from botkit.client.base_url import normalize_base_url
from botkit.client.deadline import DeadlineAdapter, DeadlineExceeded, HttpExchange, deadline
from botkit.client.errors import (
    AuthenticationError,
    BaseButtercoinClientError,
    ButtercoinApiError,
    InvalidEnvironmentError,
    MalformedResponseError,
    RateLimitedError,
    ServerError,
    TransportError,
    api_error_for,
)
from botkit.client.turn import KeyTurn, key_turn
from botkit.core import jsonutil

log = logging.getLogger("botkit.client")

PRODUCTION_URL = "https://api.buttercoin.com"
SANDBOX_URL = "https://sandbox.buttercoin.com"
MODES = {"production": PRODUCTION_URL, "sandbox": SANDBOX_URL}

MAX_REPLY_BYTES = 32 * 1024 * 1024
"""The largest reply the client reads (sent or decoded): the contract's largest answers are a few MB."""

MAX_SERVER_WAIT = 300.0
"""Seconds: the longest wait the exchange may ask for (``X-Rate-Limit-Reset``). A reset further
away is a broken or hostile header (ten years ahead, microseconds read as milliseconds), not a
plan: it is capped here and logged, so one header cannot silence the client for good."""

_HEADER_TOKEN = re.compile(r"[\x21-\x7e]+")
"""What an API key may contain: it travels as a header value."""

CallObserver = Callable[[str, str, float, str], None]
"""``on_call(method, endpoint, seconds, outcome)``: told of every HTTP attempt (retries included).

``endpoint`` is the route template (``/v1/orders/{id}``: no ids, so a metrics label stays
bounded), ``seconds`` the time from sending to the parsed answer, and ``outcome`` the HTTP status
(``"200"``, ``"404"``, ``"503"``) or what went wrong without one: ``"timeout"``,
``"connection_error"``, ``"transport_error"`` or ``"malformed"``. It is called on the calling
thread and must be quick; an exception from it is logged and never reaches the caller.
"""

_FIXED_ROUTES = frozenset({"ticker", "orderbook", "trades", "key", "account/balances", "account/depositAddress",
                           "orders", "transactions", "transactions/deposit", "transactions/withdraw",
                           "transactions/send"})


_TIMESTAMP_REFUSALS = ("replayed timestamp", "stale timestamp")
_LAST_ACCEPTED = re.compile(r"last accepted (\d{1,16})")
"""The sandbox names the key's last accepted timestamp; a client of the key elsewhere used it."""


def _is_timestamp_refusal(exc: AuthenticationError) -> bool:
    """A 401 for the timestamp alone (the signature was good): re-signing may pass."""
    return exc.message.lower().startswith(_TIMESTAMP_REFUSALS)


def endpoint_template(path: str) -> str:
    """The route template of an API path: ``orders/abc123`` → ``/v1/orders/{id}``.

    Ids become ``{id}`` and unknown paths ``/v1/{other}``, so that the set of templates is the
    contract's short list whatever the ids (a metric labelled by raw paths would grow without end).
    """
    route = path.split("?", 1)[0].strip("/")
    if route in _FIXED_ROUTES:
        return f"/v1/{route}"
    head, _, tail = route.partition("/")
    if head in ("orders", "transactions") and tail and "/" not in tail:
        return f"/v1/{head}/{{id}}"
    return "/v1/{other}"


CONFIRMATION_REQUIRED = {"status": 201, "message": "This operation requires email confirmation"}
COMPLETED = {"status": 204, "message": "This operation has completed successfully"}


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The ``X-Rate-Limit-*`` headers of the last response (None where absent)."""

    limit: int | None
    remaining: int | None
    reset_ms: int | None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How idempotent calls (GET, DELETE) are retried; POST is never retried.

    ``attempts`` counts the first try. Waits grow as ``backoff * 2**n`` with jitter, capped at
    ``max_backoff``; after a 429 the wait is until ``X-Rate-Limit-Reset`` if that is sooner than
    ``max_wait``, else the call fails with the 429. ``max_wait`` also bounds the total sleeping
    of one call, so a retried call can never hang a caller for long.
    """

    attempts: int = 3
    backoff: float = 0.25
    max_backoff: float = 4.0
    max_wait: float = 10.0

    def delay(self, attempt: int) -> float:
        base: float = min(self.max_backoff, self.backoff * (2**attempt))
        return base * (0.5 + random.random() / 2)


NO_RETRY = RetryPolicy(attempts=1)


@dataclass(frozen=True, slots=True)
class Response:
    """A successful answer: status, headers and the parsed JSON body (None when empty)."""

    status: int
    headers: Mapping[str, str]
    data: Any


class ButtercoinClient:
    """Signed client for the Buttercoin REST API v1.

    Credentials, mode and base URL fall back to ``BUTTERCOIN_API_KEY``, ``BUTTERCOIN_API_SECRET``,
    ``BUTTERCOIN_MODE`` and ``BUTTERCOIN_BASE_URL``. Authenticated requests of one key are sent
    one at a time, in the order of their timestamps, by every client of that key on the machine
    (see :mod:`botkit.client.turn`), because the server refuses a timestamp not greater than one
    it has already accepted. A request refused for a replayed or stale timestamp had no effect, so
    it is signed afresh and sent once more (POST included).
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: str | None = None,
        mode: str | None = None,
        base_url: str | None = None,
        timeout: float = 10.0,
        session: requests.Session | None = None,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_call: CallObserver | None = None,
        max_reply_bytes: int = MAX_REPLY_BYTES,
    ) -> None:
        env = os.environ
        self.api_key = api_key if api_key is not None else env.get("BUTTERCOIN_API_KEY")
        self._secret = api_secret if api_secret is not None else env.get("BUTTERCOIN_API_SECRET")
        # An argument beats the environment: an explicit mode is a choice of host, so the
        # environment's base URL only applies when neither base_url nor mode is given.
        if base_url is None and mode is None:
            base_url = env.get("BUTTERCOIN_BASE_URL") or None
        self.mode = mode or env.get("BUTTERCOIN_MODE") or "production"
        if base_url is None:
            if self.mode not in MODES:
                raise InvalidEnvironmentError(
                    f"mode must be 'production' or 'sandbox', not {self.mode!r} (or give base_url)"
                )
            base_url = MODES[self.mode]
        self.base_url = normalize_base_url(base_url)
        self.timeout = timeout
        """Seconds one HTTP exchange may take in all: connect, send, headers and body."""
        self.max_reply_bytes = max_reply_bytes
        self.session = session or requests.Session()
        _mount_deadline_adapter(self.session, self.base_url)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._turn: KeyTurn | None = None
        self.rate_limit = RateLimit(None, None, None)
        self._blocked_until_ms = 0
        """Epoch ms before which nothing is sent: the ``X-Rate-Limit-Reset`` of the last 429."""
        self._odd_reset_logged = False
        self._proxies: dict[str, str] | None = None
        self.on_call = on_call
        """Optional :data:`CallObserver` (metrics); may be set after construction."""

    def __repr__(self) -> str:
        key = self.api_key if self.api_key else None
        return f"ButtercoinClient(base_url={self.base_url!r}, api_key={key!r}, api_secret=<hidden>)"

    # ------------------------------------------------------------------ transport

    def url(self, path: str, query: Mapping[str, Any] | None = None) -> str:
        """The full URL of ``path`` (relative to ``/v1/``), with the contract's query encoding."""
        url = f"{self.base_url}/v1/{path.lstrip('/')}"
        if query:
            pairs = [(k, _query_value(v)) for k, v in query.items() if v is not None]
            if pairs:
                url += "?" + urlencode(pairs, safe=":", quote_via=quote)
        return url

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        authenticate: bool = True,
        timestamp: int | str | None = None,
    ) -> Response:
        """Send one API call and return its successful answer, or raise from the error tree."""
        method = method.upper()
        if authenticate:
            if not self.api_key or not self._secret:
                raise InvalidEnvironmentError(
                    "API Key and API Secret are required for this operation."
                )
            if not _HEADER_TOKEN.fullmatch(self.api_key):
                raise InvalidEnvironmentError(
                    "API key must be printable ASCII without spaces or line breaks"
                )
        url = self.url(path, query)
        # bytes, so that the length sent and the bytes signed are the same whatever the text
        data = (
            jsonutil.dumps(body).encode("utf-8") if method == "POST" and body is not None else None
        )
        policy = self.retry if method in ("GET", "DELETE") else NO_RETRY
        slept = self._honour_rate_limit(method, path, policy)
        attempt = 0
        resigned = False
        while True:
            try:
                return self._send_once(method, url, path, data, authenticate, timestamp)
            except AuthenticationError as exc:
                # Refused before it did anything: a fresh, larger timestamp may pass. Once only,
                # and never for a caller-pinned timestamp (the caller asked for that one).
                if resigned or timestamp is not None or not _is_timestamp_refusal(exc):
                    raise
                log.info("%s %s: %s; signing again with a fresh timestamp", method, path, exc.message)
                accepted = _LAST_ACCEPTED.search(exc.message)
                if accepted and self._turn is not None:
                    self._turn.clock.observe(int(accepted.group(1)))
                resigned = True
            except (TransportError, ServerError, RateLimitedError) as exc:
                if isinstance(exc, RateLimitedError):
                    self._blocked_until_ms = max(self._blocked_until_ms, exc.reset_ms or 0)
                attempt += 1
                if attempt >= policy.attempts:
                    raise
                wait = self._retry_wait(exc, policy, attempt - 1)
                if wait is None or slept + wait > policy.max_wait:
                    raise
                log.warning("%s %s failed (%s); retry %d in %.2fs", method, path, _brief(exc), attempt, wait)
                self._sleep(wait)
                slept += wait
                timestamp = None  # a retry must be signed with a fresh, higher timestamp

    def _honour_rate_limit(self, method: str, path: str, policy: RetryPolicy) -> float:
        """Send nothing before the reset time of the last 429: wait for it (GET, DELETE, within
        the retry budget), or refuse at once without sending (POST, or too long a wait).
        Returns the time slept, which counts against the call's retry budget."""
        wait = self._blocked_until_ms / 1000 - time.time()
        if wait <= 0:
            return 0.0
        if method == "POST" or wait > policy.max_wait:
            raise RateLimitedError(
                {"status": 429, "errors": [{"code": "rate_limited",
                                            "message": f"not sent: rate limited for another {wait:.2f}s"}]},
                status=429, reset_ms=self._blocked_until_ms)
        log.info("%s %s waits %.2fs for the rate limit to reset", method, path, wait)
        self._sleep(wait)
        return wait

    def _retry_wait(self, exc: Exception, policy: RetryPolicy, attempt: int) -> float | None:
        if isinstance(exc, RateLimitedError) and exc.reset_ms is not None:
            return max(0.0, exc.reset_ms / 1000 - time.time()) + 0.01
        return policy.delay(attempt)

    def _send_once(
        self,
        method: str,
        url: str,
        path: str,
        data: bytes | None,
        authenticate: bool,
        timestamp: int | str | None,
    ) -> Response:
        headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "Accept-Encoding": reply_body.ACCEPT_ENCODING}
        request = requests.Request(method, url, headers=headers, data=data)
        started = time.perf_counter()
        try:
            if authenticate:
                assert self.api_key is not None
                assert self._secret is not None
                ts = None if timestamp is None else int(timestamp)
                if self._turn is None:
                    self._turn = key_turn(self.api_key)
                with self._turn.hold() as clock:  # timestamps reach the server in their order
                    request.auth = ButtercoinAuth(self.api_key, self._secret, clock, ts)
                    started = time.perf_counter()  # waiting for the turn is not the exchange's time
                    response = self._transmit(request, method, path)
            else:
                response = self._transmit(request, method, path)
        except BaseButtercoinClientError as exc:
            self._observe(method, path, started, _outcome(exc))
            raise
        self._observe(method, path, started, str(response.status))
        return response

    def _observe(self, method: str, path: str, started: float, outcome: str) -> None:
        observer = self.on_call
        if observer is None:
            return
        try:
            observer(method, endpoint_template(path), time.perf_counter() - started, outcome)
        except Exception:
            log.exception("the on_call observer failed; the call itself is unaffected")

    def _transmit(self, request: requests.Request, method: str, path: str) -> Response:
        """Send one request and read its whole answer within :attr:`timeout` (see
        :mod:`botkit.client.deadline`), then interpret it."""
        with deadline(self.timeout) as exchange:
            http, raw = self._exchange(request, method, path, exchange)
        return self._interpret(http, raw, method, path)

    def _exchange(self, request: requests.Request, method: str, path: str,
                  exchange: HttpExchange) -> tuple[requests.Response, bytes]:
        http: requests.Response | None = None
        read_whole = False
        try:
            prepared = self.session.prepare_request(request)
            if self._proxies is None:  # every URL shares the base URL's host: resolve once
                self._proxies = resolve_proxies(
                    prepared, dict(self.session.proxies), self.session.trust_env
                )
            http = self.session.send(
                prepared, timeout=self.timeout, allow_redirects=False, proxies=dict(self._proxies),
                stream=True,
            )
            try:
                raw = reply_body.read(http.raw, http.headers, self.max_reply_bytes, f"{method} {path}",
                                      lambda: exchange.expired or exchange.remaining() <= 0)
                read_whole = True
            except MalformedResponseError:
                if http.status_code < 400 and not exchange.expired:
                    raise
                raw = b""  # the status is the fact; an error body that is too large tells nothing more
            if exchange.expired:  # cut mid-headers, http.client may take what came as a reply
                raise DeadlineExceeded(f"{method} {path}")
            return http, raw
        except MemoryError:
            raise MalformedResponseError(
                f"{method} {path}: reply too large to hold in memory", status=_status(http)
            ) from None
        except Exception as exc:
            if isinstance(exc, BaseButtercoinClientError):
                raise
            error = self._transport_error(exc, method, path, exchange)
            deadline_passed = error.may_have_reached_server and (exchange.expired or isinstance(exc, DeadlineExceeded))
            raise error from (DeadlineExceeded(f"{method} {path}") if deadline_passed else exc)
        finally:
            if http is not None and (exchange.expired or not read_whole):
                http.close()  # a cut or half-read connection must not go back to the pool

    def _transport_error(self, exc: Exception, method: str, path: str,
                         exchange: HttpExchange) -> TransportError:
        """The :class:`TransportError` for what ``requests``/``urllib3`` raised."""
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return TransportError(f"{method} {path}: connect timeout after {self.timeout}s",
                                  may_have_reached_server=False, method=method, path=path)
        if isinstance(exc, requests.exceptions.ConnectionError) and _is_connect_failure(exc):
            return TransportError(f"{method} {path}: connection failed: {_root_cause(exc)}",
                                  may_have_reached_server=False, method=method, path=path)
        if exchange.expired or isinstance(exc, DeadlineExceeded):
            return TransportError(f"{method} {path}: no answer within {self.timeout}s (the whole "
                                  "answer: connect, headers and body)",
                                  may_have_reached_server=True, method=method, path=path)
        if isinstance(exc, requests.exceptions.ReadTimeout | urllib3.exceptions.ReadTimeoutError):
            return TransportError(f"{method} {path}: no answer within {self.timeout}s",
                                  may_have_reached_server=True, method=method, path=path)
        if isinstance(exc, requests.exceptions.ConnectionError | urllib3.exceptions.HTTPError | OSError):
            return TransportError(f"{method} {path}: connection lost: {_root_cause(exc)}",
                                  may_have_reached_server=True, method=method, path=path)
        return TransportError(f"{method} {path}: {type(exc).__name__}: {_root_cause(exc)}",
                              may_have_reached_server=True, method=method, path=path)

    def _interpret(self, http: requests.Response, raw: bytes, method: str, path: str) -> Response:
        self.rate_limit = RateLimit(
            _int_header(http.headers, "X-Rate-Limit-Limit"),
            _int_header(http.headers, "X-Rate-Limit-Remaining"),
            _int_header(http.headers, "X-Rate-Limit-Reset"),
        )
        status = http.status_code
        if status >= 400:
            # The status is the fact; a body that is not the contract's (a proxy's HTML page, a
            # cut-off reply) only changes the message, never the kind of error.
            reset_ms = self._sane_reset(self.rate_limit.reset_ms) if status == 429 else None
            raise api_error_for(status, _error_body(raw, status), reset_ms=reset_ms)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedResponseError(
                f"{method} {path}: reply is not UTF-8", status=status, body=repr(raw[:200])
            ) from None
        if status == 200:
            return Response(status, http.headers, _parse_json(text, status, f"{method} {path}"))
        if status in (201, 202, 204):
            return Response(status, http.headers, None)
        raise MalformedResponseError(
            f"{method} {path}: unexpected HTTP status {status}", status=status, body=text
        )

    def _sane_reset(self, reset_ms: int | None) -> int | None:
        """A 429's reset time, at most :data:`MAX_SERVER_WAIT` ahead (the oddity logged once)."""
        if reset_ms is None:
            return None
        latest = time.time_ns() // 1_000_000 + int(MAX_SERVER_WAIT * 1000)
        if reset_ms <= latest:
            return reset_ms
        level = logging.DEBUG if self._odd_reset_logged else logging.WARNING
        self._odd_reset_logged = True
        log.log(level, "X-Rate-Limit-Reset %d is %.0fs away, beyond any sane wait: waiting %.0fs instead "
                "(a broken header, or microseconds sent as milliseconds)",
                reset_ms, (reset_ms - latest) / 1000 + MAX_SERVER_WAIT, MAX_SERVER_WAIT)
        return latest

    # ------------------------------------------------------------------ 1.0.2 calls

    def _result(self, response: Response, unwrap: str | None = None) -> Any:
        if response.status == 201:
            return dict(CONFIRMATION_REQUIRED)
        if response.status == 202:
            location = response.headers.get("Location")
            if not location:
                raise MalformedResponseError("202 reply without a Location header", status=202)
            return location
        if response.status == 204:
            return dict(COMPLETED)
        data = response.data
        if unwrap is not None:
            if not isinstance(data, dict) or unwrap not in data:
                raise MalformedResponseError(
                    f"reply has no {unwrap!r} field", status=response.status, body=str(data)
                )
            return data[unwrap]
        return data

    def _get(
        self,
        path: str,
        timestamp: int | str | None = None,
        body: Mapping[str, Any] | None = None,
        authenticate: bool = True,
        unwrap: str | None = None,
    ) -> Any:
        response = self.request(
            "GET", path, query=body, authenticate=authenticate, timestamp=timestamp
        )
        return self._result(response, unwrap)

    def get_ticker(self) -> Any:
        """The last price, best bid and best ask: ``{"currency","last","bid","ask"}``."""
        return self._get("ticker", authenticate=False)

    def get_order_book(self) -> Any:
        """Every resting price level: ``{"bid": [...], "ask": [...], ...}``."""
        return self._get("orderbook", authenticate=False)

    def get_trade_history(self) -> Any:
        """The last 100 public trades, newest first (the ``trades`` list)."""
        return self._get("trades", authenticate=False, unwrap="trades")

    def get_key(self, timestamp: int | str | None = None) -> Any:
        """The permissions of this API key (a list of strings)."""
        return self._get("key", timestamp, unwrap="permissions")

    def get_balances(self, timestamp: int | str | None = None) -> Any:
        """Total holdings per currency, open orders' reserves included."""
        return self._get("account/balances", timestamp)

    def get_deposit_address(self, timestamp: int | str | None = None) -> Any:
        """The bitcoin address to deposit into this account."""
        return self._get("account/depositAddress", timestamp, unwrap="address")

    def get_orders(
        self, body: Mapping[str, Any] | None = None, timestamp: int | str | None = None
    ) -> Any:
        """Orders matching the filters in ``body`` (status, side, orderType, dateMin, dateMax)."""
        return self._get("orders", timestamp, body or {}, unwrap="results")

    def get_order_by_id(self, order_id: str, timestamp: int | str | None = None) -> Any:
        return self._get(f"orders/{quote(str(order_id), safe='')}", timestamp)

    def get_order_by_url(self, url: str, timestamp: int | str | None = None) -> Any:
        return self._get(_tail(url, "orders/"), timestamp)

    def get_transactions(
        self, body: Mapping[str, Any] | None = None, timestamp: int | str | None = None
    ) -> Any:
        """Transactions matching the filters in ``body``.

        Filters: status, transactionType, dateMin, dateMax.
        """
        return self._get("transactions", timestamp, body or {}, unwrap="results")

    def get_transaction_by_id(self, transaction_id: str, timestamp: int | str | None = None) -> Any:
        return self._get(f"transactions/{quote(str(transaction_id), safe='')}", timestamp)

    def get_transaction_by_url(self, url: str, timestamp: int | str | None = None) -> Any:
        return self._get(_tail(url, "transactions/"), timestamp)

    def _post(self, path: str, body: Mapping[str, Any] | None, timestamp: int | str | None) -> Any:
        return self._result(self.request("POST", path, body=body or {}, timestamp=timestamp))

    def create_order(
        self, body: Mapping[str, Any] | None = None, timestamp: int | str | None = None
    ) -> Any:
        """Place an order; returns its URL (the ``Location`` header). Never retried."""
        return self._post("orders", body, timestamp)

    def create_deposit(
        self, body: Mapping[str, Any] | None = None, timestamp: int | str | None = None
    ) -> Any:
        return self._post("transactions/deposit", body, timestamp)

    def create_withdrawal(
        self, body: Mapping[str, Any] | None = None, timestamp: int | str | None = None
    ) -> Any:
        return self._post("transactions/withdraw", body, timestamp)

    def send_bitcoin(
        self, body: Mapping[str, Any] | None = None, timestamp: int | str | None = None
    ) -> Any:
        return self._post("transactions/send", body, timestamp)

    def cancel_order(self, order_id: str, timestamp: int | str | None = None) -> Any:
        path = f"orders/{quote(str(order_id), safe='')}"
        return self._result(self.request("DELETE", path, timestamp=timestamp))

    def cancel_transaction(self, transaction_id: str, timestamp: int | str | None = None) -> Any:
        path = f"transactions/{quote(str(transaction_id), safe='')}"
        return self._result(self.request("DELETE", path, timestamp=timestamp))

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> ButtercoinClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------- helpers


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tail(url: str, marker: str) -> str:
    pos = url.rfind(marker)
    if pos < 0:
        raise ValueError(f"{url!r} has no {marker!r} part")
    return url[pos:]


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _error_body(raw: bytes, status: int) -> dict[str, Any]:
    """The contract's error body, or one built from the status when the body is anything else."""
    text = raw.decode("utf-8", errors="replace")
    try:
        body = jsonutil.loads(text) if text.strip() else None
    except jsonutil.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return body
    return {"status": status, "errors": [{"code": "http_error", "message": _summary(text, status)}]}


def _parse_json(text: str, status: int, call: str) -> Any:
    """The body's JSON; the error names the call, so a log line says which answer was bad."""
    try:
        return jsonutil.loads(text)
    except jsonutil.JSONDecodeError as exc:
        raise MalformedResponseError(
            f"{call}: reply is not JSON ({exc})", status=status, body=text
        ) from None
    except MemoryError:
        raise MalformedResponseError(f"{call}: reply too large to parse", status=status) from None


def _summary(text: str, status: int) -> str:
    snippet = " ".join(text.split())[:120]
    return f"HTTP {status}" + (f": {snippet}" if snippet else "")


def _is_connect_failure(exc: requests.exceptions.ConnectionError) -> bool:
    """True when the TCP connection was never established, so the request cannot have arrived."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 10:
        name = type(cause).__name__
        if name in (
            "NewConnectionError",
            "ConnectionRefusedError",
            "NameResolutionError",
            "gaierror",
        ):
            return True
        cause = (
            cause.__context__
            or cause.__cause__
            or (cause.args[0] if cause.args and isinstance(cause.args[0], BaseException) else None)
        )
        seen += 1
    text = str(exc)
    return "NewConnectionError" in text or "Connection refused" in text


def _root_cause(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "..."


def _outcome(exc: BaseButtercoinClientError) -> str:
    """What an on_call observer is told about a failed attempt (see :data:`CallObserver`)."""
    if isinstance(exc, ButtercoinApiError):
        return str(exc.status)
    if isinstance(exc, MalformedResponseError):
        return "malformed"
    cause = exc.__cause__
    if isinstance(cause, requests.exceptions.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
        return "timeout"
    if isinstance(cause, requests.exceptions.ConnectionError | urllib3.exceptions.ProtocolError):
        return "connection_error"
    return "transport_error"


def _brief(exc: BaseException) -> str:
    if isinstance(exc, ButtercoinApiError):
        return f"HTTP {exc.status}"
    return type(exc).__name__


def _status(http: requests.Response | None) -> int | None:
    return None if http is None else http.status_code


def _mount_deadline_adapter(session: requests.Session, base_url: str) -> None:
    """Send through :class:`DeadlineAdapter`, so that the call's deadline can cut a connection.

    A session's stock adapter is replaced for the base URL, keeping its pool settings; an adapter
    of the caller's own making is kept (it then has per-read timeouts only: see docs/client.md).
    """
    current = session.get_adapter(base_url)
    if isinstance(current, DeadlineAdapter) or type(current) is not HTTPAdapter:
        return
    pool = {name: getattr(current, f"_{name}") for name in ("pool_connections", "pool_maxsize", "pool_block")
            if hasattr(current, f"_{name}")}
    session.mount(base_url, DeadlineAdapter(max_retries=current.max_retries, **pool))
