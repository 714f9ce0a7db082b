"""``botkit.backtest.optimize(...)`` and ``botkit.backtest.run(...)``: DataFrames and figures."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import botkit.backtest
from tests.optimize.conftest import STRATEGIES


def test_optimize_returns_trials_and_windows_as_dataframes(market: Path) -> None:
    result = botkit.backtest.optimize(market, "tuned", trials=2, strategy_paths=[STRATEGIES],
                                      walk_forward="train=8m,test=4m", monte_carlo_runs=50)
    trials = result.trials
    assert len(trials) == 4 and set(trials["window"]) == {0, 1}
    assert {"lookback", "threshold", "size", "total_return", "state"} <= set(trials.columns)
    windows = result.windows
    assert list(windows["window"]) == [0, 1]
    assert (windows["test_start"] >= windows["train_end"]).all()
    assert len(result.equity) > 0
    assert result.best_params.keys() == {"lookback", "threshold", "size"}
    assert isinstance(result.best_params["threshold"], Decimal)
    assert result.document["robustness"]["runs"] == 50
    assert result.plot().axes
    assert "out of sample" in repr(result)


def test_a_plain_study_plots_its_history(market: Path) -> None:
    result = botkit.backtest.optimize(market, "tuned", trials=2, strategy_paths=[STRATEGIES])
    assert len(result.windows) == 0
    assert result.plot().axes


def test_run_returns_equity_fills_and_orders(market: Path) -> None:
    run = botkit.backtest.run(market, strategies=["tuned"], strategy_paths=[STRATEGIES],
                              params={"tuned": {"threshold": Decimal(0)}}, limit=600)
    assert len(run.equity) == 600 and list(run.equity.columns) == ["equity", "mid"]
    assert len(run.fills) == run.metrics["fills"] > 0
    assert isinstance(run.fills["price"].iloc[0], Decimal)
    assert len(run.orders) == run.metrics["orders"]
    assert len(run.plot().axes) == 4


def test_run_returns_the_bars_of_each_declared_timeframe(market: Path) -> None:
    """sma_crossover declares 1-minute bars: they come back as a DataFrame, one row a bar, in
    time order, each one minute after the one before."""
    run = botkit.backtest.run(market, strategies=["sma_crossover"], limit=600)
    bars = run.bars
    assert set(bars["timeframe"]) == {"1m"}
    assert {"open", "high", "low", "close", "volume", "missing", "from_mid"} <= set(bars.columns)
    steps = bars.index.to_series().diff().dropna()
    assert len(bars) >= 2 and (steps.dt.total_seconds() == 60).all()
    assert (bars["high"] >= bars["low"]).all()
    assert botkit.backtest.run(market, strategies=["tuned"], strategy_paths=[STRATEGIES], limit=60).bars.empty


def test_botkit_optimize_is_the_backtesters_optimiser_loaded_on_demand() -> None:
    """The issue's name for it: ``botkit.optimize(...)``; the strategy API does not load it."""
    import subprocess
    import sys

    script = ("import sys, botkit; assert 'botkit.backtest' not in sys.modules; "
              "from botkit.backtest import optimize; assert botkit.optimize is optimize")
    assert subprocess.run([sys.executable, "-c", script], check=False).returncode == 0
