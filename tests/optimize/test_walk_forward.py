"""Walk-forward: windows, out-of-sample runs that never see their training data, the Monte Carlo."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit.backtest.optimizer.robustness import monte_carlo
from botkit.backtest.optimizer.windows import WalkForward
from botkit.core.errors import ConfigError
from tests.backtest.commands import invoke
from tests.optimize.conftest import optimize_args

MINUTE = 60_000


def runs_seen(log: Path) -> list[list[int]]:
    """The ts each run saw, one list a run, in the order the runs started."""
    runs: dict[str, list[int]] = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        token, ts = line.split()
        runs.setdefault(token, []).append(int(ts))
    return list(runs.values())


def test_no_test_window_sees_data_its_parameters_were_chosen_on(tmp_path: Path, market: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "seen.log"
    monkeypatch.setenv("BOTKIT_TEST_SEEN_LOG", str(log))
    report = tmp_path / "report"
    code, out, err = invoke(*optimize_args(market, "--walk-forward", "train=8m,test=4m", "--report", str(report),
                                           trials=3))
    assert code == 0, err
    document: dict[str, Any] = json.loads((report / "optimize.json").read_text(encoding="utf-8"))
    windows = document["windows"]
    # 1200 snapshots a second apart (20 min less 1 s): tests 8-12 and 12-16 min; 16-20 would pass the last one
    assert len(windows) == 2
    runs = runs_seen(log)
    assert len(runs) == len(windows) * (3 + 1)  # per window: its trials (one process), then its test run
    for k, window in enumerate(windows):
        train, test = window["train"], window["test"]
        assert train["end"] <= test["start"]
        assert test["end"] - test["start"] == 4 * MINUTE
        trials, oos = runs[4 * k: 4 * k + 3], runs[4 * k + 3]
        for seen in trials:  # every run that chose this window's parameters trained on its span only
            assert train["start"] <= min(seen) and max(seen) < train["end"]
        assert test["start"] <= min(oos) and max(oos) < test["end"]
        assert max(max(seen) for seen in trials) < min(oos)
        assert set(window) >= {"params", "in_sample", "out_of_sample", "trials"}
        assert window["out_of_sample"]["start_ts"] >= test["start"]
    overall = document["out_of_sample"]
    assert overall["windows"] == 2
    assert overall["start"] == windows[0]["test"]["start"] and overall["end"] == windows[-1]["test"]["end"]
    assert overall["fills"] == sum(w["out_of_sample"]["fills"] for w in windows)
    assert Decimal(overall["strategy_pnl"]) == sum(Decimal(w["out_of_sample"]["strategy_pnl"]) for w in windows)
    robustness = document["robustness"]
    assert robustness["seed"] == 0
    for key in ("fills", "bar_returns"):
        assert set(robustness[key]["final_equity"]) == {"p5", "p25", "p50", "p75", "p95"}
    assert (report / "walk_forward.png").is_file()
    assert "out of sample over 2 window(s)" in out
    assert "bootstrap of fills" in out


def test_anchored_windows_keep_the_training_start() -> None:
    plan = WalkForward.parse("train=10m,test=5m,anchored")
    windows = plan.windows(0, 30 * MINUTE - 1)
    assert [w.train for w in windows] == [(0, 10 * MINUTE), (0, 15 * MINUTE), (0, 20 * MINUTE), (0, 25 * MINUTE)]
    assert [w.test for w in windows][-1] == (25 * MINUTE, 30 * MINUTE)
    rolling = WalkForward.parse("train=10m,test=5m,step=10m").windows(0, 30 * MINUTE - 1)
    assert [w.train for w in rolling] == [(0, 10 * MINUTE), (10 * MINUTE, 20 * MINUTE)]


@pytest.mark.parametrize(("spec", "message"), [
    ("train=6h", "gives no test=DURATION"),
    ("train=6x,test=1h", "is not a duration"),
    ("train=6h,test=1h,size=2", "is not train=, test=, step= or anchored"),
    ("train=0h,test=1h", "is not a duration"),
])
def test_bad_walk_forward_specs_are_refused(spec: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        WalkForward.parse(spec)


def test_windows_longer_than_the_data_are_one_line_and_exit_2(market: Path) -> None:
    code, _, err = invoke(*optimize_args(market, "--walk-forward", "train=1h,test=30m"))
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "train 1h + test 30m is longer than the data (0.33 h)" in err


def test_the_monte_carlo_is_seeded_and_brackets_the_observed_path() -> None:
    fills = [Decimal("1.5"), Decimal("-0.5"), Decimal("2"), Decimal("-1")]
    bars = [0.001, -0.002, 0.0005, 0.003, -0.001, 0.0]
    first = monte_carlo(fills, bars, Decimal(1000), seed=3, runs=200)
    assert first == monte_carlo(fills, bars, Decimal(1000), seed=3, runs=200)
    assert first != monte_carlo(fills, bars, Decimal(1000), seed=4, runs=200)
    # every resampling of the fills adds up to the same total only when the fills are all alike
    assert first["fills"]["final_equity"]["p5"] <= 1002 <= first["fills"]["final_equity"]["p95"]
    assert first["bar_returns"]["block"] == 2
    assert monte_carlo([], [], Decimal(1000), seed=1)["fills"] is None
