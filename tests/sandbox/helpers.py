"""Accounts, clients and raw signed requests shared by the sandbox tests."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import requests

from botkit.client import ButtercoinClient, RetryPolicy
from botkit.client.signing import signature
from botkit.core import jsonutil
from botkit.sandbox import Sandbox, SandboxAccount

ALICE = ("alice", "alice-secret")
BOB = ("bob", "bob-secret")
START = {"USD": Decimal("100000"), "BTC": Decimal("10")}
NO_RETRY = RetryPolicy(attempts=1)

LIMIT_BUY = {"instrument": "BTC_USD", "side": "buy", "orderType": "limit", "price": "400.00", "quantity": "1"}


def funded_accounts() -> list[SandboxAccount]:
    return [SandboxAccount(key, secret, dict(START)) for key, secret in (ALICE, BOB)]


def client_for(sandbox: Sandbox, credentials: tuple[str, str], **kwargs: Any) -> ButtercoinClient:
    kwargs.setdefault("retry", NO_RETRY)
    kwargs.setdefault("timeout", 10.0)
    return ButtercoinClient(credentials[0], credentials[1], base_url=sandbox.base_url, **kwargs)


def order(side: str, price: str | None, quantity: str, instrument: str = "BTC_USD") -> dict[str, str]:
    body = {"instrument": instrument, "side": side, "orderType": "limit" if price else "market", "quantity": quantity}
    if price:
        body["price"] = price
    return body


def order_id(location: str) -> str:
    return location.rsplit("/", 1)[1]


class Signer:
    """Raw signed requests, to send what the client never would (bad signatures, replays...)."""

    def __init__(self, sandbox: Sandbox, credentials: tuple[str, str]) -> None:
        self.base_url = sandbox.base_url
        self.key, self.secret = credentials
        self.session = requests.Session()
        self.last = 0

    def timestamp(self) -> int:
        self.last = max(time.time_ns() // 1_000_000, self.last + 1)
        return self.last

    def headers(self, url: str, body: bytes = b"", timestamp: int | None = None) -> dict[str, str]:
        ts = self.timestamp() if timestamp is None else timestamp
        return {
            "X-Buttercoin-Access-Key": self.key,
            "X-Buttercoin-Signature": signature(self.secret, ts, url, body),
            "X-Buttercoin-Date": str(ts),
            "Content-Type": "application/json",
        }

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        timestamp: int | None = None,
        extra: dict[str, str] | None = None,
    ) -> requests.Response:
        url = self.base_url + path
        data = b"" if body is None else (body if isinstance(body, bytes) else jsonutil.dumps(body).encode())
        headers = self.headers(url, data, timestamp)
        headers.update(extra or {})
        return self.session.request(method, url, data=data or None, headers=headers, timeout=10)


def error_code(response: requests.Response) -> str:
    body = jsonutil.loads(response.content)
    assert body["status"] == response.status_code
    return str(body["errors"][0]["code"])


@contextmanager
def script_until_released(script: str, *args: str, ready: str) -> Iterator[None]:
    """Run a Python ``script`` in another process until it prints ``ready``; on leaving the
    block, send it a line (the script's cue to finish) and expect exit status 0."""
    process = subprocess.Popen([sys.executable, "-c", script, *args], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdin is not None
        assert process.stdout.readline().strip() == ready
        yield
        process.stdin.write("\n")
        process.stdin.flush()
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
