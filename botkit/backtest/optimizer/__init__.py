"""``botkit optimize``: optuna studies of a strategy's typed parameters over real backtests,
walk-forward validation and a Monte Carlo of the out-of-sample trades (docs/research.md).

optuna and pandas are the ``botkit[optimize]`` extra, imported only when a study runs.
"""

from __future__ import annotations

from botkit.backtest.optimizer.api import optimize
from botkit.backtest.optimizer.result import OptimizeResult

__all__ = ["OptimizeResult", "optimize"]
