"""A ``botkit`` process's fixed cost: what a tiny backtest pays before and after its first tick.

    .venv/bin/python benchmarks/bench_startup.py             # median of 5 fresh processes each
    .venv/bin/python benchmarks/bench_startup.py --runs 11   # steadier on a busy machine

Each figure is the median wall time of ``--runs`` fresh processes, after one unmeasured run that
leaves the bytecode caches (``__pycache__``) and the OS's file cache warm, as they are for a user
re-running a command. The children may write bytecode even where ``PYTHONDONTWRITEBYTECODE`` is set
(some CI images set it): with it, every process recompiles botkit's modules from source, about
0.1 s that no user pays twice.

* ``backtest``: ``botkit backtest --data one.bks --strategy market_maker`` on a 10-snapshot store,
  10 levels a side (``botkit data generate``): the whole process, imports and setup included;
* ``import``: ``python -c "import botkit"``, what every strategy and notebook pays;
* ``help``: ``botkit --help``;
* ``python`` and ``sqlalchemy``: ``python -c pass`` and ``python -c "import sqlalchemy"``, the
  floors under the first figure that are not botkit's (the journal is SQLAlchemy).

Then the 10 largest cumulative imports of one backtest process (``python -X importtime``), the
place to look when the first figure grows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BOTKIT = [sys.executable, "-m", "botkit"]
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
"""The children's environment: bytecode is cached, as on a user's machine."""


def median_seconds(command: list[str], runs: int) -> float:
    """Median wall seconds of ``command`` over ``runs`` fresh processes (it must succeed)."""
    times = []
    subprocess.run(command, capture_output=True, check=False, env=ENV)  # warms the caches, not measured
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False, env=ENV)
        times.append(time.perf_counter() - start)
        if done.returncode:
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return statistics.median(times)


def top_imports(command: list[str], count: int) -> list[tuple[int, str]]:
    """The ``count`` largest cumulative import times (µs, module) of one run of ``command``."""
    done = subprocess.run([command[0], "-X", "importtime", *command[1:]], capture_output=True, text=True,
                          check=False, env=ENV)
    rows = []
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line.split("|", 2)
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="Fresh processes per figure (default 5).")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="botkit-bench-startup-") as folder:
        data = Path(folder) / "one.bks"
        subprocess.run([*BOTKIT, "data", "generate", "--snapshots", "10", "--levels", "10", str(data)],
                       capture_output=True, check=True, env=ENV)
        backtest = [*BOTKIT, "backtest", "--data", str(data), "--strategy", "market_maker", "--no-progress"]
        figures = {
            "backtest": median_seconds(backtest, options.runs),
            "import": median_seconds([sys.executable, "-c", "import botkit"], options.runs),
            "help": median_seconds([*BOTKIT, "--help"], options.runs),
            "python": median_seconds([sys.executable, "-c", "pass"], options.runs),
            "sqlalchemy": median_seconds([sys.executable, "-c", "import sqlalchemy"], options.runs),
        }
        for name, seconds in figures.items():
            print(f"{name:>10}  {seconds:.3f} s  (median of {options.runs})")
        print("largest cumulative imports of the backtest process:")
        for micros, module in top_imports(backtest, 10):
            print(f"  {micros / 1000:8.1f} ms  {module}")


if __name__ == "__main__":
    main()
