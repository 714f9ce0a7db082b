"""One optuna study of a strategy's parameters: each trial is a real backtest, run where a sweep's
points run (:mod:`botkit.backtest.sweep`'s executors: a local process pool or a Dask cluster).

The loop is optuna's ask-and-tell: a batch of as many trials as the executor has workers is asked
of the sampler, run as sweep jobs (:func:`~botkit.backtest.sweep.run_point`, the sweep's own
worker function), and told back; TPE's ``constant_liar`` keeps the trials of one batch apart.
A study kept in an RDB storage (``sqlite:///x.db``, ``postgresql://...``) resumes: the trials
already there are read back (their values and metrics are kept as trial attributes), and the
sampler is seeded past them so a resumed study does not redraw the first run's points.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botkit.backtest.optimizer.space import SearchSpace, text
from botkit.backtest.report import LOWER_IS_BETTER, RANKABLE, metrics_dict
from botkit.backtest.sweep import PointResult, SweepExecutor, SweepJob, progress_bar, run_point
from botkit.core.errors import ConfigError, PluginError
from botkit.core.urlmask import mask_url

log = logging.getLogger("botkit.backtest")

OPTIMIZE_INSTALL = 'pip install "botkit[optimize]"'


def import_optuna() -> Any:
    """optuna (an optional extra), quiet below warnings: one line a trial would bury the table."""
    try:
        import optuna
    except ImportError:
        raise ConfigError("botkit optimize", "optuna is not installed", OPTIMIZE_INSTALL) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def parse_objectives(spec: str) -> tuple[str, ...]:
    """``--objective total_return[,max_drawdown]``: known metrics, each once."""
    metrics = tuple(m.strip() for m in spec.split(",") if m.strip())
    if not metrics:
        raise ConfigError("--objective", "no metric given", f"one or more of {', '.join(RANKABLE)}")
    for metric in metrics:
        if metric not in RANKABLE:
            raise ConfigError("--objective", f"unknown metric {metric!r}", f"one of {', '.join(RANKABLE)}")
    if len(set(metrics)) != len(metrics):
        raise ConfigError("--objective", f"{spec!r} names a metric twice", "name each metric once")
    return metrics


def directions(objectives: Sequence[str]) -> list[str]:
    """optuna's direction of each objective (drawdown and fees are minimised, the rest maximised)."""
    return ["minimize" if metric in LOWER_IS_BETTER else "maximize" for metric in objectives]


def storage_url(url: str) -> str:
    """A SQLAlchemy URL as botkit's journal takes it: ``postgresql://`` means psycopg 3 (the driver
    botkit installs), not SQLAlchemy's default psycopg2."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


@dataclass(frozen=True)
class TrialRecord:
    """One trial as reports show it: the parameter values (as text), the objective values and
    every metric of its backtest, or why it failed."""

    number: int
    params: dict[str, str]
    values: tuple[float, ...] | None
    metrics: dict[str, Any] | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "state": "complete" if self.values is not None else "failed",
                "params": self.params, "values": None if self.values is None else list(self.values),
                "metrics": self.metrics, **({"error": self.error} if self.error else {})}


@dataclass
class StudyResult:
    """A finished study: every trial (resumed ones too), the best and, with several objectives,
    the Pareto front."""

    name: str
    objectives: tuple[str, ...]
    trials: list[TrialRecord]
    best: TrialRecord
    pareto: list[int]
    """Trial numbers on the Pareto front (the best trial alone with one objective)."""
    best_values: dict[str, Any]
    """The best trial's parameter values, exact (Decimal, int, bool, str)."""
    grids: dict[str, list[str]]
    """Each searched parameter's grid as text (a plot's index axis labelled with values)."""
    study: Any = field(repr=False)
    """The optuna study (for its plots)."""


