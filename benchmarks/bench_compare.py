"""``botkit compare`` on a one-hour paper session: its wall time, and what it compared.

    .venv/bin/python benchmarks/bench_compare.py                      # 3,600 ticks (an hour at 1 s)
    .venv/bin/python benchmarks/bench_compare.py --ticks 600          # quicker

The session is real: ``botkit run --dry-run --record`` of the shipped market maker on the embedded
sandbox (its simulated market, over HTTP), but ticking every ``--interval`` seconds (default 0.05)
rather than every second, so that an hour's 3,600 ticks take a few minutes. ``compare`` costs by
snapshots, orders and fills, not by the span they cover. The session is kept in ``--dir``
(delete it to record another); each ``compare`` runs in a fresh process, timed from outside.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.backtest.commands import paper_config


def botkit(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "botkit", *args], cwd=cwd, capture_output=True, text=True,
                          check=False)


def record(folder: Path, ticks: int, interval: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    config = paper_config(folder.resolve())  # the compare tests' session, ticking every --interval
    config.write_text(config.read_text().replace("interval_seconds = 0.2", f"interval_seconds = {interval}"))
    # The daemon ticks at most every interval; HTTP and the sandbox make it a little slower, so
    # run until the recording holds the ticks asked for.
    started = time.monotonic()
    duration = ticks * interval
    while True:
        run = botkit("run", "--config", "botkit.toml", "--dry-run", "--record", "rec.jsonl", "--duration",
                     str(duration), "--log-format", "json", cwd=folder)
        if run.returncode:
            sys.exit(f"botkit run failed: {run.stderr[-2000:]}")
        recorded = sum(1 for _ in (folder / "rec.jsonl").open())
        if recorded >= ticks * 0.95:
            break
        (folder / "rec.jsonl").unlink()
        (folder / "journal.sqlite").unlink()
        duration *= ticks / max(recorded, 1)
    print(f"recorded {recorded} ticks in {time.monotonic() - started:.0f} s", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ticks", type=int, default=3600)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--dir", type=Path, default=Path("bench-compare"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not (args.dir / "rec.jsonl").exists():
        record(args.dir, args.ticks, args.interval)
    times = []
    summary = {}
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = botkit("compare", "--config", "botkit.toml", "--paper", "--data", "rec.jsonl", "--format", "json",
                        cwd=args.dir)
        times.append(time.perf_counter() - started)
        if result.returncode:
            sys.exit(f"botkit compare exited {result.returncode}: {result.stderr[-2000:]}")
        summary = json.loads(result.stdout)["summary"]
    print(json.dumps({"snapshots": summary["snapshots"], "orders": summary["run_orders"],
                      "fills": summary["run_fills"], "divergences": summary["order_divergences"]
                      + summary["fill_divergences"], "seconds_best": round(min(times), 2),
                      "seconds_all": [round(t, 2) for t in times]}))


if __name__ == "__main__":
    main()
