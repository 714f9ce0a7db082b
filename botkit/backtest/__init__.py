"""Backtesting: the runner, performance statistics, the report and its plots, and sweeps.

The same engine, strategies, risk checks and journal as live trading; only the venue differs:
:class:`~botkit.venues.simulated.SimulatedVenue` fills orders against recorded snapshots
(``botkit.data``) with the fill model documented in ``docs/backtesting.md``.

A lazy facade (:mod:`botkit.core.lazy`): ``botkit backtest`` imports the runner through this
package, and need not load the notebook API's pandas or the optimiser to replay a file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING

from botkit.core.lazy import lazy_facade as _lazy_facade

if _TYPE_CHECKING:
    from botkit.backtest.notebook import BacktestRun, run
    from botkit.backtest.optimizer import OptimizeResult, optimize
    from botkit.backtest.performance import Performance, PerformanceRecorder
    from botkit.backtest.runner import BacktestResult, run_backtest
    from botkit.backtest.sample import SAMPLE
    from botkit.backtest.settings import BacktestSettings

__getattr__, __dir__ = _lazy_facade(__name__, {
    "BacktestRun": "botkit.backtest.notebook",
    "run": "botkit.backtest.notebook",
    "OptimizeResult": "botkit.backtest.optimizer",
    "optimize": "botkit.backtest.optimizer",
    "Performance": "botkit.backtest.performance",
    "PerformanceRecorder": "botkit.backtest.performance",
    "BacktestResult": "botkit.backtest.runner",
    "run_backtest": "botkit.backtest.runner",
    "SAMPLE": "botkit.backtest.sample",
    "BacktestSettings": "botkit.backtest.settings",
})

__all__ = [
    "SAMPLE",
    "BacktestResult",
    "BacktestRun",
    "BacktestSettings",
    "OptimizeResult",
    "Performance",
    "PerformanceRecorder",
    "optimize",
    "run",
    "run_backtest",
]
