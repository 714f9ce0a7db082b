"""Operations figures: the cost of /metrics, of the metrics per tick, and journal writes on PostgreSQL vs SQLite.

    python benchmarks/bench_operations.py [--scrapes 500] [--ticks 2000] [--journal-cycles 2000] [--postgres URL]

1. ``/metrics`` scrape size and cost, with a realistic number of label values (one bot, 3
   strategies, 9 exchange routes, a few error kinds, order statuses, sides, liquidities and risk
   rules, plus the standard process metrics): bytes plain and gzipped, wall time per scrape over
   HTTP from prometheus_client's own server, CPU per scrape (rendering alone, and the whole
   process during HTTP scrapes: server and client share it, so that is an upper bound).
2. What the metrics cost a tick: ``Engine.tick`` of the market maker with and without the
   metrics observer (engine state read + three indexed journal queries), against an in-memory
   venue, on SQLite and PostgreSQL.
3. Journal writes per second, PostgreSQL vs SQLite: ``bench_engine.bench_journal`` (the engine's
   write-ahead cycle of one order: pending, bind, fill; each its own committed transaction).

PostgreSQL figures run in a schema of their own (dropped after) when ``--postgres`` or
``BOTKIT_TEST_POSTGRES_URL`` names a server.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_engine import MemoryVenue, bench_journal, snapshots  # noqa: E402

from botkit import config as config_mod  # noqa: E402
from botkit.daemon import metrics as metrics_mod  # noqa: E402
from botkit.engine.assembly import plan_engine  # noqa: E402
from botkit.journal import Journal  # noqa: E402

D = Decimal
STRATEGIES = ("market_maker", "grid", "sma_crossover")
ROUTES = (("GET", "/v1/ticker"), ("GET", "/v1/orderbook"), ("GET", "/v1/trades"), ("GET", "/v1/account/balances"),
          ("GET", "/v1/orders"), ("GET", "/v1/orders/{id}"), ("POST", "/v1/orders"), ("DELETE", "/v1/orders/{id}"),
          ("GET", "/v1/key"))
ERROR_KINDS = ("timeout", "connection_error", "429", "503")
STATUSES = ("pending", "placed", "opened", "filled", "canceled", "rejected", "unknown", "not_placed")
RULES = ("max_position", "max_open_orders", "price_band", "daily_loss_limit", "unresolved")


def populated_metrics(bot: str = "maker-1") -> metrics_mod.Metrics:
    """One bot's metrics after a busy day: every label value it would plausibly have."""
    m = metrics_mod.Metrics()
    m.ticks.labels(bot).inc(43_200)
    for reason in metrics_mod.SKIP_REASONS:
        m.ticks_skipped.labels(bot, reason).inc(3)
    for i in range(1000):
        m.tick_duration.labels(bot).observe(0.004 * (1 + i % 50))
    m.last_snapshot_age.labels(bot).set_function(lambda: 0.7)
    for method, endpoint in ROUTES:
        for i in range(100):
            m.exchange_duration.labels(bot, method, endpoint).observe(0.0008 * (1 + i % 40))
        for kind in ERROR_KINDS[:2] if method == "POST" else ERROR_KINDS:
            m.exchange_errors.labels(bot, method, endpoint, kind).inc()
    for strategy in STRATEGIES:
        for status in STATUSES:
            m.orders.labels(bot, strategy, status).inc(100)
        m.cancel_requests.labels(bot, strategy).inc(50)
        for side in ("buy", "sell"):
            for liquidity in ("maker", "taker"):
                m.fills.labels(bot, strategy, side, liquidity).inc(20)
            m.fill_volume.inc((bot, strategy, side), D("1.25"))
            m.fill_notional.inc((bot, strategy, side), D("500.125"))
        m.fees.inc((bot, strategy), D("0.75"))
        for rule in RULES:
            m.risk_rejections.labels(bot, strategy, rule).inc()
        m.position.labels(bot, strategy).set(0.05)
        m.open_orders.labels(bot, strategy).set(2)
        m.strategy_failures.labels(bot, strategy).inc(0)
        m.strategy_paused.labels(bot, strategy).set(0)
    m.equity.labels(bot).set(104_000.5)
    m.unresolved_orders.labels(bot).set(0)
    m.kill_switch.labels(bot).set(0)
    return m


