"""Request signing as a ``requests`` auth object, and the per-client timestamp clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests
from requests.auth import AuthBase

from botkit.client.signing import signature

OBSERVE_WINDOW_MS = 5 * 60 * 1000
"""The exchange's window around its clock (docs/buttercoin-api-v1.md)."""


class TimestampClock:
    """Issues strictly increasing millisecond timestamps, safe to share between threads.

    The server refuses a timestamp not greater than the last one it accepted for a key, so two
    requests in the same millisecond must still get different, increasing values.
    """

    def __init__(self, now_ms: Callable[[], int] | None = None) -> None:
        self._now_ms = now_ms or (lambda: time.time_ns() // 1_000_000)
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(self._now_ms(), self._last + 1)
            return self._last

    def observe(self, timestamp: int) -> None:
        """Note a timestamp used elsewhere so that later automatic ones stay above it.

        One further from now than the exchange's 5-minute window is ignored: the exchange refuses
        it anyway, and following it would make every later request of the key stale.
        """
        with self._lock:
            if abs(timestamp - self._now_ms()) <= OBSERVE_WINDOW_MS:
                self._last = max(self._last, timestamp)

    @property
    def last(self) -> int:
        """The largest timestamp issued or observed so far (0 before the first)."""
        with self._lock:
            return self._last


class ButtercoinAuth(AuthBase):
    """Signs a prepared request with the contract's HMAC rule over the URL and body as sent.

    ``timestamp`` pins the next signature's timestamp (the original client's ``timestamp=``
    argument); otherwise the clock issues one.
    """

    def __init__(
        self, api_key: str, api_secret: str, clock: TimestampClock, timestamp: int | None = None
    ) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self._clock = clock
        self._timestamp = timestamp

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._timestamp is not None:
            ts = self._timestamp
            self._clock.observe(ts)
        else:
            ts = self._clock.next()
        body = r.body or b""
        r.headers["X-Buttercoin-Access-Key"] = self.api_key
        r.headers["X-Buttercoin-Signature"] = signature(self._secret, ts, r.url or "", body)
        r.headers["X-Buttercoin-Date"] = str(ts)
        return r

    def __repr__(self) -> str:
        return f"ButtercoinAuth(api_key={self.api_key!r}, api_secret=<hidden>)"
