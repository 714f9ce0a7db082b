"""Parity, as a user gets it: `botkit run --dry-run --record FILE` on the embedded sandbox, then
`botkit backtest --data FILE` with the same config, balances and fees places the same orders, in
the same order, and gets the same fills."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from botkit.journal import Journal, queries
from tests.backtest.commands import botkit_process, paper_config


def test_a_recorded_paper_session_replays_to_the_same_orders(tmp_path: Path) -> None:
    config = paper_config(tmp_path)
    live = botkit_process("run", "--config", str(config), "--dry-run", "--record", "rec.jsonl", "--duration", "8",
                   cwd=tmp_path)
    assert live.returncode == 0, live.stderr[-3000:]
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}", "default.paper")  # paper's own bot id
    (run,) = queries.runs(journal)
    assert run.venue == "paper"
    paper = [(o["side"], o["price"], o["quantity"], o["filled_quantity"]) for o in queries.orders(journal)]
    journal.close()
    assert len(paper) >= 2, "the paper session placed nothing to compare"
    recorded = (tmp_path / "rec.jsonl").read_text().splitlines()
    assert len(recorded) == run.ticks

    replay = botkit_process("backtest", "--data", "rec.jsonl", "--config", str(config),
                            "--initial", "USD=100000,BTC=10", "--maker-fee-bps", "10", "--taker-fee-bps", "20",
                            "--report", "rep", "--no-progress", cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr[-3000:]
    with (tmp_path / "rep" / "orders.csv").open() as handle:
        rows = sorted(csv.DictReader(handle), key=lambda r: r["order_id"])  # sim ids count up: placement order
        backtest = [(r["side"], Decimal(r["price"]), Decimal(r["quantity"]), Decimal(r["filled"])) for r in rows]
    # The paper run's last orders were cancelled at shutdown after its last recorded tick; the
    # replay ends there too, so the sequences agree order for order.
    assert backtest == paper