def bench_scrape(scrapes: int) -> None:
    server = metrics_mod.serve("127.0.0.1", 0, populated_metrics())  # as botkit run serves it (no *_created)
    body = server.metrics.render()
    lines = [line for line in body.decode().splitlines() if line and not line.startswith("#")]
    botkit_lines = [line for line in lines if line.startswith("botkit_")]
    print(f"/metrics: {len(body):,} bytes, {len(gzip.compress(body)):,} gzipped; {len(lines)} series "
          f"({len(botkit_lines)} botkit_*, the rest process/python)")

    started = time.thread_time()
    for _ in range(scrapes):
        server.metrics.render()
    render_cpu = (time.thread_time() - started) / scrapes
    print(f"render (generate_latest): {render_cpu * 1000:.2f} ms CPU per scrape")

    for encoding in ("identity", "gzip"):
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        size = 0
        wall = time.perf_counter()
        cpu = time.process_time()
        for _ in range(scrapes):
            conn.request("GET", "/metrics", headers={"Accept-Encoding": encoding})
            response = conn.getresponse()
            size = len(response.read())
        wall = (time.perf_counter() - wall) / scrapes
        cpu = (time.process_time() - cpu) / scrapes
        conn.close()
        print(f"HTTP scrape ({encoding:8s}): {wall * 1000:.2f} ms wall, {cpu * 1000:.2f} ms process CPU "
              f"(server + client) per scrape, {size:,} bytes on the wire")
    server.close()


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A throwaway schema on the server, so the figure starts from empty tables like SQLite's."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"botkit_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def bench_tick_metrics(url: str, label: str, ticks: int) -> None:
    data = snapshots(ticks)
    results: dict[bool, float] = {}
    for observed in (False, True, False, True):  # twice each, the best kept: other load only adds time
        cfg = config_mod.parse({"strategies": {"market_maker": {}}, "risk": {"max_open_orders": 1000}}, environ={})
        journal = Journal(url, bot_id=f"bench-{time.time_ns()}")
        engine = plan_engine(cfg, wall_clock=False).build(MemoryVenue(), journal)
        observer = metrics_mod.Metrics(process_metrics=False).for_bot(engine, journal) if observed else None
        engine.start(data[0].ts)
        warm_up, measured = data[: len(data) // 5], data[len(data) // 5:]
        for snapshot in warm_up:
            engine.tick(snapshot)
        if journal.engine.dialect.name == "postgresql":
            # What autovacuum does within a minute of a daemon's start: without statistics the
            # planner scans these young tables whole, which says nothing of a bot that runs for days.
            with journal.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        started = time.perf_counter()
        for snapshot in measured:
            report = engine.tick(snapshot)
            if observer is not None:
                observer.tick_done(report, 0.001)
        elapsed = (time.perf_counter() - started) / len(measured)
        results[observed] = min(elapsed, results.get(observed, elapsed))
        journal.close()
    extra = results[True] - results[False]
    print(f"tick with metrics, {label:10s}: {results[False] * 1e6:7.0f} µs without, {results[True] * 1e6:7.0f} µs "
          f"with: +{extra * 1e6:.0f} µs a tick")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scrapes", type=int, default=500)
    parser.add_argument("--ticks", type=int, default=2_000)
    parser.add_argument("--journal-cycles", type=int, default=2_000)
    parser.add_argument("--postgres", default=os.environ.get("BOTKIT_TEST_POSTGRES_URL"),
                        help="PostgreSQL server URL (default: $BOTKIT_TEST_POSTGRES_URL)")
    args = parser.parse_args(argv)
    bench_scrape(args.scrapes)
    with tempfile.TemporaryDirectory() as tmp:
        bench_tick_metrics(f"sqlite:///{tmp}/ticks.sqlite", "sqlite", args.ticks)
        bench_journal(f"sqlite:///{tmp}/j.sqlite", "sqlite", args.journal_cycles)
    if args.postgres:
        with postgres_schema(args.postgres) as url:
            bench_tick_metrics(url, "postgresql", args.ticks)
            bench_journal(url, "postgresql", args.journal_cycles)
    else:
        print("PostgreSQL figures skipped: pass --postgres URL or set BOTKIT_TEST_POSTGRES_URL")


if __name__ == "__main__":
    main()
