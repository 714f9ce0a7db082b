"""Scenario 9: soak. Thousands of ticks of the real daemon against the embedded sandbox: memory,
file descriptors and threads stay flat after warm-up. (The issue's full 50,000 ticks, with a
plot of the curve: ``python benchmarks/bench_soak.py``.)"""

from __future__ import annotations

import pytest

from tests.reliability.conftest import Figures, scaled
from tests.reliability.soak import soak


@pytest.mark.timeout(900)
def test_resources_stay_flat_over_thousands_of_ticks(figures: Figures) -> None:
    result = soak(scaled(4000), samples=40)
    steady = result.after_warmup()
    fds = {s.fds for s in steady}
    threads = {s.threads for s in steady}
    figures.values.update({
        "ticks": result.ticks, "ticks_skipped": result.skipped, "overlaps": result.overlaps,
        "orders_placed": result.placed, "fills": result.fills,
        "rss_mb_after_warmup": round(steady[0].rss_mb, 1), "rss_mb_end": round(steady[-1].rss_mb, 1),
        "rss_growth_pct": round(result.rss_growth() * 100, 2),
        "fds_min_max": [min(fds), max(fds)], "threads_min_max": [min(threads), max(threads)],
    })
    assert result.overlaps == 0
    assert result.placed > 0
    assert result.rss_growth() < 0.10
    # No upward trend: the second half of the run needs no more than the first half did (threads
    # come and go: APScheduler's pool grows on demand, a strategy call with a time limit has one).
    half = len(steady) // 2
    assert max(s.fds for s in steady[half:]) <= max(s.fds for s in steady[:half]) + 1
    assert max(s.threads for s in steady[half:]) <= max(s.threads for s in steady[:half]) + 1
