"""What ``botkit optimize`` leaves behind: ``optimize.json``, the plots, the terminal table, and
for notebooks :class:`OptimizeResult` (pandas DataFrames and ``.plot()``).

The plots are optuna's matplotlib ones (optimisation history, parameter importances by PED-ANOVA,
deterministic and without scikit-learn, a contour of the first two parameters), and with a
walk-forward the stitched out-of-sample equity. Parameter axes show grid indexes (what the sampler
chose; ``optimize.json`` maps them to values, and the contour's ticks are labelled with them).
Each is saved with fixed PNG metadata under a fixed name.
"""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import Any

from botkit.backtest.optimizer.run import RunOutcome
from botkit.backtest.optimizer.study import StudyResult
from botkit.backtest.report import cell

log = logging.getLogger("botkit.backtest")

TABLE_METRICS = ("total_return", "strategy_pnl", "max_drawdown", "sharpe", "fills")


def _grid(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(header, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def study_table(study: StudyResult, top: int = 10) -> str:
    """The best ``top`` trials of a study, best first (failed trials last)."""
    names = list(study.best.params)
    metrics = list(dict.fromkeys([*study.objectives, *TABLE_METRICS]))
    done = [t for t in study.trials if t.values is not None]
    order = {n: i for i, n in enumerate(study.pareto)}
    done.sort(key=lambda t: (t.number not in order, _rank(t.values, study), t.number))
    rows = [[str(t.number), *(t.params.get(n, "") for n in names),
             *(cell(m, (t.metrics or {}).get(m)) for m in metrics)] for t in done[:top]]
    failures = [t for t in study.trials if t.values is None]
    text = _grid(["trial", *names, *metrics], rows)
    if failures:
        first = failures[0]
        text += (f"\n({len(failures)} failed trial(s), e.g. trial {first.number}: {first.error or 'no reason given'};"
                 " all in optimize.json)")
    if done and not any((t.metrics or {}).get("fills") for t in done):
        text += ("\nwarning: no trial made a single fill: the data may be too short for this strategy or its"
                 " parameters, and 'best' means nothing yet")
    return text


def _rank(values: Any, study: StudyResult) -> float:
    from botkit.backtest.report import LOWER_IS_BETTER

    return float(values[0]) if study.objectives[0] in LOWER_IS_BETTER else -float(values[0])


def windows_table(outcome: RunOutcome) -> str:
    """One row a walk-forward window: its chosen parameters, in-sample vs out-of-sample return."""
    from botkit.core.times import iso_ms

    assert outcome.windows is not None
    names = list(outcome.windows[0].study.best.params)
    rows = []
    for w in outcome.windows:
        ins = w.study.best.metrics or {}
        rows.append([str(w.window.index), iso_ms(w.window.test_start), *(w.study.best.params[n] for n in names),
                     cell("total_return", ins.get("total_return")), cell("total_return", w.test.metrics.total_return),
                     cell("max_drawdown", w.test.metrics.max_drawdown), str(w.test.metrics.fills)])
    return _grid(["window", "test from", *names, "in-sample return", "out-of-sample return", "oos drawdown",
                  "oos fills"], rows)


def robustness_lines(robustness: dict[str, Any]) -> list[str]:
    lines = []
    for key, label in (("fills", "bootstrap of fills"), ("bar_returns", "block bootstrap of bar returns")):
        found = robustness.get(key)
        if not found:
            lines.append(f"{label}: no samples")
            continue
        eq, dd = found["final_equity"], found["max_drawdown"]
        lines.append(f"{label} ({found['samples']} samples, {robustness['runs']} runs): final equity "
                     f"p5 {eq['p5']:.2f} / p50 {eq['p50']:.2f} / p95 {eq['p95']:.2f}; max drawdown "
                     f"p50 {dd['p50']:.4f} / p95 {dd['p95']:.4f}")
    return lines


def summary(outcome: RunOutcome) -> str:
    """The terminal's view: the best trials, and with a walk-forward each window and the overall
    out-of-sample figures with their Monte Carlo percentiles."""
    if outcome.windows is None:
        return study_table(outcome.studies[0])
    oos = outcome.out_of_sample or {}
    shown = {key: cell(metric, oos.get(key)) for key, metric in (
        ("total_return", "total_return"), ("max_drawdown", "max_drawdown"), ("strategy_pnl", "strategy_pnl"),
        ("in_sample_total_return_mean", "total_return"))}
    lines = [windows_table(outcome), "",
             f"out of sample over {oos.get('windows')} window(s): return {shown['total_return']}, "
             f"max drawdown {shown['max_drawdown']}, strategy PnL {shown['strategy_pnl']} USD, "
             f"fills {oos.get('fills')} (in-sample mean return {shown['in_sample_total_return_mean']})"]
    if outcome.robustness is not None:
        lines += robustness_lines(outcome.robustness)
    return "\n".join(lines)


def _save(figure: Any, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata={"Software": None})


def study_plots(study: StudyResult, directory: Path, seed: int, prefix: str = "") -> list[Path]:
    """``history.png``, ``importances.png`` (two or more parameters) and ``contour.png`` (of the
    first two parameters), drawn by optuna.visualization.matplotlib on the first objective."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna
    from optuna.visualization import matplotlib as oplt

    names = list(study.best.params)
    target: dict[str, Any] = {}
    if len(study.objectives) > 1:
        target = {"target": lambda t: t.values[0], "target_name": study.objectives[0]}
    made = []
    plots: list[tuple[str, Any]] = [("history", lambda: oplt.plot_optimization_history(study.study, **target))]
    if len(names) >= 2:
        evaluator = optuna.importance.PedAnovaImportanceEvaluator()
        plots.append(("importances", lambda: oplt.plot_param_importances(study.study, evaluator=evaluator, **target)))
        plots.append(("contour", lambda: oplt.plot_contour(study.study, params=names[:2], **target)))
    for name, draw in plots:
        path = directory / f"{prefix}{name}.png"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # optuna marks its matplotlib plots experimental
            try:
                axes = draw()
            except (ValueError, RuntimeError, ZeroDivisionError) as exc:
                log.warning("%s not drawn: %s", path.name, exc)
                continue
        figure = getattr(axes, "figure", None) or axes.flat[0].figure
        if name == "contour":
            _value_ticks(axes, study.grids, names[:2])
        try:
            _save(figure, path)
        finally:
            plt.close(figure)
        made.append(path)
    return made


def _value_ticks(axis: Any, grids: dict[str, list[str]], names: list[str]) -> None:
    """Label a contour's index axes with the grid values they stand for (at most ~8 ticks)."""
    for grid, set_ticks in ((grids[names[0]], axis.set_xticks), (grids[names[1]], axis.set_yticks)):
        every = max(1, len(grid) // 8)
        positions = list(range(0, len(grid), every))
        set_ticks(positions, [grid[i] for i in positions])


def walk_forward_figure(outcome: RunOutcome) -> Any:
    """The stitched out-of-sample equity, each test window shaded: a matplotlib Figure."""
    from datetime import UTC, datetime

    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 4))
    axis: Any = axes  # matplotlib's stubs take floats for the time axis; it plots datetimes as such
    curve = outcome.equity or []
    axis.plot([datetime.fromtimestamp(ts / 1000, tz=UTC) for ts, _ in curve], [e for _, e in curve],
              color="tab:blue", linewidth=1, label="out-of-sample equity (stitched)")
    for w in outcome.windows or []:
        axis.axvspan(datetime.fromtimestamp(w.window.test_start / 1000, tz=UTC),
                     datetime.fromtimestamp(w.window.test_end / 1000, tz=UTC),
                     color="tab:orange" if w.window.index % 2 else "tab:green", alpha=0.08, linewidth=0)
    axis.set_title(f"walk-forward of {outcome.optimiser.space.strategy}: out-of-sample equity, one shade a test window")
    axis.set_ylabel("equity (USD)")
    axis.ticklabel_format(axis="y", useOffset=False, style="plain")
    axis.grid(True, alpha=0.3)
    axis.legend(loc="best", fontsize="small")
    figure.autofmt_xdate()
    return figure


def write_report(outcome: RunOutcome, directory: Path) -> None:
    """``optimize.json`` and the plots (fixed names: the same run gives the same files)."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "optimize.json").write_text(json.dumps(outcome.document(), indent=2) + "\n", encoding="utf-8")
    if outcome.windows is None:
        study_plots(outcome.studies[0], directory, outcome.optimiser.seed)
        return
    figure = walk_forward_figure(outcome)
    try:
        _save(figure, directory / "walk_forward.png")
    finally:
        plt.close(figure)
    study_plots(outcome.studies[-1], directory, outcome.optimiser.seed, prefix="last-window-")


class OptimizeResult:
    """``botkit.optimize(...)``'s answer for notebooks: the run, with tables as DataFrames."""

    def __init__(self, outcome: RunOutcome) -> None:
        self.outcome = outcome
        self.document = outcome.document()

    @property
    def best_params(self) -> dict[str, Any]:
        """The best trial's parameter values, exact (of the last window with a walk-forward)."""
        return dict(self.outcome.studies[-1].best_values)

    @property
    def trials(self) -> Any:
        """Every trial (of every window): ``window``, ``number``, ``state``, each parameter, each metric."""
        import pandas as pd

        rows = []
        for index, study in enumerate(self.outcome.studies):
            for trial in study.trials:
                row: dict[str, Any] = {"window": index if self.outcome.windows else None,
                                       "number": trial.number, "state": "complete" if trial.values else "failed"}
                row.update(trial.params)
                row.update(trial.metrics or {})
                rows.append(row)
        return pd.DataFrame.from_records(rows)

    @property
    def windows(self) -> Any:
        """One row a walk-forward window: spans, chosen parameters, in- and out-of-sample return."""
        import pandas as pd

        rows = []
        for w in self.outcome.windows or []:
            rows.append({"window": w.window.index, "train_start": pd.to_datetime(w.window.train_start, unit="ms"),
                         "train_end": pd.to_datetime(w.window.train_end, unit="ms"),
                         "test_start": pd.to_datetime(w.window.test_start, unit="ms"),
                         "test_end": pd.to_datetime(w.window.test_end, unit="ms"), **w.study.best.params,
                         "in_sample_return": (w.study.best.metrics or {}).get("total_return"),
                         "out_of_sample_return": w.test.metrics.total_return,
                         "out_of_sample_drawdown": w.test.metrics.max_drawdown})
        return pd.DataFrame.from_records(rows)

    @property
    def equity(self) -> Any:
        """The stitched out-of-sample equity (walk-forward only), indexed by time."""
        import pandas as pd

        curve = self.outcome.equity or []
        return pd.DataFrame({"equity": [e for _, e in curve]},
                            index=pd.to_datetime([ts for ts, _ in curve], unit="ms", utc=True))

    def plot(self) -> Any:
        """A matplotlib Figure: the stitched out-of-sample equity, or the optimisation history."""
        if self.outcome.windows is not None:
            return walk_forward_figure(self.outcome)
        from optuna.visualization import matplotlib as oplt

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study = self.outcome.studies[0]
            target: dict[str, Any] = {}
            if len(study.objectives) > 1:
                target = {"target": lambda t: t.values[0], "target_name": study.objectives[0]}
            return oplt.plot_optimization_history(study.study, **target).figure

    def __repr__(self) -> str:
        return summary(self.outcome)
