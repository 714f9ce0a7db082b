"""Who is calling: the contract's HMAC signature, the 5-minute window and replay protection.

The server checks the signature over the URL *as the client addressed it* (the configured
public base URL, or scheme + ``Host`` header, then the raw request target exactly as it arrived,
never decoded and re-encoded) plus the raw body bytes, using :func:`botkit.client.signing.verify`
so that client and server share one implementation pinned by the contract's known-answer test.

Every failure is a 401 with code ``authentication_failed`` and a message that says which check
failed; a missing permission is a 403.
"""

from __future__ import annotations

from botkit.client.signing import verify
from botkit.sandbox.errors import ApiError
from botkit.sandbox.exchange import Exchange

WINDOW_MS = 5 * 60 * 1000
"""How far a request's timestamp may be from the server's clock, either way."""

KEY_HEADER = "X-Buttercoin-Access-Key"
SIGNATURE_HEADER = "X-Buttercoin-Signature"
DATE_HEADER = "X-Buttercoin-Date"


def _refuse(message: str) -> ApiError:
    return ApiError(401, "authentication_failed", message)


def authenticate(
    exchange: Exchange,
    key: str | None,
    signature: str | None,
    date: str | None,
    url: str,
    body: bytes,
) -> str:
    """The API key of a correctly signed, fresh, never-seen request; ApiError(401) otherwise."""
    if not key or not signature or not date:
        missing = [h for h, v in ((KEY_HEADER, key), (SIGNATURE_HEADER, signature), (DATE_HEADER, date)) if not v]
        raise _refuse(
            "The resource requires authentication, which was not supplied with the request "
            f"(missing {', '.join(missing)})"
        )
    credentials = exchange.credentials(key)
    if credentials is None:
        raise _refuse("unknown API key")
    if not (date.isascii() and date.isdigit()) or len(date) > 16:  # isdigit() alone accepts "²" and "١"
        raise _refuse(f"{DATE_HEADER} must be integer milliseconds since the Unix epoch")
    timestamp = int(date)
    now = exchange.now_ms()
    if abs(now - timestamp) > WINDOW_MS:
        raise _refuse(f"stale timestamp: {timestamp} is more than 5 minutes from server time {now}")
    secret, _ = credentials
    if not verify(secret, date, url, body, signature):
        raise _refuse(f"bad signature for {url}")
    if not exchange.accept_timestamp(key, timestamp):
        raise _refuse(
            f"replayed timestamp: {timestamp} is not greater than the last accepted "
            f"{exchange.last_timestamp(key)} for this key"
        )
    return key


def require(exchange: Exchange, key: str, permission: str) -> None:
    if permission not in exchange.permissions(key):
        raise ApiError(403, "permission_denied", f"this API key lacks the {permission!r} permission")
