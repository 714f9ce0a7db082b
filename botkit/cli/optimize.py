"""``botkit optimize``: optuna studies of a strategy's typed parameters, optionally walk-forward."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from botkit.backtest.report import RANKABLE
from botkit.cli.backtest import _command_line, _decimal, check_report_dir, parse_initial, parse_param, parse_value
from botkit.cli.options import config_option, fail_cleanly, load_config
from botkit.core.errors import ConfigError


@click.command()
@click.option("--data", "data", required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Snapshot file (.jsonl, .jsonl.gz or the fast store .bks).")
@click.option("--strategy", required=True, help="The strategy whose typed parameters (botkit.param) are searched.")
@click.option("--trials", default=50, show_default=True, type=click.IntRange(min=1),
              help="Trials to add to the study (to each window's study with --walk-forward).")
@click.option("--objective", default="total_return", show_default=True, metavar="METRIC[,METRIC]",
              help=f"Metric(s) to optimise: one uses TPE, several NSGA-II. One of {', '.join(RANKABLE)}.")
@click.option("--param", "params", multiple=True, metavar="NAME.KEY=VALUE",
              help="Fix a parameter instead of searching it (repeatable).")
@click.option("--storage", metavar="URL", help="Keep the study here so a rerun adds trials to it: "
                                               "sqlite:///studies.db or postgresql://user@host/db.")
@click.option("--study", "study", metavar="NAME", help="The study's name in --storage (default: STRATEGY-DATAFILE).")
@click.option("--workers", default=0, type=click.IntRange(min=0),
              help="Trials run side by side (0: one per CPU; with --executor dask: the LocalCluster's workers).")
@click.option("--executor", default="local", show_default=True, type=click.Choice(["local", "dask"]),
              help="Where trials run: a local process pool, or a Dask cluster (pip install \"botkit[dask]\").")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="With --executor dask: the cluster's scheduler.")
@click.option("--walk-forward", "walk_forward", metavar="train=D,test=D[,step=D][,anchored]",
              help="Optimise on each training window and test its best parameters on the window after it; "
                   "durations like 30m, 6h, 2d.")
@click.option("--monte-carlo-runs", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Resamplings of the out-of-sample trades (walk-forward only).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the sampler and of the Monte Carlo.")
@click.option("--report", "report_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Write optimize.json and the plots here (a new or empty directory).")
@click.option("--force", is_flag=True, help="Write into a --report directory that already holds files.")
@config_option
@click.option("--strategy-path", "strategy_paths", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="Another folder of strategy files (repeatable).")
@click.option("--initial", metavar="USD=N,BTC=N", help="Starting balances (default: the config's [backtest]).")
@click.option("--maker-fee-bps", help="Fee of resting fills, bps (default: the config's [paper]).")
@click.option("--taker-fee-bps", help="Fee of crossing fills, bps (default: the config's [paper]).")
@click.option("--latency-ms", type=click.IntRange(min=0), help="Order latency (default: [backtest] latency_ms).")
@click.option("--bar-seconds", type=click.IntRange(min=1), help="Bar length behind Sharpe (default: [backtest]).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@fail_cleanly
def optimize(data: Path, strategy: str, trials: int, objective: str, params: tuple[str, ...], storage: str | None,
             study: str | None, workers: int, executor: str, scheduler: str | None, walk_forward: str | None,
             monte_carlo_runs: int, seed: int, report_dir: Path | None, force: bool, config_path: Path | None,
             strategy_paths: tuple[Path, ...], initial: str | None, maker_fee_bps: str | None,
             taker_fee_bps: str | None, latency_ms: int | None, bar_seconds: int | None,
             progress: bool | None) -> None:
    """Search a strategy's typed parameters with optuna, each trial a real backtest.

    TPE (seeded) for one objective, NSGA-II for several. With --walk-forward, each training
    window's best parameters are run on the test window after it, and the out-of-sample trades
    get a seeded Monte Carlo. See docs/research.md.
    """
    from botkit.backtest.optimizer.api import default_study, prepare
    from botkit.backtest.optimizer.result import summary, write_report
    from botkit.backtest.optimizer.run import run_optimize
    from botkit.backtest.optimizer.windows import WalkForward
    from botkit.backtest.settings import BacktestSettings
    from botkit.backtest.sweep import make_executor
    from botkit.core import logs

    plan = WalkForward.parse(walk_forward) if walk_forward is not None else None
    if report_dir is not None:
        check_report_dir(report_dir, force=force)
    cfg = load_config(config_path)
    logs.configure("text", "WARNING", cfg.secrets)
    # Refusals are counted in the metrics and a failing trial is recorded with its reason: a line each would flood.
    logging.getLogger("botkit.engine").setLevel(logging.CRITICAL)
    fixed: dict[str, Any] = {}
    for spec in params:
        name, key, value = parse_param(spec, "--param")
        if name != strategy:
            raise ConfigError("--param", f"{spec!r} is not a parameter of --strategy {strategy}",
                              f"write {strategy}.{key}={value}")
        fixed[key] = parse_value(value)
    settings = {**BacktestSettings.options(
        cfg, initial=None if initial is None else parse_initial(initial),
        maker_fee_bps=None if maker_fee_bps is None else _decimal(maker_fee_bps, "--maker-fee-bps"),
        taker_fee_bps=None if taker_fee_bps is None else _decimal(taker_fee_bps, "--taker-fee-bps"),
        latency_ms=latency_ms, bar_seconds=bar_seconds, data=data), "strategy_paths": strategy_paths}
    optimiser = prepare(cfg, config_path, data, strategy, objectives=objective, fixed=fixed, settings=settings,
                        seed=seed, storage=storage, command=_command_line(click.get_current_context()))
    pool = make_executor(executor, workers=workers, scheduler=scheduler)
    outcome = run_optimize(optimiser, pool, trials=trials, study=study or default_study(strategy, data),
                           walk_forward=plan, monte_carlo_runs=monte_carlo_runs, progress=progress,
                           announce=lambda line: click.echo(line, err=True))
    click.echo(summary(outcome))
    best = outcome.studies[-1].best
    click.echo("best: " + " ".join(f"{strategy}.{k}={v}" for k, v in best.params.items()), err=True)
    if report_dir is not None:
        write_report(outcome, report_dir)
        click.echo(f"optimize report written to {report_dir}/", err=True)