@dataclass(frozen=True)
class Optimiser:
    """What every study of one ``botkit optimize`` shares: the backtest, the space, the aim."""

    config_path: Path | None
    settings: Mapping[str, Any]
    """:class:`~botkit.backtest.settings.BacktestSettings` keywords (absolute paths), without params."""
    space: SearchSpace
    objectives: tuple[str, ...]
    seed: int = 0
    storage: str | None = None
    command: tuple[str, ...] = ()

    def job(self, values: Mapping[str, Any], span: tuple[int, int] | None = None) -> SweepJob:
        settings = dict(self.settings)
        if span is not None:
            settings["from_ts"], settings["to_ts"] = span
        label = " ".join(f"{self.space.strategy}.{k}={text(v)}" for k, v in values.items())
        return SweepJob(self.config_path, settings, self.space.params(values), label, self.command,
                        log_level=logging.CRITICAL)

    def _study(self, name: str, workers: int, optuna: Any) -> Any:
        storage = None
        if self.storage is not None:
            try:
                storage = optuna.storages.RDBStorage(storage_url(self.storage))
            except Exception as exc:  # optuna wraps SQLAlchemy's errors in several types
                raise ConfigError("--storage", f"cannot open study storage {mask_url(self.storage)}: "
                                  f"{type(exc).__name__}", "e.g. sqlite:///studies.db or "
                                  "postgresql://user@host/db") from None
        wanted = directions(self.objectives)
        # Seeded past the trials already stored: a resumed study draws new points, not the first run's.
        existing = 0
        if storage is not None and name in {s.study_name for s in optuna.get_all_study_summaries(storage)}:
            existing = len(optuna.load_study(study_name=name, storage=storage).trials)
        seed = self.seed + existing
        if len(wanted) == 1:
            sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=workers > 1)
        else:
            sampler = optuna.samplers.NSGAIISampler(seed=seed)
        study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, directions=wanted,
                                    load_if_exists=True)
        signature = {"strategy": self.space.strategy, "space": self.space.signature(),
                     "objectives": list(self.objectives)}
        for key, value in signature.items():
            stored = study.user_attrs.get(key)
            if stored is None:
                study.set_user_attr(key, value)
            elif stored != value:
                raise ConfigError("--study", f"study {name!r} in {mask_url(self.storage or '')} was made with "
                                  f"another {key} ({stored})", "give a new --study name to start afresh")
        return study

    def run(self, executor: SweepExecutor, name: str, trials: int, *, span: tuple[int, int] | None = None,
            progress: bool | None = None, announce: Callable[[str], None] | None = None) -> StudyResult:
        """Add ``trials`` trials to study ``name`` (created, or resumed from the storage) on
        ``executor``, which must be entered; each trial backtests ``span`` (the whole file: None)."""
        optuna = import_optuna()
        workers = max(1, executor.capacity())
        study = self._study(name, workers, optuna)
        if announce is not None:
            before = len(study.trials)
            resumed = f", resuming {before} stored trial(s)" if before else ""
            announce(f"optimize: {trials} trial(s) of study {name!r} over {self.space.size()} grid points on "
                     f"{executor.describe(workers)}{resumed}")
        bar = progress_bar(trials, progress, unit="trial")
        checked = False
        try:
            done = 0
            while done < trials:
                batch = [study.ask() for _ in range(min(workers, trials - done))]
                chosen = [self.space.suggest(trial) for trial in batch]
                jobs = [self.job(values, span) for values in chosen]
                if not checked:
                    executor.check(jobs[:1])
                    checked = True
                for index, outcome in executor.run(run_point, jobs):
                    self._tell(study, batch[index], chosen[index], outcome, jobs[index].label)
                    if bar is not None:
                        bar.update(1)
                done += len(batch)
        finally:
            if bar is not None:
                bar.close()
        return self.result(study)

    def _tell(self, study: Any, trial: Any, values: Mapping[str, Any], outcome: PointResult, label: str) -> None:
        from optuna.trial import TrialState

        trial.set_user_attr("params", {key: text(value) for key, value in values.items()})
        if outcome.metrics is None:
            # A strategy may refuse a combination (fast >= slow): that trial fails, the study goes
            # on; when every trial fails, result() says why with the first error.
            trial.set_user_attr("error", f"{label}: {outcome.error}")
            study.tell(trial, state=TrialState.FAIL)
            return
        metrics = metrics_dict(outcome.metrics)
        trial.set_user_attr("metrics", metrics)
        if outcome.strategy_failures:
            # e.g. sma_crossover refusing fast >= slow at start: its flat run would score as a real one
            trial.set_user_attr("error", f"{label}: the strategy raised {outcome.strategy_failures} time(s) "
                                         "(run this point with botkit backtest --param to see why)")
            study.tell(trial, state=TrialState.FAIL)
            return
        missing = [m for m in self.objectives if metrics.get(m) is None]
        if missing:
            trial.set_user_attr("error", f"{', '.join(missing)} undefined for this run (e.g. too few bars or no "
                                         "trade): the trial counts as failed")
            study.tell(trial, state=TrialState.FAIL)
            return
        study.tell(trial, [float(metrics[m]) for m in self.objectives])

    def result(self, study: Any) -> StudyResult:
        """The study's trials as records, its best trial and Pareto front."""
        from optuna.trial import TrialState

        records = []
        for trial in study.trials:
            if trial.state not in (TrialState.COMPLETE, TrialState.FAIL):
                continue  # a trial another process is still running, or one cut short
            values = tuple(trial.values) if trial.state is TrialState.COMPLETE else None
            records.append(TrialRecord(trial.number, dict(trial.user_attrs.get("params", {})), values,
                                       trial.user_attrs.get("metrics"), trial.user_attrs.get("error")))
        front = sorted(study.best_trials, key=lambda t: t.number)
        if not front:
            errors = sorted({r.error for r in records if r.error})
            raise PluginError(f"study {study.study_name!r}: no trial completed"
                              + (f" ({errors[0]})" if errors else ""))
        best = front[0] if len(self.objectives) == 1 else _first_objective_best(front, self.objectives[0])
        by_number = {record.number: record for record in records}
        return StudyResult(study.study_name, self.objectives, records, by_number[best.number],
                           [t.number for t in front], self.space.values_of(best.params),
                           self.space.signature(), study)


def _first_objective_best(front: Sequence[Any], metric: str) -> Any:
    """With several objectives the reported best is the Pareto trial best on the first one (ties:
    the earliest), so a walk-forward has one set of parameters to carry forward."""
    sign = 1.0 if metric in LOWER_IS_BETTER else -1.0
    return min(front, key=lambda t: (sign * t.values[0], t.number))
