"""One backtrader backtest in this process (the peers' venv): prints one JSON line of figures.

    python benchmarks/peers/backtrader_child.py STRATEGY BARS.csv

backtrader works on bars, not books: it replays the market's 1-minute OHLCV (built from the same
mids and trades), for reference only, with ``noop`` (a strategy that does nothing) or ``sma`` (a
10/30 SMA crossover on the close, long 0.01 BTC or flat, at market). ``snapshots`` is the bars
replayed; ``run_seconds`` is ``cerebro.run()`` alone (loading the CSV included: backtrader
reads its feed while it runs). Imports nothing of botkit.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import backtrader as bt
from peak_memory import peak_rss_mb


class Noop(bt.Strategy):  # type: ignore[misc]
    def next(self) -> None:
        return None


class SmaCross(bt.Strategy):  # type: ignore[misc]
    params = (("fast", 10), ("slow", 30), ("size", 0.01))

    def __init__(self) -> None:
        fast = bt.indicators.SMA(self.data.close, period=self.p.fast)
        slow = bt.indicators.SMA(self.data.close, period=self.p.slow)
        self.cross = bt.indicators.CrossOver(fast, slow)

    def next(self) -> None:
        if not self.position and self.cross > 0:
            self.buy(size=self.p.size)
        elif self.position and self.cross < 0:
            self.close()


def run(mode: str, bars: str) -> dict[str, Any]:
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.broker.setcash(100_000.0)
    cerebro.adddata(bt.feeds.GenericCSVData(
        dataname=bars, dtformat=2, timeframe=bt.TimeFrame.Minutes, compression=1,
        datetime=0, open=1, high=2, low=3, close=4, volume=5, openinterest=-1,
    ))
    cerebro.addstrategy(SmaCross if mode == "sma" else Noop)
    started = time.perf_counter()
    [strategy] = cerebro.run()
    run_seconds = time.perf_counter() - started
    orders = len(strategy._orders)
    return {"snapshots": len(strategy.data), "run_seconds": run_seconds, "orders": orders, "fills": 0,
            "rss_mb": peak_rss_mb()}


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], sys.argv[2])))
