"""The commands: botkit backtest (and sweeps), botkit data, botkit record."""

from __future__ import annotations

import csv
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.cli.backtest import parse_initial, parse_param, parse_value
from botkit.core.errors import ConfigError
from botkit.core.output import money
from botkit.data import JsonlReader, StoreReader, generate
from tests.backtest.commands import SHIPPED, invoke


@pytest.fixture
def market(tmp_path: Path) -> Path:
    return generate(tmp_path / "market.bks", 1200, levels=5, seed=3)


def test_option_parsing() -> None:
    assert parse_param("grid.step=5", "--param") == ("grid", "step", "5")
    assert parse_value("5") == 5
    assert str(parse_value("0.5")) == "0.5"
    assert parse_value("true") is True
    assert parse_value("abc") == "abc"
    assert parse_initial("USD=10000, btc=0.5") == {"USD": 10000, "BTC": parse_value("0.5")}
    with pytest.raises(ConfigError):
        parse_param("grid.step", "--param")
    with pytest.raises(ConfigError):
        parse_initial("USD=lots")


def test_data_commands(tmp_path: Path) -> None:
    code, _, err = invoke("data", "generate", str(tmp_path / "g.bks"), "--snapshots", "300", "--levels", "4")
    assert code == 0, err
    code, _, err = invoke("data", "convert", str(tmp_path / "g.bks"), str(tmp_path / "g.jsonl.gz"))
    assert code == 0, err
    assert "300 snapshot(s)" in err
    code, out, _ = invoke("data", "check", str(tmp_path / "g.jsonl.gz"))
    assert code == 0
    assert "300 good snapshot(s), 0 bad" in out
    (tmp_path / "bad.jsonl").write_text("nope\n")
    code, out, _ = invoke("data", "check", str(tmp_path / "bad.jsonl"))
    assert code == 1
    assert "0 good snapshot(s), 1 bad" in out
    code, _, err = invoke("data", "convert", str(tmp_path / "g.bks"), str(tmp_path / "g.csv"))
    assert code == 1
    assert "unknown snapshot file type" in err


def test_backtest_prints_a_table_and_writes_a_report(tmp_path: Path, market: Path) -> None:
    code, out, err = invoke(
        "backtest", "--data", str(market), "--strategy-path", str(SHIPPED), "--strategy", "grid",
        "--param", "grid.step=3", "--param", "grid.size=0.1", "--initial", "USD=10000,BTC=1",
        "--maker-fee-bps", "1", "--taker-fee-bps", "2.5", "--report", str(tmp_path / "report"),
    )
    assert code == 0, err
    assert "end equity (USD)" in out
    assert "sharpe" in out
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["run"]["strategies"]["grid"]["params"] == {"levels": 3, "size": "0.1", "step": "3"}
    assert report["run"]["fees"] == {"maker_fee_bps": "1", "taker_fee_bps": "2.5"}
    assert report["result"]["orders"] > 0
    assert isinstance(report["result"]["end_equity"], str)
    for name in ("fills.csv", "orders.csv", "equity.png"):
        assert (tmp_path / "report" / name).stat().st_size > 0


def test_bad_options_are_one_clear_line(market: Path) -> None:
    code, _, err = invoke("backtest", "--data", str(market), "--param", "grid.step")
    assert code == 2
    assert "NAME.KEY=VALUE" in err
    code, _, err = invoke("backtest", "--data", str(market), "--strategy", "nope")
    assert code == 2
    assert "no such strategy" in err


