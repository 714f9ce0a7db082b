"""Who may use the dashboard: the holder of the token, by ``Authorization: Bearer TOKEN`` or by a
session cookie the login form sets.

Every path but the login form needs one of them. A POST made with the session cookie must also
carry the session's CSRF token (the ``X-CSRF-Token`` header or a ``csrf`` form field): a browser
sends the cookie with a request another site makes it send, never that token. A bearer token is
never sent by a browser on its own, so it needs no CSRF token. A wrong token is a 401, and after
:data:`FREE_FAILURES` wrong ones from an address each further one waits longer before its answer
(doubling, up to :data:`MAX_DELAY_S`), so guessing costs time; a right one ends the wait.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
from collections import OrderedDict

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

FREE_FAILURES = 5
"""Wrong tokens from one address answered at once; from the next on, each waits."""
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 8.0
FORGET_AFTER_S = 900.0
"""An address that stops failing for this long starts afresh."""
MAX_TRACKED = 10_000
"""Addresses remembered at once (the oldest are forgotten), so failures cannot fill the memory."""
LOGIN_PATH = "/login"
PUBLIC = frozenset({LOGIN_PATH, "/static/page.css"})
"""The only paths served without the token: the login form and its style sheet."""
CSRF_HEADER = "x-csrf-token"
SESSION_KEY = "auth"


class Guard:
    """Checks tokens and slows down whoever keeps getting them wrong."""

    def __init__(self, token: str, *, free_failures: int = FREE_FAILURES, first_delay: float = FIRST_DELAY_S,
                 max_delay: float = MAX_DELAY_S) -> None:
        self._token = token.encode()
        self.session_mark = secrets.token_urlsafe(16)
        """Stored in a logged-in session: a session of another process (another token) lacks it."""
        self.free_failures = free_failures
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._failures: OrderedDict[str, tuple[int, float]] = OrderedDict()

    def valid(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._token)

    def delay(self, client: str) -> float:
        """How long the next wrong answer to ``client`` waits."""
        count, last = self._failures.get(client, (0, 0.0))
        if time.monotonic() - last > FORGET_AFTER_S:
            count = 0
        extra = count - self.free_failures
        return 0.0 if extra < 0 else min(self.first_delay * 2 ** extra, self.max_delay)

    async def failed(self, client: str) -> None:
        """Count a wrong token and wait as long as the count says."""
        wait = self.delay(client)
        count, last = self._failures.pop(client, (0, 0.0))
        now = time.monotonic()
        self._failures[client] = (1 if now - last > FORGET_AFTER_S else count + 1, now)
        while len(self._failures) > MAX_TRACKED:
            self._failures.popitem(last=False)
        if wait:
            await asyncio.sleep(wait)

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


def client_of(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


def unauthorized(message: str) -> Response:
    return JSONResponse({"error": message}, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="botkit"'})


class TokenMiddleware(BaseHTTPMiddleware):
    """Lets a request through only with the token (see the module's docstring); sets
    ``request.state.who``, the name actions are journaled under."""

    def __init__(self, app: object, guard: Guard) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.guard = guard

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        client = client_of(request)
        if request.url.path in PUBLIC:
            return await call_next(request)
        header = request.headers.get("authorization")
        if header is not None:
            scheme, _, value = header.partition(" ")
            if scheme.lower() != "bearer" or not self.guard.valid(value.strip()):
                await self.guard.failed(client)
                return unauthorized("wrong token" if scheme.lower() == "bearer" else "use Authorization: Bearer TOKEN")
            self.guard.succeeded(client)
            request.state.who = f"api token from {client}"
            return await call_next(request)
        if request.session.get(SESSION_KEY) != self.guard.session_mark:
            if request.url.path.startswith("/api/"):
                return unauthorized("log in, or send Authorization: Bearer TOKEN")
            return RedirectResponse(f"{LOGIN_PATH}?next={request.url.path}", status_code=303)
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            sent = request.headers.get(CSRF_HEADER)
            if sent is None and request.headers.get("content-type", "").startswith(
                    "application/x-www-form-urlencoded"):
                field = (await request.form()).get("csrf")
                sent = field if isinstance(field, str) else None
            if sent is None or not hmac.compare_digest(sent.encode(), str(request.session.get("csrf", "")).encode()):
                return JSONResponse({"error": "missing or wrong CSRF token (the X-CSRF-Token header)"},
                                    status_code=403)
        request.state.who = f"web session from {client}"
        return await call_next(request)


def log_in(request: Request, guard: Guard) -> None:
    """Mark the session logged in, with a fresh CSRF token."""
    request.session.clear()
    request.session[SESSION_KEY] = guard.session_mark
    request.session["csrf"] = secrets.token_urlsafe(24)


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path of this site only, never another site (``//host``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target
