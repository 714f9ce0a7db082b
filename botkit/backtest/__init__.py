"""Backtesting: the runner, performance statistics, the report and its plots, and sweeps.

The same engine, strategies, risk checks and journal as live trading; only the venue differs:
:class:`~botkit.venues.simulated.SimulatedVenue` fills orders against recorded snapshots
(``botkit.data``) with the fill model documented in ``docs/backtesting.md``.
"""

from __future__ import annotations

from botkit.backtest.performance import Performance, PerformanceRecorder
from botkit.backtest.runner import BacktestResult, run_backtest
from botkit.backtest.sample import SAMPLE
from botkit.backtest.settings import BacktestSettings

__all__ = [
    "SAMPLE",
    "BacktestResult",
    "BacktestSettings",
    "Performance",
    "PerformanceRecorder",
    "run_backtest",
]
