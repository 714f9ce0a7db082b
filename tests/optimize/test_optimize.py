"""``botkit optimize``: studies over real backtests, exact grid values, stored studies that resume."""

from __future__ import annotations

import json
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import botkit.backtest
from botkit.backtest.optimizer.space import SearchSpace
from botkit.backtest.optimizer.study import parse_objectives
from botkit.core.errors import ConfigError
from botkit.core.output import money
from botkit.strategy.plugins import discover
from tests.backtest.commands import invoke
from tests.optimize.conftest import STRATEGIES, optimize_args

GRIDS = {"lookback": ["1", "2", "3", "4", "5", "6"], "threshold": ["0.00", "0.05", "0.10", "0.15", "0.20"],
         "size": ["0.01", "0.02"]}


def read(report: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((report / "optimize.json").read_text(encoding="utf-8"))
    return document


def test_a_study_writes_every_trial_the_best_params_and_the_plots(tmp_path: Path, market: Path) -> None:
    report = tmp_path / "report"
    code, out, err = invoke(*optimize_args(market, "--report", str(report)))
    assert code == 0, err
    document = read(report)
    assert document["space"] == GRIDS
    assert len(document["trials"]) == 4
    for trial in document["trials"]:
        # the strategy asserts its values' types at start: a float would fail the trial
        assert trial["state"] == "complete", trial
        assert all(trial["params"][key] in GRIDS[key] for key in GRIDS)
        assert trial["metrics"]["snapshots"] == 1200
    best = document["best"]
    assert best["params"] == document["trials"][best["trial"]]["params"]
    assert best["values"] == [max(t["values"][0] for t in document["trials"])]
    assert sorted(p.name for p in report.iterdir()) == ["contour.png", "history.png", "importances.png",
                                                        "optimize.json"]
    assert "trial" in out and "lookback" in out
    assert "best: tuned." in err
    header, *lines = out.strip().splitlines()
    shown = {int(row["trial"]): row for row in (dict(zip(header.split(), line.split(), strict=True)) for line in lines)}
    for number, row in shown.items():  # as the backtest table shows them; optimize.json keeps them exact
        metrics = document["trials"][number]["metrics"]
        assert row["strategy_pnl"] == money(Decimal(metrics["strategy_pnl"]), "USD")
        assert row["total_return"] == f"{metrics['total_return'] * 100:.2f}%"
        assert row["max_drawdown"] == f"{metrics['max_drawdown'] * 100:.2f}%"


def test_the_same_seed_gives_the_same_study(tmp_path: Path, market: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert invoke(*optimize_args(market, "--report", str(first), "--seed", "7"))[0] == 0
    assert invoke(*optimize_args(market, "--report", str(second), "--seed", "7"))[0] == 0
    assert (first / "optimize.json").read_bytes() == (second / "optimize.json").read_bytes()


def test_values_are_built_exactly_on_the_grid_from_the_suggested_index() -> None:
    space = SearchSpace.of(discover([STRATEGIES]), "tuned", {})

    class Indexes:
        def suggest_int(self, name: str, low: int, high: int) -> int:
            assert low == 0
            return high if name == "threshold" else 1

    values = space.suggest(Indexes())
    assert values == {"lookback": 2, "threshold": Decimal("0.20"), "size": Decimal("0.02")}
    assert [type(v) for v in values.values()] == [int, Decimal, Decimal]
    assert str(values["threshold"]) == "0.20"


def test_a_parameter_without_a_range_is_refused_naming_it(tmp_path: Path, market: Path) -> None:
    (tmp_path / "plain.py").write_text(textwrap.dedent("""
        from decimal import Decimal
        from botkit import hookimpl, param
        PARAMS = {"window": param(5, low=2, high=9, step=1), "size": Decimal("0.01")}
        @hookimpl
        def botkit_on_snapshot(snapshot, ctx):
            return None
    """), encoding="utf-8")
    args = ["optimize", "--data", str(market), "--strategy", "plain", "--strategy-path", str(tmp_path)]
    code, _, err = invoke(*args)
    assert code == 2
    assert "plain.size has no range to search" in err
    assert len(err.strip().splitlines()) == 1
    # fixing it with --param leaves the ranged one to search
    code, _, err = invoke(*args, "--param", "plain.size=0.02", "--trials", "2", "--workers", "1")
    assert code == 0, err


def test_unknown_objectives_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown metric 'profit'"):
        parse_objectives("profit")
    with pytest.raises(ConfigError, match="names a metric twice"):
        parse_objectives("sharpe,sharpe")


def test_several_objectives_use_nsga2_and_report_the_pareto_front(tmp_path: Path, market: Path) -> None:
    report = tmp_path / "report"
    code, _, err = invoke(*optimize_args(market, "--objective", "total_return,max_drawdown", "--report",
                                         str(report)))
    assert code == 0, err
    document = read(report)
    assert document["objectives"] == ["total_return", "max_drawdown"]
    assert document["best"]["trial"] in document["pareto"]
    assert all(len(t["values"]) == 2 for t in document["trials"] if t["state"] == "complete")


def test_a_sqlite_study_resumes_adding_trials(tmp_path: Path, market: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    first, second = tmp_path / "first", tmp_path / "second"
    assert invoke(*optimize_args(market, "--storage", storage, "--report", str(first), trials=3))[0] == 0
    code, _, err = invoke(*optimize_args(market, "--storage", storage, "--report", str(second), trials=2))
    assert code == 0, err
    assert "resuming 3 stored trial(s)" in err
    trials = read(second)["trials"]
    assert [t["number"] for t in trials] == [0, 1, 2, 3, 4]
    assert trials[:3] == read(first)["trials"]
    # the resumed sampler is seeded past the stored trials: it does not redraw the first run's points
    assert [t["params"] for t in trials[3:]] != [t["params"] for t in trials[:2]]


def test_a_stored_study_of_another_objective_is_refused(tmp_path: Path, market: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'studies.db'}"
    assert invoke(*optimize_args(market, "--storage", storage, trials=1))[0] == 0
    code, _, err = invoke(*optimize_args(market, "--storage", storage, "--objective", "sharpe", trials=1))
    assert code == 2
    assert "was made with another" in err and "--study" in err


@pytest.mark.postgres
def test_a_postgresql_study_resumes(tmp_path: Path, market: Path, fresh_postgres: str) -> None:
    # A schema of its own (fresh_postgres skips, with the reason, when BOTKIT_TEST_POSTGRES_URL is
    # unset): optuna's storage keeps its own alembic_version table, which the journal's would meet.
    storage = fresh_postgres
    study = f"pg-{tmp_path.name}"
    assert invoke(*optimize_args(market, "--storage", storage, "--study", study, trials=2))[0] == 0
    report = tmp_path / "report"
    code, _, err = invoke(*optimize_args(market, "--storage", storage, "--study", study, "--report", str(report),
                                         trials=1))
    assert code == 0, err
    assert [t["number"] for t in read(report)["trials"]] == [0, 1, 2]


def test_a_trial_whose_strategy_refuses_its_parameters_fails_and_the_study_goes_on(market: Path) -> None:
    result = botkit.backtest.optimize(market, "sma_crossover", trials=6, seed=1,
                                      params={"size": Decimal("0.01"), "fast": 60 // 2})
    trials = result.document["trials"]
    assert len(trials) == 6
    for trial in trials:
        refused = int(trial["params"]["slow"]) <= 30  # sma_crossover raises at start unless fast < slow
        assert (trial["state"] == "failed") is refused, trial
        if refused:
            assert "the strategy raised" in trial["error"]
    assert {trial["state"] for trial in trials} == {"complete", "failed"}


def test_without_optuna_the_error_says_how_to_install_it(market: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)  # import optuna raises ImportError
    code, _, err = invoke(*optimize_args(market))
    assert code == 2
    assert 'optuna is not installed (pip install "botkit[optimize]")' in err


def test_a_param_of_another_strategy_is_refused(market: Path) -> None:
    code, _, err = invoke(*optimize_args(market, "--param", "grid.size=0.1"))
    assert code == 2
    assert "is not a parameter of --strategy tuned" in err


def test_the_table_says_why_a_trial_failed_and_when_no_trial_traded(market: Path) -> None:
    """20 minutes of data for 1-minute moving averages of 31 bars or more: no trial can trade,
    and those with slow <= fast fail; the output says both instead of naming a 'best'."""
    code, out, err = invoke("optimize", "--data", str(market), "--strategy", "sma_crossover", "--trials", "5",
                            "--workers", "1", "--seed", "1", "--param", "sma_crossover.fast=30",
                            "--param", "sma_crossover.size=0.01")
    assert code == 0, err
    assert "warning: no trial made a single fill" in out
    failed = out.split("failed trial(s), e.g. trial ", 1)[1]  # seed 1 draws slow=2 twice: fast=30 >= slow
    assert "sma_crossover.slow=2: the strategy raised" in failed
