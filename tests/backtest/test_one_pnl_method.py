"""One PnL method: a backtest's report and `botkit journal pnl` of the journal it kept agree to the digit.

The case of issue 12: buy 0.1 @ 100, buy 0.1 @ 110, sell 0.1 @ 120. The backtest report used to
count it by FIFO (the sell closes the lot bought at 100: realized 2) while `botkit journal pnl` of
the same run's journal counted it by average cost (105: realized 1.5).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.data import JsonlWriter
from botkit.model import BookLevel, OrderBook, Snapshot, Ticker
from tests.backtest.commands import invoke

D = Decimal
STRATEGIES = Path(__file__).parent / "strategies"


def market(path: Path) -> Path:
    """Asks at 100 then 110 for the two buys, a bid at 120 for the sell; the last mid is 120.5."""
    with JsonlWriter(path) as writer:
        for ts, bid, ask in [(1000, "99", "100"), (2000, "109", "110"), (3000, "120", "121"), (4000, "120", "121")]:
            book = OrderBook((BookLevel(D(bid), D(1)),), (BookLevel(D(ask), D(1)),))
            writer.write(Snapshot(ts, Ticker(D(bid), D(bid), D(ask)), book))
    return path


@pytest.mark.parametrize("btc", ["0", "1"])
def test_the_report_and_journal_pnl_of_its_journal_agree(tmp_path: Path, btc: str) -> None:
    journal = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    config = tmp_path / "botkit.toml"
    config.write_text(f"""
strategy_paths = ["{STRATEGIES}"]
[journal]
url = "{journal}"
[strategies.scripted]
script = ["1000 buy 0.1 100", "2000 buy 0.1 110", "3000 sell 0.1 120"]
""")
    code, _, err = invoke("backtest", "--config", str(config), "--data", str(market(tmp_path / "m.jsonl")),
                          "--strategy", "scripted", "--initial", f"USD=1000,BTC={btc}", "--maker-fee-bps", "0",
                          "--taker-fee-bps", "10", "--journal", journal, "--report", str(tmp_path / "rep"),
                          "--no-progress")
    assert code == 0, err
    report = json.loads((tmp_path / "rep" / "report.json").read_text(), parse_float=D)["result"]
    code, out, err = invoke("journal", "pnl", "--config", str(config), "--bot", "backtest", "--format", "json")
    assert code == 0, err
    (row,) = json.loads(out, parse_float=D, parse_int=D)

    # Average cost of the 0.2 bought: (10 + 11) / 0.2 = 105; the sell of 0.1 at 120 realizes
    # 0.1 x (120 - 105) = 1.5 (FIFO said 0.1 x (120 - 100) = 2). The BTC held at the start is the
    # benchmark's in both, so it changes neither. Fees at 10 bps: 0.01 + 0.011 + 0.012 = 0.033.
    assert D(report["realized_pnl"]) == row["realized_pnl"] == D("1.5")
    assert D(report["fees"]) == row["fees"] == D("0.033")
    assert D(report["realized_pnl"]) - D(report["fees"]) == row["net_pnl"] == D("1.467")
    assert row["average_cost"] == D(105)
    assert row["position"] == D("0.1")
    # 0.1 still held at the last mid 120.5: 0.1 x (120.5 - 105) = 1.55; net 1.5 + 1.55 - 0.033.
    assert D(report["unrealized_pnl"]) == D("1.55")
    assert D(report["strategy_pnl"]) == D("3.017")
    assert D(report["end_equity"]) == D(report["benchmark_end_equity"]) + D(report["strategy_pnl"])
    assert D(report["benchmark_end_equity"]) == 1000 + D(btc) * D("120.5")
    assert report["win_rate"] == 1.0  # the one closing fill: 1.5 realized > its fee 0.012
