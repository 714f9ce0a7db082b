"""How long one hostile number stalls a real ``botkit sandbox`` process.

    .venv/bin/python benchmarks/bench_hostile_numbers.py [--quantity 1e-4000000] [--source PATH]

Starts ``botkit sandbox`` (from ``--source``, a checkout whose ``botkit`` package to run; default
this one), sends one signed ``POST /v1/orders`` whose quantity is ``--quantity``, and 0.3 s later a
``GET /v1/ticker`` on another connection. Prints the status and milliseconds of each: the ticker's
time is how long the exchange stopped serving everyone else. Before the number gate,
``1e-4000000`` stalled every connection for about 2 s (``1e-40000000``: minutes); with it, a few ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from botkit.client.signing import signature

ROOT = Path(__file__).resolve().parents[1]


def measure(source: Path, quantity: str) -> dict[str, tuple[int, int]]:
    env = dict(os.environ, PYTHONPATH=str(source))
    process = subprocess.Popen(
        [sys.executable, "-m", "botkit", "sandbox", "--port", "0", "--market", "off", "--rate-limit", "0",
         "--account", "bench:bench-secret:USD=1000"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=source,
    )
    try:
        assert process.stdout is not None
        base = process.stdout.readline().strip()
        url = base + "/v1/orders"
        order = {"instrument": "BTC_USD", "side": "buy", "orderType": "limit", "price": "400.00", "quantity": quantity}
        body = json.dumps(order, separators=(",", ":")).encode()
        ts = time.time_ns() // 1_000_000
        headers = {"X-Buttercoin-Access-Key": "bench", "X-Buttercoin-Date": str(ts),
                   "X-Buttercoin-Signature": signature("bench-secret", ts, url, body),
                   "Content-Type": "application/json"}
        out: dict[str, tuple[int, int]] = {}

        def hostile() -> None:
            start = time.perf_counter()
            status = requests.post(url, data=body, headers=headers, timeout=900).status_code
            out["hostile order"] = (status, round((time.perf_counter() - start) * 1000))

        thread = threading.Thread(target=hostile)
        thread.start()
        time.sleep(0.3)  # let the order reach its validation
        start = time.perf_counter()
        status = requests.get(base + "/v1/ticker", timeout=900).status_code
        out["concurrent ticker"] = (status, round((time.perf_counter() - start) * 1000))
        thread.join()
        return out
    finally:
        process.kill()
        process.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quantity", default="1e-4000000")
    parser.add_argument("--source", type=Path, default=ROOT)
    args = parser.parse_args()
    for what, (status, ms) in measure(args.source, args.quantity).items():
        print(f"{what:18} {status}  {ms:>7} ms")


if __name__ == "__main__":
    main()
