"""Throughput and latency of the sandbox.

    .venv/bin/python benchmarks/bench_sandbox.py [--orders N] [--http N] [--threads N]

Prints:
1. the matching engine (``botkit.sandbox.book``) alone: limit orders per second in-process, a
   stream around one price so that about a third cross, with one resting order in four canceled;
2. the whole exchange in-process (validation, reserves, exact fees, order records) on the same
   kind of stream;
3. order placements per second over loopback with the botkit client (``create_order``, signed,
   one keep-alive connection per client), sequential and from several threads, and the p50/p99
   latency of one placement.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from decimal import Decimal

from botkit.client import ButtercoinClient, RetryPolicy
from botkit.sandbox import Exchange, FeeSchedule, Sandbox, SandboxAccount
from botkit.sandbox.book import BookOrder, MatchingBook

MID = 40_000  # cents


def stream(count: int, seed: int = 1) -> list[tuple[bool, int, int]]:
    """(is_buy, price in cents, satoshis): prices within ±0.5% of the mid, so many cross."""
    rng = random.Random(seed)
    return [
        (rng.random() < 0.5, MID + rng.randint(-200, 200), rng.randint(1, 200) * 1_000_000)
        for _ in range(count)
    ]


def bench_engine(count: int) -> tuple[float, int, int]:
    orders = stream(count)
    book: MatchingBook[BookOrder] = MatchingBook()
    resting: list[BookOrder] = []
    fills = cancels = 0
    start = time.perf_counter()
    for n, (is_buy, price, quantity) in enumerate(orders):
        # an incoming buy far from the mid behaves like a passive quote: skew so the book has depth
        limit = price - 100 if is_buy else price + 100
        matched = book.match(is_buy, limit, quantity)
        fills += len(matched)
        left = quantity - sum(q for _, q in matched)
        if left:
            order = BookOrder(str(n), is_buy, limit, left)
            book.add(order)
            resting.append(order)
        if n % 4 == 3 and resting:
            victim = resting.pop(len(resting) // 2)
            if book.cancel(victim):
                cancels += 1
    elapsed = time.perf_counter() - start
    return count / elapsed, fills, cancels


def bench_exchange(count: int) -> tuple[float, int, int]:
    exchange = Exchange(FeeSchedule(Decimal(10), Decimal(20)))
    balances = {"USD": Decimal(10) ** 12, "BTC": Decimal(10) ** 9}
    for key in ("a", "b"):
        exchange.add_account(SandboxAccount(key, "s", dict(balances)))
    orders = [
        ("a" if n % 2 else "b", "buy" if is_buy else "sell", Decimal(price - 100 if is_buy else price + 100) / 100,
         Decimal(quantity) / 100_000_000)
        for n, (is_buy, price, quantity) in enumerate(stream(count, seed=2))
    ]
    placed: list[tuple[str, str]] = []
    cancels = 0
    start = time.perf_counter()
    for n, (key, side, price, quantity) in enumerate(orders):
        placed.append((key, exchange.submit_order(key, side, "limit", price, quantity)))
        if n % 4 == 3:
            victim_key, victim = placed.pop(len(placed) // 2)
            if exchange.is_open(victim):
                exchange.cancel_order(victim_key, victim)
                cancels += 1
    elapsed = time.perf_counter() - start
    return count / elapsed, len(exchange.trades(10**9)), cancels


def bench_http(count: int, threads: int) -> None:
    # one key per client: a key's timestamps must keep increasing, and a fast client's clock runs
    # ahead of the wall clock, so a second client on the same key would be refused as a replay
    keys = [f"bench{i}" for i in range(max(threads, 1) + 1)]
    accounts = [SandboxAccount(k, "s", {"USD": Decimal(10) ** 9, "BTC": Decimal(10) ** 6}) for k in keys]
    with Sandbox(market="off", rate_limit=0, accounts=accounts, threads=8) as sb:
        rng = random.Random(3)
        bodies = [
            {"instrument": "BTC_USD", "side": side, "orderType": "limit",
             "price": f"{(MID + rng.randint(-300, 300) + (-150 if side == 'buy' else 150)) / 100:.2f}",
             "quantity": "0.01"}
            for side in (rng.choice(["buy", "sell"]) for _ in range(count))
        ]
        client = ButtercoinClient(keys[0], "s", base_url=sb.base_url, retry=RetryPolicy(attempts=1))
        for body in bodies[:50]:  # warm-up: connection, caches
            client.create_order(body)
        latencies = []
        start = time.perf_counter()
        for body in bodies:
            began = time.perf_counter()
            client.create_order(body)
            latencies.append(time.perf_counter() - began)
        elapsed = time.perf_counter() - start
        latencies.sort()
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
        print(f"HTTP placements, 1 client:  {count / elapsed:10,.0f} orders/s   "
              f"latency p50 {p50:.2f} ms  p99 {p99:.2f} ms")

        if threads > 1:
            per_thread = count // threads

            def place(key: str) -> None:
                with ButtercoinClient(key, "s", base_url=sb.base_url, retry=RetryPolicy(attempts=1)) as c:
                    for body in bodies[:per_thread]:
                        c.create_order(body)

            workers = [threading.Thread(target=place, args=(k,)) for k in keys[1:threads + 1]]
            start = time.perf_counter()
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            elapsed = time.perf_counter() - start
            print(f"HTTP placements, {threads} clients: {per_thread * threads / elapsed:10,.0f} orders/s")
        print(f"  ({sb.exchange.total('BTC')} BTC conserved across {len(keys)} accounts; "
              f"{len(sb.exchange.trades(10**9))} recent trades)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200_000, help="orders for the in-process benchmarks")
    parser.add_argument("--http", type=int, default=3_000, help="orders placed over HTTP")
    parser.add_argument("--threads", type=int, default=4, help="concurrent HTTP clients")
    args = parser.parse_args()

    rate, fills, cancels = bench_engine(args.orders)
    print(f"matching engine (book):     {rate:10,.0f} limit orders/s   "
          f"({args.orders:,} orders, {fills:,} fills, {cancels:,} cancels)")
    count = max(args.orders // 4, 1)
    rate, trades, cancels = bench_exchange(count)
    print(f"exchange in-process:        {rate:10,.0f} limit orders/s   "
          f"({count:,} orders with reserves and fees, {cancels:,} cancels, last {trades:,} trades kept)")
    bench_http(args.http, args.threads)


if __name__ == "__main__":
    main()
