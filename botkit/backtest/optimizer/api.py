"""``botkit.backtest.optimize(...)``: the optimiser from Python (a notebook), and the one place that
turns the command's inputs into an :class:`~botkit.backtest.optimizer.study.Optimiser`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from botkit.backtest.optimizer.result import OptimizeResult, write_report
from botkit.backtest.optimizer.robustness import DEFAULT_RUNS
from botkit.backtest.optimizer.run import RunOutcome, run_optimize
from botkit.backtest.optimizer.space import SearchSpace
from botkit.backtest.optimizer.study import Optimiser, import_optuna, parse_objectives
from botkit.backtest.optimizer.windows import WalkForward
from botkit.backtest.settings import BacktestSettings
from botkit.backtest.sweep import SweepExecutor, make_executor
from botkit.config import DEFAULT_CONFIG_NAME, Config


def default_study(strategy: str, data: Path) -> str:
    """A study's name when none is given: the strategy and the data file's name."""
    return f"{strategy}-{data.name}"


def prepare(config: Config, config_path: Path | None, data: Path, strategy: str, *, objectives: str,
            fixed: Mapping[str, Any], settings: Mapping[str, Any], seed: int, storage: str | None,
            command: Sequence[str] = ()) -> Optimiser:
    """The optimiser of one run: the search space (refusing a parameter without a range), the
    backtest's settings with absolute paths (a worker's directory is not ours), the objectives."""
    from botkit.strategy.plugins import discover

    import_optuna()  # before any work: without the extra, say how to install it
    strategy_paths = tuple(Path(p).resolve() for p in settings.get("strategy_paths", ()))
    space = SearchSpace.of(discover([*config.strategy_paths, *strategy_paths]), strategy, fixed)
    if config_path is None and Path(DEFAULT_CONFIG_NAME).is_file():
        config_path = Path(DEFAULT_CONFIG_NAME)
    absolute = {**settings, "data": data.resolve(), "strategy_paths": strategy_paths, "strategies": (strategy,)}
    return Optimiser(config_path.resolve() if config_path is not None else None, absolute, space,
                     parse_objectives(objectives), seed, storage, tuple(command))


def optimize(data: str | os.PathLike[str], strategy: str, *, trials: int = 50, objective: str = "total_return",
             params: Mapping[str, Any] | None = None, walk_forward: str | None = None, storage: str | None = None,
             study: str | None = None, workers: int = 1, executor: str = "local", scheduler: str | None = None,
             seed: int = 0, monte_carlo_runs: int = DEFAULT_RUNS, config: str | os.PathLike[str] | None = None,
             strategy_paths: Sequence[str | os.PathLike[str]] = (), report: str | os.PathLike[str] | None = None,
             progress: bool = False, **backtest: Any) -> OptimizeResult:
    """Optimise ``strategy``'s typed parameters on ``data``, as ``botkit optimize`` does.

    ``params`` fixes parameters (not searched); ``walk_forward`` is ``"train=6h,test=2h"`` and the
    like; ``backtest`` takes :meth:`BacktestSettings.options`'s keywords (``initial``, fees,
    ``latency_ms``, ``bar_seconds``). The answer has ``trials``, ``windows`` and ``equity`` as
    pandas DataFrames, ``best_params`` exact, and ``plot()``.
    """
    from botkit import config as config_mod

    path = Path(config) if config is not None else None
    cfg = config_mod.load(path) if path is not None else config_mod.parse({})
    data_path = Path(data)
    settings = {**BacktestSettings.options(cfg, data=data_path, **backtest),
                "strategy_paths": tuple(Path(p) for p in strategy_paths)}
    optimiser = prepare(cfg, path, data_path, strategy, objectives=objective, fixed=params or {},
                        settings=settings, seed=seed, storage=storage)
    pool: SweepExecutor = make_executor(executor, workers=workers, scheduler=scheduler)
    plan = WalkForward.parse(walk_forward) if walk_forward is not None else None
    outcome = run_optimize(optimiser, pool, trials=trials, study=study or default_study(strategy, data_path),
                           walk_forward=plan, monte_carlo_runs=monte_carlo_runs, progress=progress)
    if report is not None:
        write_report(outcome, Path(report))
    return OptimizeResult(outcome)


__all__ = ["OptimizeResult", "RunOutcome", "optimize", "prepare"]
