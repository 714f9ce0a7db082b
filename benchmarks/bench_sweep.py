"""Sweep wall time: a 16-point grid on the local process pool vs a 2-worker Dask LocalCluster.

    .venv/bin/python benchmarks/bench_sweep.py                        # 10,000 snapshots, 10 levels
    .venv/bin/python benchmarks/bench_sweep.py --snapshots 2000       # quicker
    .venv/bin/python benchmarks/bench_sweep.py --serial               # and one process, no pool

The grid is the shipped market maker's ``spread_bps`` x ``skew_bps`` (4 x 4) over a seeded
synthetic market in the fast store (``botkit data generate``, kept in ``--dir``). Both executors
run the same :func:`botkit.backtest.sweep.run_sweep` with the same jobs, as ``botkit backtest
--sweep`` does; each wall time is the whole sweep as a user waits for it: starting the pool or the
cluster (and its worker processes), the 16 runs, and closing it. For Dask, the cluster's start
and close are also shown alone, and a sweep on a cluster that is already running and warm (the
``--scheduler`` case: its workers imported botkit in an earlier sweep). The results of all
executors are checked to be identical.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from decimal import Decimal
from pathlib import Path

SPREADS = (5, 10, 20, 40)
SKEWS = (0, 5, 10, 20)


def jobs(data: Path) -> list[object]:
    from botkit.backtest.sweep import SweepJob

    strategies = Path(__file__).resolve().parents[1] / "strategies"
    settings = {"data": data.resolve(), "initial": {"USD": Decimal(10000), "BTC": Decimal(1)},
                "maker_fee_bps": Decimal(1), "taker_fee_bps": Decimal(2), "strategies": ("market_maker",),
                "strategy_paths": (strategies,)}
    return [SweepJob(None, settings, {"market_maker": {"spread_bps": spread, "skew_bps": skew}},
                     f"spread_bps={spread} skew_bps={skew}")
            for spread in SPREADS for skew in SKEWS]


def timed(executor: object, grid: list[object]) -> tuple[float, list[object]]:
    from botkit.backtest.sweep import run_sweep

    started = time.perf_counter()
    results = run_sweep(grid, executor, progress=False)  # type: ignore[arg-type]
    return time.perf_counter() - started, list(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshots", type=int, default=10_000)
    parser.add_argument("--levels", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2, help="Processes of the pool and workers of the cluster.")
    parser.add_argument("--serial", action="store_true", help="Also time the grid in one process, without a pool.")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "botkit-bench")
    args = parser.parse_args()

    import logging

    import distributed

    from botkit.backtest.sweep import DaskExecutor, LocalExecutor
    from botkit.data import generate

    logging.getLogger("botkit").setLevel(logging.ERROR)
    args.dir.mkdir(parents=True, exist_ok=True)
    data = args.dir / f"sweep-{args.snapshots}-{args.levels}.bks"
    if not data.exists():
        generate(data, args.snapshots, levels=args.levels, seed=7)
    grid = jobs(data)
    print(f"grid: {len(grid)} points (market_maker.spread_bps={','.join(map(str, SPREADS))} x "
          f"market_maker.skew_bps={','.join(map(str, SKEWS))}); data: {args.snapshots:,} snapshots, "
          f"{args.levels} levels a side, {data.stat().st_size / 1e6:.1f} MB ({data.name}); "
          f"{os.cpu_count()} CPU(s); distributed {distributed.__version__}")

    load_before = os.getloadavg()[0]
    rows: list[tuple[str, float]] = []
    if args.serial:
        serial, _ = timed(LocalExecutor(1), grid)
        rows.append(("one process (no pool)", serial))
    local, local_results = timed(LocalExecutor(args.workers), grid)
    rows.append((f"local process pool, {args.workers} processes", local))
    dask, dask_results = timed(DaskExecutor(None, args.workers), grid)
    rows.append((f"Dask LocalCluster, {args.workers} workers", dask))
    assert dask_results == local_results, "the executors disagree"

    started = time.perf_counter()
    with DaskExecutor(None, args.workers):
        pass
    overhead = time.perf_counter() - started
    rows.append(("  of which the cluster's start + close (alone)", overhead))

    # A long-lived cluster (--scheduler): its workers have imported botkit and opened the data file
    # in an earlier sweep, so a sweep costs its runs alone. The first sweep warms them; the second is timed.
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=logging.CRITICAL) as cluster:
        timed(DaskExecutor(cluster.scheduler_address), grid)
        warm, warm_results = timed(DaskExecutor(cluster.scheduler_address), grid)
    rows.append((f"Dask cluster already running (--scheduler), {args.workers} workers", warm))
    assert warm_results == local_results, "the executors disagree"

    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        per_point = "" if name.startswith("  ") else f"   {seconds / len(grid):6.2f} s a point"
        print(f"{name:<{width}}   {seconds:7.2f} s{per_point}")
    print("results identical: yes; load average before/after: "
          f"{load_before:.1f}/{os.getloadavg()[0]:.1f} (other jobs on the machine skew the figures)")


if __name__ == "__main__":  # the pool's and the cluster's worker processes import this file
    main()
