"""The signed Buttercoin v1 client (compatible with the official 1.0.2 client), typed layer on top.

Usage and every difference from the original: ``docs/client.md``.
"""

from botkit.client.client import ButtercoinClient, RateLimit, RetryPolicy
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
from botkit.client.typed import Buttercoin

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
