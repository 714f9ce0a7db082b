"""Engine figures: tick overhead without network, journal writes per second, RSS over 10,000 ticks.

    python benchmarks/bench_engine.py [--ticks 10000] [--postgres URL]

1. Engine overhead per tick, network excluded: ``Engine.tick`` on prepared snapshots with a no-op
   strategy and with the market maker (orders journaled), against a venue that answers from memory.
2. Journal writes per second: the write-ahead cycle of one order (pending, bind, one fill), each
   step its own committed transaction as the engine does it, on SQLite (file, WAL) and PostgreSQL.
3. RSS after 100 and after N ticks of the market maker against the embedded sandbox over HTTP.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from botkit import config as config_mod  # noqa: E402
from botkit.client import Buttercoin, ButtercoinClient  # noqa: E402
from botkit.engine.assembly import plan_engine  # noqa: E402
from botkit.instrument import BUTTERCOIN  # noqa: E402
from botkit.journal import Journal  # noqa: E402
from botkit.model import (  # noqa: E402
    Balances,
    BookLevel,
    Fill,
    Liquidity,
    Order,
    OrderBook,
    OrderStatus,
    OrderType,
    Side,
    Snapshot,
    Ticker,
)
from botkit.venues.buttercoin import ButtercoinMarketData, ButtercoinVenue  # noqa: E402

D = Decimal


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class MemoryVenue:
    """Accepts every order and never fills: the engine's own cost, with no exchange behind it."""

    name = "bench"
    label = "an in-memory venue (benchmark)"
    instrument = BUTTERCOIN
    @property
    def order_revision(self) -> None:
        return None  # read back every tick, as from an exchange

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._n = 0

    def observe(self, snapshot: Snapshot) -> None:
        pass

    def balances(self) -> Balances:
        return Balances({"USD": D(100000), "BTC": D(10)})

    def place_order(self, side: Side, quantity: Decimal, price: Decimal | None) -> str:
        self._n += 1
        order_id = f"b{self._n}"
        self._orders[order_id] = Order(order_id, side, OrderType.LIMIT, OrderStatus.OPENED, price, quantity, D(0), 0)
        return order_id

    def cancel_order(self, order_id: str) -> None:
        order = self._orders[order_id]
        self._orders[order_id] = Order(order_id, order.side, order.order_type, OrderStatus.CANCELED, order.price,
                                       order.quantity, order.filled, order.created_ts)

    def order(self, order_id: str) -> Order:
        return self._orders[order_id]

    def orders(self, order_ids: Sequence[str]) -> Sequence[Order]:
        return [self._orders[i] for i in order_ids if i in self._orders]

    def orders_since(self, since_ms: int) -> Sequence[Order]:
        return list(self._orders.values())

    def open_orders(self) -> Sequence[Order]:
        return [o for o in self._orders.values() if o.is_open]

    def close(self) -> None:
        pass


def snapshots(n: int, start: int = 1_700_000_000_000) -> list[Snapshot]:
    result = []
    for i in range(n):
        mid = D(400) + D(i % 200 - 100) / 10  # wanders 390..410 so the market maker requotes
        bids = tuple(BookLevel(mid - D("0.10") * (k + 1), D(1)) for k in range(20))
        asks = tuple(BookLevel(mid + D("0.10") * (k + 1), D(1)) for k in range(20))
        result.append(Snapshot(start + i * 1000, Ticker(mid, bids[0].price, asks[0].price), OrderBook(bids, asks)))
    return result


NOOP = '''
from botkit import hookimpl

@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    return None
'''


