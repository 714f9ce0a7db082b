"""Bars and history: their per-tick cost, and the bar-based sma_crossover's backtest throughput.

    .venv/bin/python benchmarks/bench_bars.py                      # 1,000,000 snapshots
    .venv/bin/python benchmarks/bench_bars.py --snapshots 200000   # quicker

On a seeded synthetic market (``botkit data generate``, one snapshot a second, 20 levels, about
0.8 trades a snapshot), each in a fresh process:

* ``feed``: the bars alone, in memory: ``MarketHistory.update`` for three timeframes (1m, 5m, 15m)
  on every snapshot, and on each closed bar what a strategy with two indicators does (talipp SMA
  and EMA fed the close, ``ctx.history(tf, 50).closes`` read). Compared with iterating the same
  snapshots, it gives the per-tick overhead in µs;
* ``noop`` and ``bars3``: full backtests (engine, journal, simulated venue) of a strategy that does
  nothing, and of the same strategy declaring three timeframes and keeping two indicators on each:
  the difference per snapshot is the overhead inside the engine;
* ``sma_crossover``: a full backtest of the shipped strategy (1-minute bars, talipp SMAs).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

NOOP = '''"""Does nothing: the engine's own cost."""
from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    return None
'''

BARS3 = '''"""Three timeframes, two indicators each, the history read at each bar; never trades."""
from talipp.indicators import EMA, SMA

from botkit import hookimpl

TIMEFRAMES = ("1m", "5m", "15m")
HISTORY = 200
INDICATORS = {tf: (SMA(20), EMA(20)) for tf in TIMEFRAMES}


@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    return None


@hookimpl
def botkit_on_bar(bar, ctx):
    if bar.close is not None:
        for indicator in INDICATORS[bar.timeframe]:
            indicator.add(float(bar.close))
    ctx.history(bar.timeframe, 50).closes
'''


def feed(path: Path, with_bars: bool) -> dict[str, float]:
    from talipp.indicators import EMA, SMA

    from botkit.data import open_snapshots
    from botkit.strategy.history import MarketHistory

    timeframes = ("1m", "5m", "15m")
    market = MarketHistory(dict.fromkeys(timeframes, 200), snapshots=100)
    indicators = {tf: (SMA(20), EMA(20)) for tf in timeframes}
    count = bars = 0
    started = time.perf_counter()
    for snapshot in open_snapshots(path):
        count += 1
        if not with_bars:
            continue
        for bar in market.update(snapshot):
            bars += 1
            if bar.close is not None:
                for indicator in indicators[bar.timeframe]:
                    indicator.add(float(bar.close))
            market.history(bar.timeframe, 50).closes  # noqa: B018 - what a strategy reads
    elapsed = time.perf_counter() - started
    return {"snapshots": count, "seconds": elapsed, "bars": bars}


def backtest(path: Path, strategy: str, strategy_dir: Path) -> dict[str, float]:
    from botkit.backtest.runner import BacktestSettings, run_backtest
    from botkit.config import load

    logging.getLogger("botkit").setLevel(logging.ERROR)
    settings = BacktestSettings(data=path, initial={"USD": Decimal(100000), "BTC": Decimal(2)},
                                maker_fee_bps=Decimal(1), taker_fee_bps=Decimal(5), strategies=(strategy,),
                                strategy_paths=(strategy_dir, Path(__file__).resolve().parents[1] / "strategies"))
    started = time.perf_counter()
    result = run_backtest(load(None), settings)
    elapsed = time.perf_counter() - started
    return {"snapshots": result.metrics.snapshots, "seconds": elapsed, "orders": result.metrics.orders,
            "fills": result.metrics.fills}


def child(mode: str, path: Path, strategy_dir: Path) -> dict[str, float]:
    if mode in ("read", "feed"):
        return feed(path, with_bars=mode == "feed")
    return backtest(path, mode, strategy_dir)


def run_child(mode: str, path: Path, strategy_dir: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(path), str(strategy_dir)],
                         check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshots", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "botkit-bench")
    parser.add_argument("--modes", default="read,feed,noop,bars3,sma_crossover")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "FILE", "STRATEGY_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, strategy_dir = args.child
        print(json.dumps(child(mode, Path(path), Path(strategy_dir))))
        return

    from botkit.data import generate

    args.dir.mkdir(parents=True, exist_ok=True)
    strategy_dir = args.dir / "bar-strategies"
    strategy_dir.mkdir(exist_ok=True)
    (strategy_dir / "noop.py").write_text(NOOP)
    (strategy_dir / "bars3.py").write_text(BARS3)
    store = args.dir / f"market-{args.snapshots}x20.bks"
    if not store.exists():
        generate(store, args.snapshots, levels=20, seed=1)
    print(f"{args.snapshots:,} snapshots, one a second, 20 levels a side; python {sys.version.split()[0]}")
    results = {}
    for mode in args.modes.split(","):
        result = results[mode] = run_child(mode, store, strategy_dir)
        rate = result["snapshots"] / result["seconds"]
        extra = ""
        if "bars" in result:
            extra = f", {int(result['bars']):,} bars"
        if "orders" in result:
            extra = f", {int(result['orders']):,} orders, {int(result['fills']):,} fills"
        print(f"{mode:<14}{rate:>12,.0f} snapshots/s{result['seconds']:>9.1f} s{extra}", flush=True)
    for base, with_bars, what in (("read", "feed", "bars + history + 2 indicators, in memory"),
                                  ("noop", "bars3", "bars + history + 2 indicators, in the engine")):
        if base in results and with_bars in results:
            overhead = (results[with_bars]["seconds"] - results[base]["seconds"]) / results[base]["snapshots"]
            print(f"per-tick overhead of {what} (3 timeframes): {overhead * 1e6:.1f} µs")


if __name__ == "__main__":
    main()
