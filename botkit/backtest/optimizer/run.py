"""``botkit optimize``'s whole run: one study over the file, or a walk-forward of studies each
followed by its out-of-sample test, then the Monte Carlo of the out-of-sample trades.

A walk-forward window's study trains only on ``[train_start, train_end)`` (the backtest's
``from_ts``/``to_ts``), and its best parameters are then run once on ``[test_start, test_end)``,
which starts where training stopped: the test data took no part in choosing them. Each test run
starts from the initial balances; the out-of-sample equity is stitched by chaining each window's
growth onto the last one's end.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from botkit.backtest.optimizer.robustness import DEFAULT_RUNS, monte_carlo
from botkit.backtest.optimizer.space import text
from botkit.backtest.optimizer.study import Optimiser, StudyResult
from botkit.backtest.optimizer.windows import WalkForward, Window, data_span
from botkit.backtest.performance import Performance
from botkit.backtest.report import metrics_dict
from botkit.backtest.runner import BacktestResult
from botkit.backtest.sweep import SweepExecutor
from botkit.core.money import EXACT
from botkit.model import ZERO


@dataclass
class WindowResult:
    window: Window
    study: StudyResult
    test: BacktestResult

    def to_json(self) -> dict[str, Any]:
        w = self.window
        return {"index": w.index, "train": {"start": w.train_start, "end": w.train_end},
                "test": {"start": w.test_start, "end": w.test_end},
                "study": self.study.name, "params": self.study.best.params,
                "in_sample": self.study.best.metrics, "out_of_sample": metrics_dict(self.test.metrics)}


@dataclass
class RunOutcome:
    """What :func:`run_optimize` found: the studies, and with a walk-forward its windows, the
    stitched out-of-sample equity, its overall metrics and the Monte Carlo."""

    optimiser: Optimiser
    studies: list[StudyResult]
    walk_forward: WalkForward | None = None
    windows: list[WindowResult] | None = None
    out_of_sample: dict[str, Any] | None = None
    equity: list[tuple[int, float]] | None = None
    """The stitched out-of-sample equity, (ts, USD) at each kept point."""
    robustness: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        """``optimize.json``: deterministic for the same inputs (no paths of where it ran, no clock)."""
        opt = self.optimiser
        best = self.studies[-1]
        doc: dict[str, Any] = {
            "strategy": opt.space.strategy,
            "objectives": list(opt.objectives),
            "seed": opt.seed,
            "space": opt.space.signature(),
            "fixed": {key: text(value) for key, value in opt.space.fixed.items()},
            "best": {"trial": best.best.number, "params": best.best.params, "values": best.best.values,
                     "metrics": best.best.metrics},
            "pareto": best.pareto,
            "trials": [trial.to_json() for trial in best.trials],
        }
        if self.walk_forward is not None and self.windows is not None:
            doc["walk_forward"] = self.walk_forward.describe()
            doc["windows"] = [w.to_json() | {"trials": [t.to_json() for t in w.study.trials]} for w in self.windows]
            doc["out_of_sample"] = self.out_of_sample
            doc["robustness"] = self.robustness
            del doc["trials"]  # each window lists its own
        return doc


def run_optimize(optimiser: Optimiser, executor: SweepExecutor, *, trials: int, study: str,
                 walk_forward: WalkForward | None = None, monte_carlo_runs: int = DEFAULT_RUNS,
                 progress: bool | None = None, announce: Callable[[str], None] | None = None) -> RunOutcome:
    """The whole run on ``executor`` (entered here)."""
    with executor:
        if walk_forward is None:
            return RunOutcome(optimiser, [optimiser.run(executor, study, trials, progress=progress,
                                                        announce=announce)])
        first, last = data_span(optimiser.settings["data"])
        windows = walk_forward.windows(first, last)
        if announce is not None:
            announce(f"walk-forward {walk_forward.describe()}: {len(windows)} window(s)")
        results = []
        for window in windows:
            found = optimiser.run(executor, f"{study}-window{window.index}", trials, span=window.train,
                                  progress=progress, announce=announce)
            results.append(WindowResult(window, found, out_of_sample_run(optimiser, found, window)))
    outcome = RunOutcome(optimiser, [w.study for w in results], walk_forward, results)
    outcome.equity, outcome.out_of_sample = stitch(results)
    fills = [pnl for w in results for pnl in w.test.recorder.fill_pnl]
    bars = [r for w in results for r in w.test.recorder.bar_returns]
    start = results[0].test.metrics.start_equity or ZERO
    outcome.robustness = monte_carlo(fills, bars, start, seed=optimiser.seed, runs=monte_carlo_runs)
    return outcome


def out_of_sample_run(optimiser: Optimiser, study: StudyResult, window: Window) -> BacktestResult:
    """The study's best parameters on the window's test span (in this process, keeping each fill's
    PnL and each bar's return for the Monte Carlo)."""
    from botkit import config as config_mod
    from botkit.backtest.runner import run_backtest
    from botkit.backtest.settings import BacktestSettings

    job = optimiser.job(study.best_values, window.test)
    cfg = config_mod.load(job.config_path) if job.config_path is not None else config_mod.parse({})
    settings = BacktestSettings(**{**job.settings, "params": job.params})
    return run_backtest(cfg, settings, command=job.command, keep_trades=True)


def stitch(windows: Sequence[WindowResult]) -> tuple[list[tuple[int, float]], dict[str, Any]]:
    """The out-of-sample equity chained window to window, and its overall metrics: compounded
    return, the deepest drawdown (of the chained curve, or inside a window if deeper), the
    strategy's PnL, fees, orders and fills summed (exact), and the per-bar Sharpe of all bars."""
    metrics: list[Performance] = [w.test.metrics for w in windows]
    start = metrics[0].start_equity
    growth = 1.0
    curve: list[tuple[int, float]] = []
    for window in windows:
        m = window.test.metrics
        if not m.start_equity or m.end_equity is None:
            continue  # no two-sided book in the window: nothing valued, nothing chained
        base = float(start or 0) * growth / float(m.start_equity)
        curve += [(ts, equity * base) for ts, equity, _ in window.test.recorder.equity_series.points]
        growth *= float(m.end_equity / m.start_equity)
    peak, deepest = 0.0, max(m.max_drawdown for m in metrics)
    for _, equity in curve:
        peak = max(peak, equity)
        if peak > 0:
            deepest = max(deepest, (peak - equity) / peak)
    bars = [r for w in windows for r in w.test.recorder.bar_returns]
    sharpe = None
    if len(bars) >= 2:
        mean = sum(bars) / len(bars)
        std = math.sqrt(sum((r - mean) ** 2 for r in bars) / (len(bars) - 1))
        sharpe = mean / std if std > 0 else None
    total = {"strategy_pnl": ZERO, "fees": ZERO}
    for m in metrics:
        total["strategy_pnl"] = EXACT.add(total["strategy_pnl"], m.strategy_pnl)
        total["fees"] = EXACT.add(total["fees"], m.fees)
    overall = {
        "windows": len(windows),
        "start": windows[0].window.test_start,
        "end": windows[-1].window.test_end,
        "start_equity": None if start is None else str(start),
        "end_equity": None if start is None else f"{float(start) * growth:.2f}",
        "total_return": round(growth - 1, 12),
        "max_drawdown": round(deepest, 12),
        "sharpe_per_bar": None if sharpe is None else round(sharpe, 12),
        "strategy_pnl": str(total["strategy_pnl"]),
        "fees": str(total["fees"]),
        "orders": sum(m.orders for m in metrics),
        "fills": sum(m.fills for m in metrics),
        "in_sample_total_return_mean": _mean([w.study.best.metrics for w in windows]),
    }
    return curve, overall


def _mean(rows: Sequence[dict[str, Any] | None]) -> float | None:
    values = [float(r["total_return"]) for r in rows if r and r.get("total_return") is not None]
    return round(sum(values) / len(values), 12) if values else None

