"""A backtest restricted to a span of its file (``BacktestSettings.from_ts``/``to_ts``)."""

from __future__ import annotations

import json
from pathlib import Path

from botkit.backtest.runner import run_backtest
from botkit.backtest.settings import BacktestSettings
from botkit.config import parse
from botkit.data.generate import START_TS
from tests.backtest.commands import invoke


def test_a_span_replays_exactly_the_snapshots_in_it_and_is_recorded(market: Path) -> None:
    settings = BacktestSettings(data=market, strategies=("market_maker",), from_ts=START_TS + 60_000,
                                to_ts=START_TS + 180_000)
    result = run_backtest(parse({}), settings)
    assert result.metrics.snapshots == 120  # one a second, the end excluded
    assert result.metrics.start_ts == START_TS + 60_000
    assert result.metrics.end_ts == START_TS + 179_000
    assert result.run["data"]["from_ts"] == START_TS + 60_000
    assert result.run["data"]["to_ts"] == START_TS + 180_000


def test_backtest_from_and_to_replay_the_span_and_a_rerun_from_the_report_keeps_it(tmp_path: Path,
                                                                                   market: Path) -> None:
    report, again = tmp_path / "report", tmp_path / "again"
    code, _, err = invoke("backtest", "--data", str(market), "--strategy", "market_maker", "--no-progress",
                          "--from", "2023-11-14T22:14:20Z", "--to", str(START_TS + 180_000), "--report", str(report))
    assert code == 0, err
    document = json.loads((report / "report.json").read_text(encoding="utf-8"))
    assert document["run"]["data"]["from_ts"] == START_TS + 60_000
    assert document["result"]["snapshots"] == 120
    code, _, err = invoke("backtest", "--from-report", str(report / "report.json"), "--report", str(again))
    assert code == 0, err
    rerun = json.loads((again / "report.json").read_text(encoding="utf-8"))
    assert rerun["result"] == document["result"]


def test_a_time_that_is_not_one_is_refused(market: Path) -> None:
    code, _, err = invoke("backtest", "--data", str(market), "--from", "yesterday")
    assert code == 2
    assert "--from: 'yesterday' is not a time" in err
