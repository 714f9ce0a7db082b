"""Trials per minute of ``botkit optimize``, and the wall time of a walk-forward.

    .venv/bin/python benchmarks/bench_optimize.py                       # 100k snapshots
    .venv/bin/python benchmarks/bench_optimize.py --snapshots 20000     # quicker

On a generated market (``botkit data generate``, 10 levels, one snapshot a second), for the
shipped ``sma_crossover`` (``size`` fixed, ``fast`` and ``slow`` searched by TPE):

* ``local``: ``--trials`` trials on the local process pool of ``--workers`` processes;
* ``dask``: the same on a Dask LocalCluster of ``--workers`` worker processes;
* ``walk-forward``: ``--windows`` rolling windows (training three times the test's length) of
  ``--wf-trials`` trials each, on the local pool: the wall time, and its share per window.

Each is one ``botkit optimize`` run in a fresh process (start-up included, as a user sees it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BOTKIT = [sys.executable, "-m", "botkit"]


def optimize(data: Path, trials: int, *extra: str) -> float:
    """Seconds one ``botkit optimize`` run takes."""
    started = time.perf_counter()
    subprocess.run([*BOTKIT, "optimize", "--data", str(data), "--strategy", "sma_crossover",
                    "--param", "sma_crossover.size=0.01", "--trials", str(trials), "--no-progress", *extra],
                   check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshots", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--wf-trials", type=int, default=4)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "botkit-bench-optimize")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    data = args.dir / f"market-{args.snapshots}.bks"
    if not data.exists():
        subprocess.run([*BOTKIT, "data", "generate", str(data), "--snapshots", str(args.snapshots),
                        "--levels", "10", "--seed", "7"], check=True, capture_output=True)
    print(f"market: {args.snapshots} snapshots ({args.snapshots / 3600:.1f} h), sma_crossover, "
          f"{args.trials} trials, {args.workers} workers")
    for name, extra in (("local pool", ()), ("dask LocalCluster", ("--executor", "dask"))):
        seconds = optimize(data, args.trials, "--workers", str(args.workers), *extra)
        print(f"{name:>18}: {seconds:7.1f} s, {args.trials / seconds * 60:6.1f} trials/min")
    test_s = args.snapshots // (3 + args.windows)  # training is 3 tests long; windows tile the rest
    spec = f"train={3 * test_s}s,test={test_s}s"
    seconds = optimize(data, args.wf_trials, "--workers", str(args.workers), "--walk-forward", spec,
                       "--monte-carlo-runs", "1000")
    print(f"{'walk-forward':>18}: {seconds:7.1f} s for {args.windows} windows ({spec}, {args.wf_trials} trials "
          f"each): {seconds / args.windows:.1f} s a window")


if __name__ == "__main__":
    main()
