"""The dashboard beside a running bot: page load time, API latency, and what serving it costs a tick.

    .venv/bin/python benchmarks/bench_web.py                       # SQLite journal
    .venv/bin/python benchmarks/bench_web.py --postgres postgresql://postgres@127.0.0.1:5432/test

It starts ``botkit run --web-port 0 --metrics-port 0`` (the example market maker on the embedded
sandbox, a tick every 0.2 s) and, once it has traded for a while, measures:

* ``api``: the latency of ``GET /api/bots`` and ``GET /api/bots/BOT`` (everything the dashboard
  shows of one bot: status, fills, orders, series...), median and 95th percentile;
* ``page``: in Debian's headless chromium, from navigation to the dashboard showing the bot's
  data (the fills table filled in), median of several loads;
* ``tick``: the daemon's mean tick time (``botkit_tick_duration_seconds``) over a window with no
  one watching, then over one with clients polling the dashboard's two calls 10 times a second
  (five dashboards at once): the difference is what serving the dashboard costs each tick.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "bench-web-token-0123456789"
BOT = f"bench-web-{os.getpid()}"
"""A bot id of its own: a shared PostgreSQL database may hold other bots (all listed by /api/bots)."""
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def _wait_for(pattern: str, log: Path, proc: subprocess.Popen[str], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text()) if log.exists() else None
        if found:
            return found.group(1)
        if proc.poll() is not None:
            sys.exit(f"botkit run exited:\n{log.read_text()}")
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {pattern}")


def _tick_totals(metrics: str) -> tuple[float, float]:
    text = requests.get(metrics, timeout=30).text
    total = count = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "botkit_tick_duration_seconds_sum":
                total += sample.value
            elif sample.name == "botkit_tick_duration_seconds_count":
                count += sample.value
    return total, count


def _mean_tick_ms(metrics: str, seconds: float) -> float:
    total0, count0 = _tick_totals(metrics)
    time.sleep(seconds)
    total1, count1 = _tick_totals(metrics)
    return (total1 - total0) / max(count1 - count0, 1) * 1000


def _latencies(url: str, n: int) -> list[float]:
    taken = []
    with requests.Session() as session:
        for _ in range(n):
            started = time.perf_counter()
            session.get(url, headers=HEADERS, timeout=30).raise_for_status()
            taken.append((time.perf_counter() - started) * 1000)
    return taken


def _poll(base: str, stop: threading.Event) -> None:
    with requests.Session() as session:
        while not stop.is_set():
            for path in ("api/bots", f"api/bots/{BOT}"):
                session.get(base + path, headers=HEADERS, timeout=30)
            stop.wait(0.5)  # one dashboard polls every 2 s: five of these twice as fast = 10 a second


def _page_loads(base: str, loads: int) -> list[float]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from selenium.webdriver.common.by import By

    from tests.web.browser import chromium, log_in

    taken = []
    with chromium() as driver:
        log_in(driver, base, TOKEN)
        for _ in range(loads):
            started = time.perf_counter()
            driver.get(base)
            while not driver.find_elements(By.CSS_SELECTOR, "#fills tbody tr"):
                time.sleep(0.005)
            taken.append((time.perf_counter() - started) * 1000)
    return taken


def _row(name: str, values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{name:<28} median {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms   (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", metavar="URL", help="journal on this PostgreSQL server instead of SQLite")
    parser.add_argument("--requests", type=int, default=200, help="API calls timed per endpoint")
    parser.add_argument("--loads", type=int, default=10, help="page loads timed")
    parser.add_argument("--window", type=float, default=20.0, help="seconds of each tick-time window")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        journal = args.postgres or f"sqlite:///{work / 'journal.sqlite'}"
        config = work / "botkit.toml"
        config.write_text(f"""
[bot]
id = "{BOT}"
[journal]
url = "{journal}"
[engine]
interval_seconds = 0.2
[sandbox]
state_path = "{work / 'sandbox.sqlite'}"
[web]
token = "{TOKEN}"
[strategies.market_maker]
spread_bps = 4
size = 0.05
""")
        log = work / "run.log"
        with log.open("w") as stderr:
            proc = subprocess.Popen([sys.executable, "-m", "botkit", "run", "--config", str(config), "--web-port", "0",
                                     "--metrics-port", "0"], cwd=work, text=True, stdout=subprocess.DEVNULL,
                                    stderr=stderr)
        try:
            base = _wait_for(r"web dashboard at (http://\S+/)", log, proc)
            metrics = _wait_for(r"Prometheus metrics at (http://\S+/metrics)", log, proc)
            deadline = time.monotonic() + 120
            while not requests.get(base + f"api/bots/{BOT}", headers=HEADERS, timeout=30).json()["fills"]:
                if time.monotonic() > deadline:
                    sys.exit("no fill within 120 s")
                time.sleep(0.5)
            kind = "PostgreSQL" if args.postgres else "SQLite"
            detail = requests.get(base + f"api/bots/{BOT}", headers=HEADERS, timeout=30).json()
            print(f"journal: {kind}; bot at {detail['status']['ticks']} ticks, {len(detail['fills'])} fills shown")
            print(_row("GET /api/bots", _latencies(base + "api/bots", args.requests)))
            print(_row("GET /api/bots/BOT", _latencies(base + f"api/bots/{BOT}", args.requests)))
            print(_row("dashboard load to data", _page_loads(base, args.loads)))
            quiet = _mean_tick_ms(metrics, args.window)
            stop = threading.Event()
            pollers = [threading.Thread(target=_poll, args=(base, stop)) for _ in range(5)]
            for poller in pollers:
                poller.start()
            busy = _mean_tick_ms(metrics, args.window)
            stop.set()
            for poller in pollers:
                poller.join()
            print(f"{'mean tick, nobody watching':<28} {quiet:7.2f} ms")
            print(f"{'mean tick, 10 API calls/s':<28} {busy:7.2f} ms   (+{busy - quiet:.2f} ms a tick)")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


if __name__ == "__main__":
    main()
