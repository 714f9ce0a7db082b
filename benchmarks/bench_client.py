"""Client figures: signatures per second, and sequential GET round trips per second over loopback
with keep-alive.

    .venv/bin/python benchmarks/bench_client.py [--requests 3000] [--signatures 200000]

The server is waitress (HTTP/1.1 keep-alive, the sandbox's server) answering every path with the
contract's ticker body, so what is measured is the client side: ``requests`` on a pooled
connection, plus what botkit adds (URL building, signing, exact-Decimal JSON parsing, the
rate-limit headers). Reference points on the machine that wrote the issue: signing ≈ 2 µs; a
plain ``requests`` GET round trip ≈ 0.6-0.7 ms.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import requests
from waitress.server import create_server

from botkit.client import ButtercoinClient
from botkit.client.signing import signature

TICKER = b'{"currency":"USD","last":404.12,"bid":403.98,"ask":404.22}'
SECRET = "abcdefghijklmnopqrstuvwxyz123456"


CLIENT_PORTS: set[str] = set()
"""Remote ports seen by the server: one per TCP connection, so keep-alive shows as few."""


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    CLIENT_PORTS.add(environ.get("REMOTE_PORT", "?"))
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(TICKER))),
            ("X-Rate-Limit-Limit", "120"),
            ("X-Rate-Limit-Remaining", "119"),
            ("X-Rate-Limit-Reset", "1410806083687"),
        ],
    )
    return [TICKER]


def best_of(runs: int, n: int, fn: Callable[[], object]) -> list[float]:
    """Seconds per call for each of ``runs`` runs of ``n`` calls."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        out.append((time.perf_counter() - start) / n)
    return out


def report(label: str, per_call: list[float], unit: str) -> None:
    best, median = min(per_call), statistics.median(per_call)
    scale, suffix = (1e6, "µs") if best < 1e-4 else (1e3, "ms")
    print(
        f"{label:<42} {median * scale:8.2f} {suffix}/{unit} (best {best * scale:.2f})"
        f"   {1 / median:>12,.0f} {unit}s/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="round trips per run")
    parser.add_argument("--signatures", type=int, default=200_000, help="signatures per run")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    url = "https://api.buttercoin.com/v1/key"
    report(
        "signature() GET, no body",
        best_of(args.runs, args.signatures, lambda: signature(SECRET, 1403558182457, url)),
        "signature",
    )
    body = (
        '{"instrument":"BTC_USD","side":"buy","orderType":"limit",'
        '"price":"600","quantity":"0.2346"}'
    )
    report(
        "signature() POST, 90-byte body",
        best_of(
            args.runs,
            args.signatures,
            lambda: signature(SECRET, 1403558182457, "https://api.buttercoin.com/v1/orders", body),
        ),
        "signature",
    )

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" chatter
    server = create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    try:
        session = requests.Session()
        plain = f"{base}/v1/ticker"
        client = ButtercoinClient("bench-key", SECRET, base_url=base)
        calls: list[tuple[str, Callable[[], object]]] = [
            ("GET requests.Session.get (plain)", lambda: session.get(plain).content),
            ("GET client.get_ticker() (Decimal parse)", client.get_ticker),
            ("GET client.get_balances() (signed)", client.get_balances),
        ]
        for label, fn in calls:
            CLIENT_PORTS.clear()
            for _ in range(200):  # warm up: connection pooled, code paths hot
                fn()
            report(label, best_of(args.runs, args.requests, fn), "round trip")
            print(
                f"{'':<42} {len(CLIENT_PORTS)} TCP connection(s) for "
                f"{200 + args.runs * args.requests} requests"
            )
        print(
            f"\nloopback, HTTP/1.1 keep-alive, waitress ({server.adj.threads} threads); "
            f"median (and best) of {args.runs} runs of {args.requests} round trips / "
            f"{args.signatures} signatures"
        )
    finally:
        server.close()


if __name__ == "__main__":
    main()
