"""kill -9 and bars: a daemon killed with SIGKILL and restarted has, at its first bar, the history
it had before the kill (the bars are journaled as they close, before any strategy sees them); the
seconds it was down are rebuilt from the exchange's trade list, exactly, or marked missing, never
priced out of thin air; and its trade bars are those of a bot on the same market that was never
killed. The sandbox (this process) outlives the kill."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit.client import parse
from tests.engine.harness import BOT_KEY, BOT_SECRET, accounts
from tests.polling import wait
from tests.reliability.conftest import Figures

PROBE = '''
"""Writes, at each 1-second bar, its pid and ctx.history as it stands."""
import json, os
from botkit import hookimpl

TIMEFRAMES = ("1s",)
HISTORY = 300
OUT = os.environ["BARS_PROBE_OUT"]


@hookimpl
def botkit_on_bar(bar, ctx):
    rows = [[b.start, b.end, str(b.open), str(b.high), str(b.low), str(b.close), str(b.volume), b.trades,
             b.from_mid, b.missing] for b in ctx.history("1s")]
    with open(OUT, "a") as out:
        out.write(json.dumps({"pid": os.getpid(), "bar": bar.start, "history": rows}) + "\\n")
'''


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from botkit.sandbox import Sandbox

    with Sandbox(market="sim", seed=13, accounts=accounts(), rate_limit=0, market_interval=0.05) as sb:
        yield sb


def _config(tmp_path: Path, sandbox: Any, strategies: Path) -> Path:
    path = tmp_path / "botkit.toml"
    path.write_text(f"""
strategy_paths = ["{strategies}"]
[exchange]
base_url = "{sandbox.base_url}"
api_key = "{BOT_KEY}"
api_secret = "{BOT_SECRET}"
timeout_seconds = 5
[journal]
url = "sqlite:///{tmp_path / 'journal.sqlite'}"
[engine]
interval_seconds = 0.1
[strategies.bars_probe]
""")
    return path


def _lines(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


@pytest.mark.slow
def test_a_daemon_killed_with_sigkill_has_its_history_at_its_first_bar_after_restart(
        sandbox: Any, tmp_path: Path) -> None:
    strategies = tmp_path / "strategies"
    strategies.mkdir()
    (strategies / "bars_probe.py").write_text(PROBE)
    killed_dir, shadow_dir = tmp_path / "killed", tmp_path / "shadow"
    out, shadow_out = killed_dir / "probe.jsonl", shadow_dir / "probe.jsonl"
    procs: list[subprocess.Popen[bytes]] = []

    def start(folder: Path, probe: Path) -> subprocess.Popen[bytes]:
        folder.mkdir(exist_ok=True)
        config = _config(folder, sandbox, strategies)
        with (folder / "daemon.log").open("ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "botkit", "run", "--config", str(config)], cwd=folder,
                                    env={**os.environ, "BARS_PROBE_OUT": str(probe)}, stdout=log, stderr=log)
        procs.append(proc)
        return proc

    try:
        # An uninterrupted bot on the same market (its own journal), running all along: the one
        # the restarted bot must agree with.
        shadow = start(shadow_dir, shadow_out)
        wait(lambda: _lines(shadow_out), 120, "the uninterrupted bot's first bar", every=0.05)
        first = start(killed_dir, out)
        wait(lambda: sum(1 for line in _lines(out) if line["pid"] == first.pid) >= 5, 120, "five bars",
             every=0.05)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        assert first.returncode == -signal.SIGKILL
        before = [line for line in _lines(out) if line["pid"] == first.pid][-1]["history"]

        second = start(killed_dir, out)
        line = wait(lambda: next((x for x in _lines(out) if x["pid"] == second.pid), None), 120,
                    "the restarted daemon's first bar", every=0.05)
        wait(lambda: any(x["bar"] >= line["bar"] for x in _lines(shadow_out)), 120,
             "the uninterrupted bot at the same bar", every=0.05)
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=60)
        shadow.send_signal(signal.SIGTERM)
        shadow.wait(timeout=60)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
    after = line["history"]
    # The history before the kill is there, bar for bar, exactly; the rest follows without a hole.
    assert after[: len(before)] == before, (killed_dir / "daemon.log").read_text()[-3000:]
    assert all(b[0] == a[1] for a, b in itertools.pairwise(after))
    # The seconds it was down: rebuilt from the exchange's trades, or missing; none is made up.
    trades = sorted(parse.trades([t.view() for t in sandbox.exchange.trades(1000)]), key=lambda t: t.ts)
    rebuilt = missing = 0
    for start_, end, open_, high, low, close, volume, count, from_mid, is_missing in after[len(before):-1]:
        mine = [t for t in trades if start_ <= t.ts < end]
        if is_missing:
            assert open_ == close == "None"
            missing += 1
        elif not from_mid:
            assert (Decimal(high), Decimal(low), Decimal(volume), count) == (
                max(t.price for t in mine), min(t.price for t in mine), sum((t.quantity for t in mine), Decimal(0)),
                len(mine))
            rebuilt += 1
    # At its first bar after the restart, its history's trade bars are the uninterrupted bot's
    # (the book-derived fields differ: each polled the book at its own moments).
    uninterrupted = {bar[0]: bar for bar in next(x for x in _lines(shadow_out) if x["bar"] == line["bar"])["history"]}
    compared = 0
    for bar in after:
        other = uninterrupted.get(bar[0])
        if other is not None and bar[7] and other[7]:  # trades in both
            assert bar[:8] == other[:8], (bar, other)
            compared += 1
    assert compared >= 3
    figures = Figures("bars_restart")
    figures.values = {"bars_before_kill": len(before), "history_at_first_bar_after": len(after),
                      "gap_bars_rebuilt_from_trades": rebuilt, "gap_bars_missing": missing,
                      "trade_bars_equal_to_uninterrupted_bot": compared}
    figures.save()
