"""botkit against its peers on the same market: nautilus_trader on the same books, backtrader on bars.

    .venv/bin/python benchmarks/bench_peers.py                                   # 200,000 snapshots, 3 rounds
    .venv/bin/python benchmarks/bench_peers.py --snapshots 50000 --rounds 2      # quicker
    .venv/bin/python benchmarks/bench_peers.py --only botkit,nautilus --skip-install
    .venv/bin/python benchmarks/bench_peers.py --only botkit,nautilus --against d63bd45   # and a commit

It generates one seeded market (``botkit.data.generate``: N snapshots, 10 levels a side, 10 trades
each) into botkit's store and JSON Lines, exports the same books for nautilus_trader (as
``OrderBookDepth10``) and 1-minute bars for backtrader, at N and at N/10 snapshots (files kept in
``--dir``). Then, round after round, it runs every contender at both sizes, each in a fresh
process, interleaved (round 1: every contender, round 2: every contender, ...) so that a change in
the machine's load falls on all of them alike:

* botkit (this interpreter, ``run_backtest``), from the store and from JSON Lines: a no-op
  strategy, one reading every level of the book each snapshot (price × quantity, exact: as
  ``Decimal`` levels, and as integers through ``book.units()``), an order
  every 100 snapshots cancelled on the next, and the shipped market maker;
* nautilus_trader replaying the books through a ``BacktestEngine`` (``L2_MBP`` venue book): no-op,
  read-every-level and order-every-100;
* backtrader on the bars: no-op and an SMA crossover, for reference (bars, not books).

The peers run in the benchmark's own virtual environment (``--peers-venv``), created and filled
with pip on first use, never in botkit's: botkit does not depend on them. It prints the medians of
each contender's rates (replay call alone, whole process, marginal) and peak RSS, then the same-
round ratios botkit/peer (the tables' columns: ``benchmarks/peers/report.py``).

With ``--against REF`` botkit's contenders also run with that commit's botkit (its tree extracted
and put first on ``PYTHONPATH``: ``benchmarks/peers/tree.py``), interleaved with this checkout's,
and a last table gives this checkout's rates over that commit's, round by round: a before and
after under the same load, where two separate runs can differ by 30 %. The children write
bytecode as on a user's machine (a first round compiles it, the medians do not see it).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from peers.market import MarketFiles, prepare
from peers.report import Contender, Pairing, Rounds, change_table, contender_table, ratio_table
from peers.tree import extracted

HERE = Path(__file__).resolve().parent / "peers"
PEER_PACKAGES = {"nautilus": "nautilus_trader", "backtrader": "backtrader"}
FAMILIES = ("botkit", "nautilus", "backtrader")


@dataclass(frozen=True)
class Entry:
    """A contender and how to start its child process on one size of the market."""

    contender: Contender
    family: str
    child: str
    argument: str
    input_of: str
    tree: Path | None = None
    """Another commit's botkit to run (``--against``); None: this checkout's."""

    def command(self, python: str, files: MarketFiles) -> list[str]:
        return [python, str(HERE / self.child), self.argument, str(getattr(files, self.input_of))]

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        if self.tree is None:
            return base
        return dict(base, PYTHONPATH=os.pathsep.join(filter(None, (str(self.tree), base.get("PYTHONPATH")))))


def against(plan: Sequence[Entry], ref: str, tree: Path) -> list[Entry]:
    """Each botkit entry of ``plan`` followed by its twin running commit ``ref``."""
    out: list[Entry] = []
    for entry in plan:
        out.append(entry)
        if entry.family == "botkit":
            c = entry.contender
            twin = replace(c, key=f"{c.key}@{ref}", library=f"botkit {ref}")
            out.append(replace(entry, contender=twin, tree=tree))
    return out


def entries() -> list[Entry]:
    out: list[Entry] = []
    for strategy, module in (("no-op", "bench_noop"), ("reads every level", "bench_read_levels"),
                             ("reads every level, integers", "bench_read_units"),
                             ("order every 100, cancelled next", "bench_order100"),
                             ("shipped market_maker", "market_maker")):
        for source, input_of in (("store", "store"), ("JSON Lines", "jsonl")):
            key = f"botkit/{module}/{input_of}"
            out.append(Entry(Contender(key, "botkit", strategy, source), "botkit", "botkit_child.py", module, input_of))
    for strategy, mode in (("no-op", "noop"), ("reads every level", "read_levels"),
                           ("order every 100, cancelled next", "order100")):
        out.append(Entry(Contender(f"nautilus/{mode}", "nautilus_trader", strategy, "OrderBookDepth10"),
                         "nautilus", "nautilus_child.py", mode, "books"))
    for strategy, mode in (("no-op", "noop"), ("SMA crossover 10/30", "sma")):
        out.append(Entry(Contender(f"backtrader/{mode}", "backtrader", strategy, "1-minute bars", unit="bars"),
                         "backtrader", "backtrader_child.py", mode, "bars"))
    return out


PAIRINGS = [
    Pairing("botkit/bench_noop/store", "nautilus/noop"),
    Pairing("botkit/bench_noop/jsonl", "nautilus/noop"),
    Pairing("botkit/bench_read_levels/store", "nautilus/read_levels"),
    Pairing("botkit/bench_read_levels/jsonl", "nautilus/read_levels"),
    Pairing("botkit/bench_read_levels/store", "nautilus/noop"),
    Pairing("botkit/bench_read_units/store", "nautilus/read_levels"),
    Pairing("botkit/bench_read_units/store", "nautilus/noop"),
    Pairing("botkit/bench_read_units/jsonl", "nautilus/noop"),
    Pairing("botkit/bench_order100/store", "nautilus/order100"),
    Pairing("botkit/bench_order100/jsonl", "nautilus/order100"),
]


def peers_python(venv: Path, families: Sequence[str], *, skip_install: bool) -> str:
    """The peers' interpreter, the venv created and the missing peers installed unless told not to."""
    python = venv / "bin" / "python"
    wanted = [PEER_PACKAGES[f] for f in families if f in PEER_PACKAGES]
    if not wanted:
        return str(python)
    if not python.exists():
        if skip_install:
            raise SystemExit(f"--skip-install: there is no virtual environment at {venv} (run once without it)")
        print(f"creating the peers' virtual environment {venv}", flush=True)
        subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    missing = [p for p in wanted if subprocess.run(
        [str(python), "-c", f"import {p}"], capture_output=True, check=False).returncode != 0]
    if missing and skip_install:
        raise SystemExit(f"--skip-install: {', '.join(missing)} not importable in {venv}")
    if missing:
        print(f"installing {', '.join(missing)} into {venv} (pip; a few minutes)", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--upgrade", *missing], check=True)
    return str(python)


def versions(python: str, families: Sequence[str]) -> str:
    packages = [PEER_PACKAGES[f] for f in families if f in PEER_PACKAGES]
    if not packages:
        return ""
    script = ("import importlib.metadata as m, sys\n"
              "print(', '.join(f'{p} {m.version(p)}' for p in sys.argv[1:]))")
    out = subprocess.run([python, "-c", script, *packages], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "peer versions unknown"


def run_child(command: list[str], env: dict[str, str], cwd: Path | None = None) -> dict[str, Any]:
    """One fresh process: its JSON figures plus its wall time, or the error it died of."""
    started = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, check=False, env=env, cwd=cwd)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        tail = (out.stderr or out.stdout).strip().splitlines()[-3:]
        return {"error": " / ".join(tail) or f"exit status {out.returncode}", "wall": wall}
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    figures["wall"] = wall
    return figures


def same_books(rounds: Rounds) -> str:
    """Whether every read-every-level run (botkit's and nautilus_trader's) summed the same notional
    at each size: then all replayed the same books, every level of every snapshot."""
    by_size = {size: {Decimal(f["check"]) for (_, s), runs in rounds.figures.items() if s == size
                      for f in runs if f.get("check") is not None} for size in (rounds.full, rounds.small)}
    if not any(by_size.values()):
        return "check: no read-every-level run to compare"
    if all(len(found) <= 1 for found in by_size.values()):
        agreed = ", ".join(f"{size:,} snapshots: {next(iter(found))}" for size, found in by_size.items() if found)
        return f"check: every read-every-level run summed the same notional ({agreed} USD)"
    return f"CHECK FAILED: the read-every-level runs disagree: {by_size}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--snapshots", type=int, default=200_000, help="full size N (N/10 is run too)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "botkit-bench-peers")
    parser.add_argument("--peers-venv", type=Path, default=Path("/tmp/botkit-peers-venv"))
    parser.add_argument("--skip-install", action="store_true", help="never create the venv or pip install")
    parser.add_argument("--only", default=",".join(FAMILIES), help="families to run: botkit,nautilus,backtrader")
    parser.add_argument("--json", type=Path, help="also write every round's raw figures here")
    parser.add_argument("--against", metavar="REF", help="also run botkit at this commit, interleaved, and compare")
    args = parser.parse_args()
    families = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = sorted(set(families) - set(FAMILIES))
    if unknown or args.snapshots < 100 or args.rounds < 1:
        parser.error(f"--only takes {','.join(FAMILIES)}" if unknown else "--snapshots ≥ 100 and --rounds ≥ 1")

    peer_python = peers_python(args.peers_venv, families, skip_install=args.skip_install)
    full, small = args.snapshots, args.snapshots // 10
    print(f"market: {full:,} and {small:,} snapshots, 10 levels a side, seed 1, in {args.dir}", flush=True)
    sizes = {full: prepare(args.dir, full), small: prepare(args.dir, small)}
    plan = [e for e in entries() if e.family in families]
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONHASHSEED"] = "0"
    rounds = Rounds(full, small)
    own_cwd: Path | None = None  # a working folder of its own for the other commit's children
    with ExitStack() as stack:
        if args.against:
            tree = stack.enter_context(extracted(args.against))
            plan = against(plan, args.against, tree)
            own_cwd = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="botkit-bench-cwd-")))
        for number in range(1, args.rounds + 1):
            for entry in plan:
                python = sys.executable if entry.family == "botkit" else peer_python
                for size in (full, small):
                    c = entry.contender
                    print(f"round {number}/{args.rounds}: {c.library} {c.strategy} ({c.source}) × {size:,} ...",
                          end=" ", flush=True)
                    figures = run_child(entry.command(python, sizes[size]), entry.environment(env),
                                        own_cwd if entry.tree is not None else None)
                    rounds.add(c.key, size, figures)
                    built = (f", building the records {figures['build_seconds']:.2f} s"
                             if "build_seconds" in figures else "")
                    print(f"failed: {figures['error']}" if "error" in figures
                          else f"{figures['wall']:.1f} s (run {figures['run_seconds']:.2f} s{built})", flush=True)

    contenders = [e.contender for e in plan]
    load = os.getloadavg()
    print()
    print(f"bench_peers --snapshots {full} --rounds {args.rounds}: medians of {args.rounds} round(s); "
          f"python {platform.python_version()}, {os.cpu_count()} CPU(s), load average {load[0]:.1f} at the end; "
          + versions(peer_python, families))
    print("\n".join(contender_table(rounds, contenders)))
    if "botkit" in families and "nautilus" in families:
        print()
        print("same-round ratios botkit/peer (median; > 1: botkit faster)")
        print("\n".join(ratio_table(rounds, contenders, PAIRINGS)))
    if args.against:
        print()
        print(f"same-round ratios this checkout / {args.against} (median; > 1: this checkout faster)")
        print("\n".join(change_table(rounds, contenders, args.against)))
    print(same_books(rounds))
    if args.json:
        raw = {f"{key} {size}": figures for (key, size), figures in rounds.figures.items()}
        args.json.write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