def test_sweep_ranks_runs_and_writes_csv_and_heatmap(tmp_path: Path, market: Path) -> None:
    code, out, err = invoke(
        "backtest", "--data", str(market), "--strategy-path", str(SHIPPED), "--strategy", "grid",
        "--initial", "USD=10000,BTC=1", "--sweep", "grid.step=2,4", "--sweep", "grid.levels=1,2",
        "--workers", "2", "--rank-by", "fills", "--report", str(tmp_path / "sweep"),
    )
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].split()[:4] == ["rank", "grid.step", "grid.levels", "fills"]
    assert len(lines) == 5
    with open(tmp_path / "sweep" / "sweep.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    fills = [int(r["fills"]) for r in rows]
    assert fills == sorted(fills, reverse=True)
    assert {(r["grid.step"], r["grid.levels"]) for r in rows} == {("2", "1"), ("2", "2"), ("4", "1"), ("4", "2")}
    assert (tmp_path / "sweep" / "heatmap.png").stat().st_size > 0


def test_a_sweep_table_shows_money_to_the_cent_and_ratios_short_while_its_files_stay_exact(tmp_path: Path) -> None:
    """The market maker on the shipped sample: realized PnL at average cost has ~20 places."""
    code, out, err = invoke("backtest", "--strategy-path", str(SHIPPED), "--strategy", "market_maker",
                            "--sweep", "market_maker.spread_bps=4,10", "--limit", "3000", "--workers", "1",
                            "--report", str(tmp_path / "sweep"))
    assert code == 0, err
    header, *lines = out.strip().splitlines()
    shown = [dict(zip(header.split(), line.split(), strict=True)) for line in lines]
    with open(tmp_path / "sweep" / "sweep.csv", newline="") as handle:
        exact = list(csv.DictReader(handle))
    in_json = json.loads((tmp_path / "sweep" / "sweep.json").read_text())["runs"]
    assert any(len(row["realized_pnl"].split(".")[1]) > 10 for row in exact)  # the files keep every digit
    for table_row, csv_row, json_row in zip(shown, exact, in_json, strict=True):
        for column in ("strategy_pnl", "end_equity", "realized_pnl", "fees"):
            assert table_row[column] == money(Decimal(csv_row[column]), "USD")
            assert csv_row[column] == json_row[column]
        for column in ("total_return", "max_drawdown"):
            assert re.fullmatch(r"-?\d+\.\d\d%", table_row[column]), table_row[column]
            assert float(table_row[column][:-1]) == pytest.approx(float(csv_row[column]) * 100, abs=0.005)
        assert re.fullmatch(r"-?\d+\.\d{3}", table_row["sharpe"]), table_row["sharpe"]


def test_backtest_without_data_replays_the_shipped_sample(tmp_path: Path) -> None:
    code, out, err = invoke("backtest", "--strategy-path", str(SHIPPED), "--strategy", "market_maker",
                            "--limit", "200", "--initial", "USD=10000,BTC=1")
    assert code == 0, err
    assert "sandbox-sample" in err
    assert "snapshots                    200" in out or " 200\n" in out


@pytest.mark.slow
def test_record_from_the_embedded_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("record", "--out", "rec.jsonl", "--interval", "0.1", "--duration", "1.5")
    assert code == 0, err
    reader = JsonlReader(tmp_path / "rec.jsonl", strict=True)
    snapshots = list(reader)
    assert len(snapshots) >= 5
    assert all(s.best_bid is not None and s.best_ask is not None for s in snapshots)
    assert "recorded" in err
    code, _, err = invoke("record", "--out", "rec.bks", "--interval", "0.1", "--duration", "1")
    assert code == 0, err
    assert len(list(StoreReader(tmp_path / "rec.bks"))) >= 3
    assert not (tmp_path / "rec.bks.partial.jsonl").exists()


JUNK_STRATEGY = '''
"""Asks for an order of 1e30 BTC on every snapshot (issue 11.5: a traceback in a backtest)."""
from decimal import Decimal

import botkit
from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    return [botkit.buy(Decimal("1e30"), snapshot.best_bid)]
'''


def test_a_junk_intent_in_a_backtest_is_a_counted_failure_not_a_traceback(tmp_path: Path, market: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "junk.py").write_text(JUNK_STRATEGY)
    code, out, err = invoke("backtest", "--data", str(market), "--strategy-path", str(folder), "--strategy", "junk",
                            "--limit", "50", "--report", str(tmp_path / "report"))
    assert code == 0, err
    assert "Traceback" not in err
    assert "strategy junk returned 1 malformed intent(s), refused: quantity 1E+30 BTC is beyond" in err
    assert "strategy junk paused after 5 consecutive failures" in err
    assert re.search(r"^strategy failures +5$", out, re.MULTILINE), out
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["result"]["strategy_failures"] == 5
    assert report["result"]["rejected"] == 5


def test_a_sweep_with_a_kept_journal_is_refused_up_front(tmp_path: Path, market: Path) -> None:
    """Found in review: every point of a sweep wrote into the one --journal, so the second point
    failed (one kept journal holds one backtest) after the first had run. Refused before any run."""
    code, _, err = invoke("backtest", "--data", str(market), "--strategy", "market_maker",
                          "--sweep", "market_maker.spread_bps=4,10", "--journal", f"sqlite:///{tmp_path / 'j.sqlite'}")
    assert code == 2
    assert "--journal: a sweep runs a backtest a point, and a kept journal holds one backtest" in err
    assert not (tmp_path / "j.sqlite").exists()
