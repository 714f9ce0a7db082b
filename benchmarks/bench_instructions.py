"""Instructions a replayed snapshot costs, counted by valgrind: a speed figure that load cannot move.

    .venv/bin/python benchmarks/bench_instructions.py                      # this checkout
    .venv/bin/python benchmarks/bench_instructions.py --against 07e22c0    # and a commit, side by side
    .venv/bin/python benchmarks/bench_instructions.py --strategies bench_noop --input jsonl

On a shared machine two runs of the same backtest differ by up to 30 % in seconds, which hides
the 5-10 % a change to the tick is usually worth. ``valgrind --tool=callgrind`` counts the
instructions the process executes instead: the same count for the same code and data, whatever
else the machine is doing. Each strategy runs (through ``benchmarks/peers/botkit_child.py``, in a
fresh process under callgrind) on the peers' market at two sizes, and the figure is the
difference of their counts over the difference of their snapshots, so imports and setup cancel
out. With ``--against REF`` the same runs are made with that commit's ``botkit`` (extracted with
``git archive`` and put first on ``PYTHONPATH``), and the change is printed.

Instructions are not seconds (a cache miss costs more than an add), but for a change to Python
code on the same interpreter they move together; ``bench_peers.py`` gives the rates. Needs
valgrind (Debian: ``apt-get install valgrind``); a run takes about 50× its native time, so the
sizes are small: 10,000 and 20,000 snapshots by default, both past the store's first chunk of
8,192 (whose snapshots are made before the reader knows what the strategies read: it costs
both runs the same, and cancels out).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / "benchmarks" / "peers"
sys.path.insert(0, str(PEERS))

from market import prepare  # noqa: E402
from tree import extracted  # noqa: E402

STRATEGIES = ("bench_noop", "bench_order100", "bench_read_units", "bench_read_levels", "market_maker")
_COLLECTED = re.compile(r"Collected : (\d+)")


def instructions(strategy: str, data: Path, pythonpath: str | None) -> int:
    """Instructions of one whole backtest process (``botkit_child.py``) under callgrind."""
    # No bytecode written: the first of two runs would compile and cache what the second loads,
    # and the difference would count the compilation (both runs now pay the same).
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "PYTHONDONTWRITEBYTECODE": "1"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    with tempfile.TemporaryDirectory(prefix="botkit-bench-instructions-") as cwd:  # no ./strategies here
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
             sys.executable, str(PEERS / "botkit_child.py"), strategy, str(data)],
            capture_output=True, text=True, cwd=cwd, env=env, check=False)
    found = _COLLECTED.search(done.stderr)
    if done.returncode or found is None:
        tail = "\n".join(done.stderr.splitlines()[-15:])
        raise SystemExit(f"{strategy} on {data.name} failed under valgrind (exit {done.returncode}):\n{tail}")
    return int(found.group(1))


def per_snapshot(strategy: str, small: Path, large: Path, sizes: tuple[int, int], pythonpath: str | None) -> float:
    counts = [instructions(strategy, path, pythonpath) for path in (small, large)]
    return (counts[1] - counts[0]) / (sizes[1] - sizes[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategies", default=",".join(STRATEGIES),
                        help=f"Comma-separated, from benchmarks/peers/botkit_strategies or shipped (default: "
                             f"{','.join(STRATEGIES)}).")
    parser.add_argument("--input", choices=("store", "jsonl"), default="store", help="The market's file format.")
    parser.add_argument("--small", type=int, default=10_000, help="Snapshots of the smaller run (default 10,000).")
    parser.add_argument("--large", type=int, default=20_000, help="Snapshots of the larger run (default 20,000).")
    parser.add_argument("--against", metavar="REF", help="Also count with this commit's botkit, and compare.")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "botkit-bench-peers",
                        help="Where the market files are kept between runs.")
    parser.add_argument("--jobs", type=int, default=2, help="Processes at once (counts do not depend on it).")
    options = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    if not 0 < options.small < options.large:
        raise SystemExit("--small must be above 0 and below --large")
    sizes = (options.small, options.large)
    files = [prepare(options.dir, n) for n in sizes]
    paths = tuple(f.store if options.input == "store" else f.jsonl for f in files)
    strategies = [s.strip() for s in options.strategies.split(",") if s.strip()]
    with ExitStack() as stack:
        trees: list[tuple[str, str | None]] = [("this checkout", None)]
        if options.against:
            trees.insert(0, (options.against, str(stack.enter_context(extracted(options.against)))))
        jobs = [(strategy, label, path) for strategy in strategies for label, path in trees]
        print(f"callgrind: {len(jobs) * 2} processes, {options.input}, {sizes[0]:,} and {sizes[1]:,} snapshots "
              f"(about a minute each) ...", flush=True)
        with ThreadPoolExecutor(max(1, options.jobs)) as pool:
            futures = {job: pool.submit(per_snapshot, job[0], paths[0], paths[1], sizes, job[2]) for job in jobs}
            figures = {job: future.result() for job, future in futures.items()}
    print()
    labels = [label for label, _ in trees]
    print("| strategy | " + " | ".join(f"{label} (instructions/snapshot)" for label in labels)
          + (" | change |" if len(labels) == 2 else " |"))
    print("|---" * (len(labels) + 1 + (len(labels) == 2)) + "|")
    for strategy in strategies:
        values = [figures[(strategy, label, path)] for label, path in trees]
        row = f"| {strategy} ({options.input}) | " + " | ".join(f"{v:,.0f}" for v in values)
        if len(values) == 2:
            row += f" | {values[1] / values[0] - 1:+.1%}"
        print(row + " |")


if __name__ == "__main__":
    main()
