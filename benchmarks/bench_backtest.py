"""Backtest throughput and memory: snapshots per second and peak RSS, per file format.

    .venv/bin/python benchmarks/bench_backtest.py                      # 1,000,000 snapshots, 20 levels
    .venv/bin/python benchmarks/bench_backtest.py --snapshots 200000   # quicker

It generates a seeded synthetic market (``botkit data generate``) into the fast store, converts it
to JSON Lines, and times, each in a fresh process (so that peak RSS is that run's alone):

* ``read``: iterating the file's snapshots (nothing else);
* ``replay``: reading + ``SimulatedVenue.observe`` + the metrics' equity sample: the backtester's
  own per-snapshot path, without the engine;
* ``noop``: a full ``botkit backtest`` (engine, hooks, risk, journal) with a strategy that does
  nothing;
* ``market_maker``: the same with the shipped market maker, default parameters;
* ``market_maker_busy``: the market maker with ``spread_bps=2``: it trades on most snapshots, so
  this measures the engine's order path (journal writes included) rather than the replay.

Files are kept in ``--dir`` between runs (delete them to regenerate).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from peers.peak_memory import peak_rss_mb  # the one way every benchmark reads peak memory

NOOP = '''"""Does nothing: the engine's own cost."""
from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    return None
'''


def child(mode: str, path: Path, strategy_dir: Path) -> dict[str, float]:
    from botkit.data import open_snapshots

    started = time.perf_counter()
    count = 0
    if mode == "read":
        for _ in open_snapshots(path):
            count += 1
    elif mode == "replay":
        from botkit.backtest.performance import PerformanceRecorder
        from botkit.venues.simulated import SimulatedVenue

        venue = SimulatedVenue({"USD": Decimal(100000), "BTC": Decimal(2)}, Decimal(1), Decimal(5))
        recorder = PerformanceRecorder()
        venue.listeners.append(recorder)
        observe, sample = venue.observe, recorder.sample
        for snapshot in open_snapshots(path):
            observe(snapshot)
            sample(snapshot.ts, snapshot.mid, venue.usd, venue.btc)
            count += 1
        recorder.result(venue.orders_placed)
    else:
        from botkit.backtest.runner import run_backtest
        from botkit.backtest.settings import BacktestSettings
        from botkit.config import load

        strategy = "noop" if mode == "noop" else "market_maker"
        params = {"market_maker": {"spread_bps": Decimal(2)}} if mode == "market_maker_busy" else {}
        settings = BacktestSettings(
            data=path,
            initial={"USD": Decimal(100000), "BTC": Decimal(2)},
            maker_fee_bps=Decimal(1),
            taker_fee_bps=Decimal(5),
            strategies=(strategy,),
            strategy_paths=(strategy_dir,),
            params=params,
        )
        import logging

        logging.getLogger("botkit").setLevel(logging.ERROR)
        result = run_backtest(load(None), settings)
        count = result.metrics.snapshots
        elapsed = time.perf_counter() - started
        return {"snapshots": count, "seconds": elapsed, "rate": count / elapsed, "orders": result.metrics.orders,
                "fills": result.metrics.fills, "rss_mb": peak_rss_mb()}
    elapsed = time.perf_counter() - started
    return {"snapshots": count, "seconds": elapsed, "rate": count / elapsed, "rss_mb": peak_rss_mb()}


def run_child(mode: str, path: Path, strategy_dir: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path), str(strategy_dir)],
        check=True, capture_output=True, text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshots", type=int, default=1_000_000)
    parser.add_argument("--levels", type=int, default=20)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "botkit-bench")
    parser.add_argument("--modes", default="read,replay,noop,market_maker")
    parser.add_argument("--formats", default="store,jsonl")
    parser.add_argument("--child", nargs=3, metavar=("MODE", "FILE", "STRATEGY_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path, strategy_dir = args.child
        print(json.dumps(child(mode, Path(path), Path(strategy_dir))))
        return

    from botkit.data import convert, generate

    args.dir.mkdir(parents=True, exist_ok=True)
    strategy_dir = args.dir / "strategies"
    strategy_dir.mkdir(exist_ok=True)
    (strategy_dir / "noop.py").write_text(NOOP)
    stem = f"market-{args.snapshots}x{args.levels}"
    store = args.dir / f"{stem}.bks"
    jsonl = args.dir / f"{stem}.jsonl"
    if not store.exists():
        started = time.perf_counter()
        generate(store, args.snapshots, levels=args.levels, seed=1)
        print(f"generated {store} in {time.perf_counter() - started:.1f} s", flush=True)
    if "jsonl" in args.formats and not jsonl.exists():
        started = time.perf_counter()
        convert(store, jsonl)
        print(f"converted to {jsonl} in {time.perf_counter() - started:.1f} s", flush=True)
    print(f"files: store {store.stat().st_size / 1e6:.0f} MB"
          + (f", JSON Lines {jsonl.stat().st_size / 1e6:.0f} MB" if jsonl.exists() else "")
          + f"; {args.snapshots:,} snapshots, {args.levels} levels a side, 10 trades each; "
          + f"python {sys.version.split()[0]} on {os.cpu_count()} CPU(s)")
    print(f"{'mode':<18}{'format':<8}{'snapshots/s':>14}{'seconds':>10}{'peak RSS MB':>13}  notes")
    for mode in args.modes.split(","):
        for fmt in args.formats.split(","):
            path = store if fmt == "store" else jsonl
            result = run_child(mode, path, strategy_dir)
            notes = ""
            if "orders" in result:
                notes = f"{int(result['orders']):,} orders, {int(result['fills']):,} fills"
            figures = f"{result['rate']:>14,.0f}{result['seconds']:>10.1f}{result['rss_mb']:>13.0f}"
            print(f"{mode:<18}{fmt:<8}{figures}  {notes}", flush=True)


if __name__ == "__main__":
    main()
