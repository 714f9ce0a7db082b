"""One nautilus_trader backtest in this process (the peers' venv): prints one JSON line of figures.

    python benchmarks/peers/nautilus_child.py STRATEGY BOOKS.npz

The exported books become ``OrderBookDepth10`` records (10 levels a side, prices and sizes built
from the same integers, ``from_raw``: exact) on a simulated venue with an ``L2_MBP`` book, so the
matching engine keeps the book as a depth backtest does. Strategies, the same three as botkit's:

* ``noop``: subscribed to the depth, does nothing with it;
* ``read_levels``: sums price × size of every level each update (``Price * Quantity`` is an
  exact ``Decimal`` in nautilus_trader, as botkit's levels are);
* ``order100``: a limit buy 100 USD under the best bid every 100 updates, cancelled on the next.

``build_seconds`` is turning the arrays into records; ``run_seconds`` is ``engine.run()`` alone;
``check`` is the read-every-level sum, which must equal botkit's (the same books, read in full).
Imports nothing of botkit: it runs where botkit is not installed.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from decimal import Decimal
from typing import Any

import numpy as np
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.config import LoggingConfig, StrategyConfig
from nautilus_trader.model.currencies import BTC, USD
from nautilus_trader.model.data import BookOrder, OrderBookDepth10
from nautilus_trader.model.enums import AccountType, BookType, OmsType, OrderSide
from nautilus_trader.model.identifiers import InstrumentId, Symbol, TraderId, Venue
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.objects import FIXED_PRECISION, Money, Price, Quantity
from nautilus_trader.model.orders import LimitOrder
from nautilus_trader.trading.strategy import Strategy
from peak_memory import peak_rss_mb

VENUE = Venue("SIM")
INSTRUMENT_ID = InstrumentId(Symbol("BTC/USD"), VENUE)
PRICE_RAW = 10 ** (FIXED_PRECISION - 2)  # one cent
SIZE_RAW = 10 ** (FIXED_PRECISION - 8)  # one satoshi
EVERY = 100
BELOW_RAW = 100 * 100 * PRICE_RAW  # 100 USD


class BenchConfig(StrategyConfig, frozen=True):  # type: ignore[misc,call-arg]
    instrument_id: InstrumentId
    mode: str


class Bench(Strategy):  # type: ignore[misc]
    """The three benchmark strategies, chosen by ``mode`` (one class: the same subscription path)."""

    def __init__(self, config: BenchConfig) -> None:
        super().__init__(config)
        self.mode = config.mode
        self.notional = Decimal(0)
        self.seen = 0
        self.resting: LimitOrder | None = None
        self.size = Quantity.from_raw(1_000_000 * SIZE_RAW, 8)  # 0.01 BTC

    def on_start(self) -> None:
        self.subscribe_order_book_depth(INSTRUMENT_ID, book_type=BookType.L2_MBP, depth=10)

    def on_order_book_depth(self, depth: OrderBookDepth10) -> None:
        if self.mode == "read_levels":
            total = Decimal(0)
            for level in depth.bids:
                total += level.price * level.size
            for level in depth.asks:
                total += level.price * level.size
            self.notional += total
        elif self.mode == "order100":
            self.seen += 1
            resting = self.resting
            if resting is not None and resting.is_open:
                self.cancel_order(resting)
            self.resting = None
            if self.seen % EVERY == 0:
                bid = depth.bids[0].price
                price = Price.from_raw(bid.raw - BELOW_RAW, 2)
                self.resting = self.order_factory.limit(INSTRUMENT_ID, OrderSide.BUY, self.size, price)
                self.submit_order(self.resting)


def instrument() -> CurrencyPair:
    return CurrencyPair(
        instrument_id=INSTRUMENT_ID,
        raw_symbol=Symbol("BTC/USD"),
        base_currency=BTC,
        quote_currency=USD,
        price_precision=2,
        size_precision=8,
        price_increment=Price.from_raw(PRICE_RAW, 2),
        size_increment=Quantity.from_raw(SIZE_RAW, 8),
        lot_size=None,
        max_quantity=None,
        min_quantity=None,
        max_notional=None,
        min_notional=None,
        max_price=None,
        min_price=None,
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=Decimal("0.0001"),
        taker_fee=Decimal("0.0005"),
        ts_event=0,
        ts_init=0,
    )


def depths(books: Any) -> list[OrderBookDepth10]:
    """The exported books as ``OrderBookDepth10`` records (missing levels: empty, count 0)."""
    out: list[OrderBookDepth10] = []
    buy, sell = OrderSide.BUY, OrderSide.SELL
    empty_bid = BookOrder(buy, Price.from_raw(0, 2), Quantity.from_raw(0, 8), 0)
    empty_ask = BookOrder(sell, Price.from_raw(0, 2), Quantity.from_raw(0, 8), 0)
    columns = (books["ts"].tolist(), books["nbid"].tolist(), books["nask"].tolist(), books["bid_px"].tolist(),
               books["bid_qty"].tolist(), books["ask_px"].tolist(), books["ask_qty"].tolist())
    from_price, from_size = Price.from_raw, Quantity.from_raw
    for sequence, (ts, nb, na, bpx, bqty, apx, aqty) in enumerate(zip(*columns, strict=True)):
        bids = [BookOrder(buy, from_price(p * PRICE_RAW, 2), from_size(q * SIZE_RAW, 8), 0)
                for p, q in zip(bpx[:nb], bqty[:nb], strict=True)] + [empty_bid] * (10 - nb)
        asks = [BookOrder(sell, from_price(p * PRICE_RAW, 2), from_size(q * SIZE_RAW, 8), 0)
                for p, q in zip(apx[:na], aqty[:na], strict=True)] + [empty_ask] * (10 - na)
        ns = ts * 1_000_000
        out.append(OrderBookDepth10(
            instrument_id=INSTRUMENT_ID, bids=bids, asks=asks,
            bid_counts=[1] * nb + [0] * (10 - nb), ask_counts=[1] * na + [0] * (10 - na),
            flags=0, sequence=sequence, ts_event=ns, ts_init=ns,
        ))
    return out


def run(mode: str, books_path: str) -> dict[str, Any]:
    logging.disable(logging.CRITICAL)
    started = time.perf_counter()
    books = np.load(books_path)
    data = depths(books)
    build_seconds = time.perf_counter() - started
    engine = BacktestEngine(BacktestEngineConfig(
        trader_id=TraderId("BENCH-001"), logging=LoggingConfig(log_level="ERROR", bypass_logging=True),
    ))
    engine.add_venue(
        venue=VENUE, oms_type=OmsType.NETTING, account_type=AccountType.CASH,
        starting_balances=[Money(100_000, USD), Money(2, BTC)], book_type=BookType.L2_MBP,
    )
    engine.add_instrument(instrument())
    engine.add_data(data)
    strategy = Bench(BenchConfig(instrument_id=INSTRUMENT_ID, mode=mode))
    engine.add_strategy(strategy)
    started = time.perf_counter()
    engine.run()
    run_seconds = time.perf_counter() - started
    orders = len(engine.cache.orders())
    engine.dispose()
    return {"snapshots": len(data), "run_seconds": run_seconds, "build_seconds": build_seconds,
            "orders": orders, "fills": 0, "rss_mb": peak_rss_mb(),
            "check": str(strategy.notional) if mode == "read_levels" else None}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], sys.argv[2])))
