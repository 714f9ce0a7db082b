"""Import rate and memory of ``botkit data import``, and backtest throughput on what it wrote.

    .venv/bin/python benchmarks/bench_import.py              # a 1 GB book_snapshot_25 file
    .venv/bin/python benchmarks/bench_import.py --mb 100     # quicker

It writes a Tardis ``book_snapshot_25`` CSV of about ``--mb`` megabytes (a seeded random walk of
25 levels a side, 100 ms apart, prices on a 0.1 grid and amounts on 0.001, as Binance USD-M
BTCUSDT's are) and a ``trades`` CSV of one trade every third book row, then times, each in a fresh
process so that its peak RSS is its own:

* ``import``: ``botkit data import --format tardis`` of both files into the store (``.bks``) and,
  with ``--jsonl``, into JSON Lines; rows/s counts book and trade rows;
* ``backtest``: ``botkit backtest`` of the imported store with a strategy that does nothing
  (snapshots/s: the engine's replay of the imported market).

Files are kept in ``--dir`` between runs (delete them to regenerate).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NOOP = '''"""Does nothing: the engine's own cost."""
from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    return None
'''
T0_US = 1_700_000_000_000_000


def write_market(book: Path, trades: Path, megabytes: int, seed: int) -> int:
    """Write the two CSVs; return the number of book rows."""
    rng = random.Random(seed)
    header = ["exchange", "symbol", "timestamp", "local_timestamp"]
    for i in range(25):
        header += [f"asks[{i}].price", f"asks[{i}].amount", f"bids[{i}].price", f"bids[{i}].amount"]
    limit = megabytes * 1_000_000
    mid = 300_000  # tenths: 30000.0
    rows = 0
    with open(book, "w", buffering=1 << 20) as out, open(trades, "w", buffering=1 << 20) as tout:
        out.write(",".join(header) + "\n")
        tout.write("exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n")
        written = 0
        while written < limit:
            mid += rng.choice((-1, 0, 0, 1))
            local = T0_US + rows * 100_000 + rng.randrange(1000)
            cells = ["binance-futures", "BTCUSDT", str(local - 800), str(local)]
            for i in range(25):
                ask, bid = mid + 1 + i, mid - i
                cells += [f"{ask // 10}.{ask % 10}", f"{rng.randrange(1, 5000) / 1000:.3f}",
                          f"{bid // 10}.{bid % 10}", f"{rng.randrange(1, 5000) / 1000:.3f}"]
            line = ",".join(cells) + "\n"
            out.write(line)
            written += len(line)
            if rows % 3 == 0:
                sell = rng.random() < 0.5
                price = mid if sell else mid + 1
                amount = rng.randrange(1, 900) / 1000
                tout.write(f"binance-futures,BTCUSDT,{local + 40_000},{local + 50_000},{rows},"
                           f"{'sell' if sell else 'buy'},{price // 10}.{price % 10},{amount:.3f}\n")
            rows += 1
    return rows


def rows_of(path: Path) -> int:
    """Rows of a CSV, its header not counted."""
    with open(path, "rb") as lines:
        return sum(1 for _ in lines) - 1


def timed(args: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of a botkit command run in its own process."""
    start = time.perf_counter()
    code = ("import resource, sys; from botkit.cli import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    status = e.code\nelse:\n    status = 0\n"
            "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, file=sys.stderr)\n"
            "sys.exit(status)")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"botkit {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    rss = float(done.stderr.rsplit("RSS ", 1)[1].split()[0])
    return seconds, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=1000, help="Size of the book file in MB (default 1000).")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "botkit-bench-import")
    parser.add_argument("--jsonl", action="store_true", help="Also import into JSON Lines.")
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    folder = options.dir
    folder.mkdir(parents=True, exist_ok=True)
    book = folder / f"book_snapshot_25_{options.mb}mb.csv"
    trades = folder / f"trades_{options.mb}mb.csv"
    if not book.exists() or not trades.exists():
        started = time.perf_counter()
        write_market(book, trades, options.mb, options.seed)
        print(f"generated {book} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    book_rows, trade_rows = rows_of(book), rows_of(trades)
    rows = book_rows + trade_rows
    results: dict[str, object] = {"book_mb": round(book.stat().st_size / 1e6, 1), "book_rows": book_rows,
                                  "trade_rows": trade_rows}
    for suffix in [".bks"] + ([".jsonl"] if options.jsonl else []):
        out = folder / f"imported{suffix}"
        seconds, rss = timed(["data", "import", "--format", "tardis", "--no-progress", "--force", "--out", str(out),
                              str(book), str(trades)])
        results[f"import{suffix}"] = {"seconds": round(seconds, 1), "rows_per_s": round(rows / seconds),
                                      "peak_rss_mb": round(rss), "out_mb": round(out.stat().st_size / 1e6, 1)}
        print(json.dumps({f"import{suffix}": results[f"import{suffix}"]}), file=sys.stderr)
    strategies = folder / "strategies"
    strategies.mkdir(exist_ok=True)
    (strategies / "noop.py").write_text(NOOP)
    config = folder / "botkit.toml"
    config.write_text(f'strategy_paths = ["{strategies}"]\n[journal]\nurl = "sqlite:///{folder / "unused.sqlite"}"\n')
    seconds, rss = timed(["backtest", "--config", str(config), "--data", str(folder / "imported.bks"),
                          "--strategy", "noop", "--no-progress"])
    results["backtest.bks"] = {"seconds": round(seconds, 1), "snapshots_per_s": round(book_rows / seconds),
                               "peak_rss_mb": round(rss)}
    results["cpu"] = os.cpu_count()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
