"""The signed Buttercoin v1 client (compatible with the official 1.0.2 client), typed layer on top.

Usage and every difference from the original: ``docs/client.md``.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from botkit.client.errors import (
    AuthenticationError,
    BadRequestError,
    BaseButtercoinClientError,
    ButtercoinApiError,
    InvalidEnvironmentError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from botkit.client.signing import signature
from botkit.core.lazy import lazy_facade as _lazy_facade

if _TYPE_CHECKING:
    from botkit.client.client import ButtercoinClient, RateLimit, RetryPolicy
    from botkit.client.typed import Buttercoin

# The client and its typed layer load requests: a lazy facade (botkit.core.lazy), so the parts
# that only share the wire parser (``botkit.client.parse``: the data files, the sandbox) do not.
__getattr__, __dir__ = _lazy_facade(__name__, {
    "ButtercoinClient": "botkit.client.client",
    "RateLimit": "botkit.client.client",
    "RetryPolicy": "botkit.client.client",
    "Buttercoin": "botkit.client.typed",
})

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "BaseButtercoinClientError",
    "Buttercoin",
    "ButtercoinApiError",
    "ButtercoinClient",
    "InvalidEnvironmentError",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "signature",
]
