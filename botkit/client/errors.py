"""The client's one exception tree.

::

    BaseButtercoinClientError
    ├── InvalidEnvironmentError        credentials missing or bad mode; nothing was sent
    ├── TransportError                 no HTTP answer (timeout, reset, refused)
    │   └── .may_have_reached_server   True when the request may have been acted on
    ├── MalformedResponseError         an answer that is not the contract's JSON
    └── ButtercoinApiError             HTTP status >= 400, text compatible with the 1.0.2 client
        ├── BadRequestError            400, 405, 406, 415
        ├── AuthenticationError        401
        ├── PermissionDeniedError      403
        ├── NotFoundError              404
        ├── RateLimitedError           429 (.reset_ms from X-Rate-Limit-Reset)
        └── ServerError                5xx

No ``requests`` or ``json`` exception escapes the client: each is translated into one of these.
"""

from __future__ import annotations

from typing import Any


class BaseButtercoinClientError(Exception):
    """Base class for every error raised by the Buttercoin client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self._message = message

    def __str__(self) -> str:
        return self._message


class InvalidEnvironmentError(BaseButtercoinClientError):
    """Missing API key or secret for an authenticated call, or an unknown mode."""


class TransportError(BaseButtercoinClientError):
    """The request got no HTTP answer.

    ``may_have_reached_server`` is False only when the connection was never made (refused, DNS,
    connect timeout): then the request certainly had no effect. After a read timeout or a reset
    the server may have acted on it, so a POST's outcome is unknown.
    """

    def __init__(
        self, message: str, *, may_have_reached_server: bool, method: str, path: str
    ) -> None:
        super().__init__(message)
        self.may_have_reached_server = may_have_reached_server
        self.method = method
        self.path = path


class MalformedResponseError(BaseButtercoinClientError):
    """The server answered, but not with what the contract promises (not JSON, wrong shape)."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body[:500]


class ButtercoinApiError(BaseButtercoinClientError):
    """The API answered with an HTTP status of 400 or more.

    ``str()`` matches the original client: ``Error from Buttercoin API. Details:`` followed by the
    first error's message and the stacktrace/unique ids when present.
    """

    def __init__(self, api_error: dict[str, Any], *, status: int | None = None) -> None:
        self.api_error = api_error
        errors = api_error.get("errors") or [{}]
        first = errors[0] if isinstance(errors, list) and isinstance(errors[0], dict) else {}
        self.status: int = status if status is not None else int(api_error.get("status") or 0)
        self.code: str = str(first.get("code", ""))
        self.message: str = str(first.get("message", ""))
        self.stacktrace_id: str | None = _opt_str(api_error.get("stacktrace_id"))
        self.unique_id: str | None = _opt_str(api_error.get("unique_id"))
        text = f"Error from Buttercoin API. Details:\n Message: {self.message}"
        if self.stacktrace_id is not None:
            text += f"\nStacktrace ID: {self.stacktrace_id}"
        if self.unique_id is not None:
            text += f"\nUnique ID: {self.unique_id}"
        super().__init__(text)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code!r}, "
            f"message={self.message!r})"
        )


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


class BadRequestError(ButtercoinApiError):
    """400 malformed request (also 405, 406 and 415: the request itself was wrong)."""


class AuthenticationError(ButtercoinApiError):
    """401: unknown key, bad signature, stale or replayed timestamp."""


class PermissionDeniedError(ButtercoinApiError):
    """403: the key lacks the permission for this call."""


class NotFoundError(ButtercoinApiError):
    """404: no such order, transaction or path."""


class RateLimitedError(ButtercoinApiError):
    """429: over the rate limit; ``reset_ms`` is when the next call will be allowed (epoch ms)."""

    def __init__(
        self, api_error: dict[str, Any], *, status: int | None = None, reset_ms: int | None = None
    ) -> None:
        super().__init__(api_error, status=status)
        self.reset_ms = reset_ms


class ServerError(ButtercoinApiError):
    """5xx: the exchange failed (500) or is in maintenance (503)."""


def api_error_for(
    status: int, body: dict[str, Any], reset_ms: int | None = None
) -> ButtercoinApiError:
    """Build the right :class:`ButtercoinApiError` subclass for an HTTP status."""
    if status == 429:
        return RateLimitedError(body, status=status, reset_ms=reset_ms)
    kind: type[ButtercoinApiError]
    if status == 401:
        kind = AuthenticationError
    elif status == 403:
        kind = PermissionDeniedError
    elif status == 404:
        kind = NotFoundError
    elif status >= 500:
        kind = ServerError
    elif status in (400, 405, 406, 415):
        kind = BadRequestError
    else:
        kind = ButtercoinApiError
    return kind(body, status=status)