def bench_tick_overhead(ticks: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "strats"
        folder.mkdir()
        (folder / "noop.py").write_text(NOOP)
        data = snapshots(ticks)
        for name in ("noop", "market_maker"):
            cfg = config_mod.parse({"strategy_paths": [str(folder)], "strategies": {name: {}},
                                    "risk": {"max_open_orders": 1000}}, environ={})
            journal = Journal(f"sqlite:///{tmp}/{name}.sqlite")
            engine = plan_engine(cfg, wall_clock=False).build(MemoryVenue(), journal)
            engine.start(data[0].ts)
            started = time.perf_counter()
            for snapshot in data:
                engine.tick(snapshot)
            elapsed = time.perf_counter() - started
            print(f"engine tick, {name:12s}: {elapsed / ticks * 1e6:8.1f} µs/tick "
                  f"({ticks / elapsed:,.0f} ticks/s; {engine.totals.placed} orders placed, "
                  f"{engine.totals.cancelled} cancelled)")
            journal.close()


def bench_journal(url: str, label: str, cycles: int) -> None:
    journal = Journal(url, bot_id=f"bench-{time.time_ns()}")
    run = journal.begin_run("bench", 0)
    started = time.perf_counter()
    for i in range(cycles):
        record = journal.record_pending(run, "bench", "s", "", Side.BUY, "limit", D("400.01"), D("0.1"), i)
        journal.bind(record, f"ex-{journal.bot_id}-{i}", i)
        fill = Fill(f"ex-{journal.bot_id}-{i}", D("400.01"), D("0.1"), D("0.004"), Liquidity.MAKER, i, 0)
        order = Order(fill.order_id, Side.BUY, OrderType.LIMIT, OrderStatus.FILLED, D("400.01"), D("0.1"), D("0.1"),
                      i, fills=(fill,))
        journal.apply(record, order, run, i)
    elapsed = time.perf_counter() - started
    writes = cycles * 3
    print(f"journal {label:10s}: {writes / elapsed:8,.0f} committed writes/s "
          f"({cycles / elapsed:,.0f} order lifecycles/s: pending, bind, fill)")
    journal.close()


def bench_rss(ticks: int) -> None:
    from botkit.sandbox import Sandbox, SandboxAccount

    account = SandboxAccount(key="bench", secret="bench-secret-0123456789",
                             balances={"USD": D(10**9), "BTC": D(10**6)})
    with tempfile.TemporaryDirectory() as tmp, Sandbox(market="sim", seed=7, accounts=[account], rate_limit=0,
                                                       market_interval=0.05) as sandbox:
        api = Buttercoin(ButtercoinClient("bench", account.secret, base_url=sandbox.base_url))
        cfg = config_mod.parse({"risk": {"max_position": 10**6, "daily_loss_limit": 10**9}}, environ={})
        journal = Journal(f"sqlite:///{tmp}/rss.sqlite")
        engine = plan_engine(cfg, wall_clock=False).build(ButtercoinVenue(api), journal)
        market = ButtercoinMarketData(api, with_trades=False)
        engine.start(0)
        rss_100 = 0.0
        started = time.perf_counter()
        for i in range(1, ticks + 1):
            engine.tick(market.fetch())
            if i == 100:
                rss_100 = rss_mb()
        elapsed = time.perf_counter() - started
        rss_end = rss_mb()
        print(f"market maker on the embedded sandbox over HTTP: {ticks} ticks in {elapsed:.1f}s "
              f"({elapsed / ticks * 1000:.2f} ms/tick incl. network), {engine.totals.placed} placed, "
              f"{engine.totals.fills} fills")
        print(f"RSS after 100 ticks: {rss_100:.1f} MB; after {ticks} ticks: {rss_end:.1f} MB "
              f"({(rss_end - rss_100) / rss_100 * 100:+.1f}%)")
        journal.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ticks", type=int, default=10_000)
    parser.add_argument("--journal-cycles", type=int, default=2_000)
    parser.add_argument("--postgres", help="PostgreSQL URL for the journal figure")
    args = parser.parse_args(argv)
    bench_tick_overhead(args.ticks)
    with tempfile.TemporaryDirectory() as tmp:
        bench_journal(f"sqlite:///{tmp}/j.sqlite", "sqlite", args.journal_cycles)
    if args.postgres:
        bench_journal(args.postgres, "postgresql", args.journal_cycles)
    bench_rss(args.ticks)


if __name__ == "__main__":
    main()
