"""Issue 10.3: a backtest measures the strategy, not the BTC it starts with.

The defaults (no BTC, the paper fees) are one table for backtests, sweeps and paper trading; the
buy-and-hold benchmark and the strategy's own PnL are shown apart; ratios from a short run are
not annualized, and the report says so.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit.backtest.performance import PerformanceRecorder
from botkit.backtest.plots import curves
from botkit.backtest.settings import BacktestSettings
from botkit.config import parse
from botkit.data import generate
from botkit.model import Fill, Liquidity, Side
from tests.backtest.commands import SHIPPED, invoke


@pytest.fixture
def market(tmp_path: Path) -> Path:
    return generate(tmp_path / "market.bks", 900, levels=5, seed=3)


def grid_run(market: Path, report: Path, *extra: str) -> tuple[str, dict[str, Any]]:
    code, out, err = invoke("backtest", "--data", str(market), "--strategy-path", str(SHIPPED), "--strategy", "grid",
                            "--param", "grid.step=2", "--report", str(report), *extra)
    assert code == 0, err
    return out, json.loads((report / "report.json").read_text())


def test_the_defaults_are_one_table_shared_with_paper_trading(tmp_path: Path) -> None:
    defaults = parse({})
    settings = BacktestSettings(data=tmp_path / "any.jsonl")
    assert settings.maker_fee_bps == defaults["paper"]["maker_fee_bps"] == Decimal(10)
    assert settings.taker_fee_bps == defaults["paper"]["taker_fee_bps"] == Decimal(20)
    assert settings.initial == {"USD": Decimal(10000), "BTC": Decimal(0)}
    assert BacktestSettings.options(defaults) == {
        "initial": dict(settings.initial), "maker_fee_bps": settings.maker_fee_bps,
        "taker_fee_bps": settings.taker_fee_bps, "latency_ms": settings.latency_ms, "bar_ms": settings.bar_ms}


def test_a_backtest_starts_with_no_btc_and_the_paper_fees(tmp_path: Path, market: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # The bug: --initial defaulted to USD=10000,BTC=1 and the fees to 0 bps (paper: 10/20).
    monkeypatch.chdir(tmp_path)
    _, report = grid_run(market, tmp_path / "r")
    assert report["run"]["initial"] == {"BTC": "0", "USD": "10000"}
    assert report["run"]["fees"] == {"maker_fee_bps": "10", "taker_fee_bps": "20"}
    result = report["result"]
    assert result["fills"] > 0
    assert Decimal(result["fees"]) > 0
    assert result["benchmark_end_equity"] == result["start_equity"] == "10000"  # USD alone does not move


def test_options_override_the_config_which_overrides_the_defaults(tmp_path: Path, market: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "botkit.toml").write_text(
        "[paper]\nmaker_fee_bps = 5\ntaker_fee_bps = 7.5\n"
        "[backtest]\ninitial_usd = 20000\ninitial_btc = 0.5\nlatency_ms = 250\nbar_seconds = 30\n")
    _, report = grid_run(market, tmp_path / "from-config")
    run = report["run"]
    assert run["initial"] == {"BTC": "0.5", "USD": "20000"}
    assert run["fees"] == {"maker_fee_bps": "5", "taker_fee_bps": "7.5"}
    assert run["fill_model"]["latency_ms"] == 250
    assert run["bar_ms"] == report["result"]["bar_ms"] == 30_000
    _, report = grid_run(market, tmp_path / "from-options", "--maker-fee-bps", "1", "--initial", "USD=500",
                         "--latency-ms", "0", "--bar-seconds", "60")
    run = report["run"]
    assert run["initial"] == {"USD": "500"}
    assert run["fees"] == {"maker_fee_bps": "1", "taker_fee_bps": "7.5"}  # the taker fee still the config's
    assert run["fill_model"]["latency_ms"] == 0
    assert run["bar_ms"] == 60_000


def test_a_sweep_uses_the_same_defaults_as_a_single_run(tmp_path: Path, market: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "botkit.toml").write_text("[paper]\nmaker_fee_bps = 3\n[backtest]\ninitial_btc = 0.25\n")
    code, _, err = invoke("backtest", "--data", str(market), "--strategy-path", str(SHIPPED), "--strategy", "grid",
                          "--sweep", "grid.step=2,4", "--workers", "1", "--report", str(tmp_path / "sweep"))
    assert code == 0, err
    assert "note: sharpe and sortino are per 60 s bar, not annualized" in err  # the sweep's sharpe column too
    runs = json.loads((tmp_path / "sweep" / "sweep.json").read_text())["runs"]
    assert len(runs) == 2
    for point in runs:
        assert point["run"]["fees"] == {"maker_fee_bps": "3", "taker_fee_bps": "20"}
        assert point["run"]["initial"] == {"BTC": "0.25", "USD": "10000"}
        assert "strategy_pnl" in point


def test_benchmark_and_strategy_pnl_in_the_table_and_report(tmp_path: Path, market: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out, report = grid_run(market, tmp_path / "r", "--initial", "USD=10000,BTC=1")
    assert "buy-and-hold end equity (USD)" in out
    assert "buy-and-hold return" in out
    assert "strategy PnL (USD, net of fees)" in out
    result = report["result"]
    # With 1 BTC at the start, equity moves with the price; the strategy's PnL is what is left.
    end, benchmark, strategy = (Decimal(result[k]) for k in ("end_equity", "benchmark_end_equity", "strategy_pnl"))
    assert benchmark != Decimal(result["start_equity"])  # the price moved: the holding gained or lost
    assert abs(end - benchmark - strategy) < Decimal("1e-12")  # average cost is exact to 28 digits
    assert strategy != end - Decimal(result["start_equity"])
    assert (tmp_path / "r" / "equity.png").stat().st_size > 0


def test_the_plot_shows_buy_and_hold_and_the_strategy_apart() -> None:
    # The bug: with BTC in the account, equity.png's one line was the price chart.
    r = PerformanceRecorder()
    r.begin(0, Decimal(100), Decimal(0), Decimal(1))
    r.sample(60_000, Decimal(150), Decimal(0), Decimal(1))  # price only
    r.on_fill(Fill("a", Decimal(160), Decimal(1), Decimal(0), Liquidity.MAKER, 90_000, 0), Side.SELL)
    r.sample(120_000, Decimal(150), Decimal(160), Decimal(0))  # sold 1 at 160 (a gain of 10 over holding)
    r.sample(180_000, Decimal(120), Decimal(160), Decimal(0))
    equity, benchmark, strategy = curves(r)
    assert equity == [150.0, 160.0, 160.0]
    assert benchmark == [150.0, 150.0, 120.0]
    assert strategy == [0.0, 10.0, 40.0]


def test_short_runs_are_not_annualized_and_the_report_says_so(tmp_path: Path, market: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # The bug: 15 minutes of data printed an "annualized Sharpe" of two digits.
    monkeypatch.chdir(tmp_path)
    out, report = grid_run(market, tmp_path / "r")
    result = report["result"]
    assert result["annualized"] is False
    assert result["returns"] >= 2
    assert result["notes"] == ["sharpe and sortino are per 60 s bar, not annualized: the run spans 15.0 min, "
                               "under the 30 days an annualized figure needs"]
    assert "sharpe (per 60 s bar)" in out
    assert "annualized" not in out.split("note:")[0]  # no row claims to be annualized
    assert "note: sharpe and sortino are per 60 s bar, not annualized" in out
