"""The soak run shared by the reliability test and ``benchmarks/bench_soak.py``: the real daemon
(APScheduler, engine, client, journal) against the embedded sandbox's simulated market for many
ticks, sampling RSS, open file descriptors and threads as it goes."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from botkit import config as config_mod
from botkit.client import RetryPolicy
from botkit.daemon.scheduler import Daemon
from botkit.engine.assembly import build_bot

D = Decimal


@dataclass
class Sample:
    ticks: int
    seconds: float
    rss_mb: float
    fds: int
    threads: int


@dataclass
class SoakResult:
    samples: list[Sample] = field(default_factory=list)
    ticks: int = 0
    skipped: int = 0
    overlaps: int = 0
    placed: int = 0
    fills: int = 0

    def after_warmup(self, fraction: float = 0.2) -> list[Sample]:
        start = int(len(self.samples) * fraction)
        return self.samples[max(1, start):]

    def rss_growth(self) -> float:
        """RSS growth from the first sample after warm-up to the last, as a fraction."""
        samples = self.after_warmup()
        return (samples[-1].rss_mb - samples[0].rss_mb) / samples[0].rss_mb


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def soak(ticks: int, *, samples: int = 50, interval: float = 0.005,
         progress: Callable[[int], None] | None = None) -> SoakResult:
    """Run the daemon for ``ticks`` ticks and return the resource curve."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        cfg = config_mod.parse({
            "journal": {"url": f"sqlite:///{data / 'journal.sqlite'}"},
            "sandbox": {"state_path": str(data / "sandbox.sqlite"), "seed": 5, "rate_limit": 0},
            "engine": {"interval_seconds": D(str(max(interval, 0.01)))},
            "strategy_paths": [],
            "risk": {"max_position": 1000, "daily_loss_limit": 10**9},
            "strategies": {"market_maker": {"spread_bps": 4, "size": D("0.01"), "max_inventory": 100}},
        }, environ={})
        cwd = os.getcwd()
        os.chdir(data)  # the embedded sandbox keeps its demo secret under ./botkit-data
        try:
            bot = build_bot(cfg)
        finally:
            os.chdir(cwd)
        bot.engine.venue.api.client.retry = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.05)
        daemon = Daemon(bot, interval)
        result = SoakResult()
        every = max(1, ticks // samples)
        next_sample = 0
        thread = threading.Thread(target=lambda: daemon.run(install_signals=False), name="soak-daemon")
        started = time.perf_counter()
        thread.start()
        try:
            while daemon.ticks < ticks:
                if daemon.ticks >= next_sample:
                    result.samples.append(Sample(daemon.ticks, time.perf_counter() - started, rss_mb(),
                                                 open_fds(), threading.active_count()))
                    next_sample += every
                    if progress is not None:
                        progress(daemon.ticks)
                time.sleep(0.02)
        finally:
            daemon.stop()
            thread.join(120)
        result.samples.append(Sample(daemon.ticks, time.perf_counter() - started, rss_mb(), open_fds(),
                                     threading.active_count()))
        result.ticks, result.skipped, result.overlaps = daemon.ticks, daemon.skipped, daemon.overlaps
        result.placed, result.fills = bot.engine.totals.placed, bot.engine.totals.fills
        bot.close()
        return result
