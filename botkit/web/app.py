"""The web app: the API, the pages, the token guard and the headers every answer carries."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from botkit.web import api, pages
from botkit.web.api import ExactJSON, Scope
from botkit.web.auth import Guard, TokenMiddleware
from botkit.web.openapi import SPEC

SESSION_HOURS = 12
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class SecurityHeaders(BaseHTTPMiddleware):
    """No framing, no inline script, no caching of account data, no referrer leaking a path."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response


def build_app(engine: Engine, token: str, *, bots: Sequence[str] | None = None, stale_after_ms: int = 30_000,
              reports: Sequence[Path] = (), guard: Guard | None = None, secure_cookie: bool = False) -> Starlette:
    """The app over a journal ``engine``: every bot in it, or only ``bots``. ``secure_cookie``
    marks the session cookie HTTPS-only (behind a TLS proxy)."""
    guard = guard or Guard(token)
    scope = Scope(engine, None if bots is None else frozenset(bots), stale_after_ms)

    def openapi(_request: Request) -> Response:
        return ExactJSON(SPEC)

    routes = [*api.routes(scope), Route("/api/openapi.json", openapi, methods=["GET"]),
              *pages.routes(guard, list(reports))]
    middleware = [
        Middleware(SecurityHeaders),
        # A key of this process: a restart (or a new token) ends every session.
        Middleware(SessionMiddleware, secret_key=secrets.token_urlsafe(32), session_cookie="botkit_session",
                   max_age=SESSION_HOURS * 3600, same_site="strict", https_only=secure_cookie),
        Middleware(TokenMiddleware, guard=guard),
    ]
    return Starlette(routes=routes, middleware=middleware)
