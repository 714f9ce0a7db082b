"""Whole backtests through the engine on a crafted file, outcomes computed by hand."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit.backtest.runner import BacktestResult, run_backtest
from botkit.backtest.settings import BacktestSettings
from botkit.config import Config, parse
from botkit.data import JsonlWriter, convert
from botkit.model import BookLevel, OrderBook, OrderStatus, Snapshot, Ticker

D = Decimal
STRATEGIES = Path(__file__).parent / "strategies"


def snapshot(ts: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> Snapshot:
    book = OrderBook(tuple(BookLevel(D(p), D(q)) for p, q in bids), tuple(BookLevel(D(p), D(q)) for p, q in asks))
    assert book.best_bid is not None
    assert book.best_ask is not None
    return Snapshot(ts, Ticker(book.best_bid, book.best_bid, book.best_ask), book)


def market_file(path: Path) -> Path:
    early = ([("99", "5")], [("100", "0.6"), ("100.5", "2")])  # mid 99.5
    late = ([("101", "3")], [("101.5", "1")])  # mid 101.25
    with JsonlWriter(path) as writer:
        for ts, (bids, asks) in [(1000, early), (2000, early), (3000, late), (4000, late)]:
            writer.write(snapshot(ts, bids, asks))
    return path


def config(tmp_path: Path) -> Config:
    return parse({"strategy_paths": [str(STRATEGIES)], "journal": {"url": f"sqlite:///{tmp_path / 'unused.sqlite'}"}})


def run(tmp_path: Path, script: list[str], data: Path | None = None, **kwargs: Any) -> BacktestResult:
    report_dir = kwargs.pop("report_dir", None)
    settings = BacktestSettings(
        data=data or market_file(tmp_path / "market.jsonl"),
        initial={"USD": D(10000), "BTC": D(0)},
        maker_fee_bps=D(0),
        taker_fee_bps=D(10),
        strategies=("scripted",),
        params={"scripted": {"script": script}},
        bar_ms=1000,
        **kwargs,
    )
    return run_backtest(config(tmp_path), settings, report_dir=report_dir)


SCRIPT = ["1000 buy 1 100.5", "3000 sell 0.8 101"]


def test_a_round_trip_through_the_engine(tmp_path: Path) -> None:
    m = run(tmp_path, SCRIPT).metrics
    # buy 1 @ 100.5 walks 0.6 @ 100 and 0.4 @ 100.5: 100.2 USD + 0.1002 fee -> USD 9899.6998, BTC 1
    # sell 0.8 @ 101 hits the bid: 80.8 USD - 0.0808 fee -> USD 9980.419, BTC 0.2; mid 101.25
    assert m.start_equity == D(10000)
    assert m.end_equity == D("10000.669")  # 9980.419 + 0.2 x 101.25
    # Average cost of the 1 bought: (0.6 x 100 + 0.4 x 100.5) / 1 = 100.2
    assert m.realized_pnl == D("0.64")  # 0.8 sold at 101: 0.8 x (101 - 100.2)
    assert m.unrealized_pnl == D("0.21")  # 0.2 left: 0.2 x (101.25 - 100.2)
    assert m.fees == D("0.181")
    assert m.strategy_pnl == D("0.669")  # 0.64 + 0.21 - 0.181: all of end - start (no starting BTC)
    assert m.max_drawdown_usd == D("0.8002")  # 10000 -> 9999.1998 after the buy (mid 99.5)
    assert m.max_drawdown == pytest.approx(0.00008002)
    assert (m.orders, m.fills, m.taker_fills) == (2, 3, 3)
    assert m.fill_ratio == 1.0
    assert m.win_rate == 1.0  # one closing fill, the sell: 0.64 realized > its fee 0.0808
    assert m.exposure == 1.0
    assert m.turnover == pytest.approx(0.0181)


def test_latency_through_the_engine(tmp_path: Path) -> None:
    result = run(tmp_path, ["1000 buy 1 100.5"], latency_ms=1500)
    # sent at 1000, arrives at the first snapshot at or after 2500 (ts 3000), whose asks start at
    # 101.5: it rests and never fills. The engine cancels it at the end, but that cancel is still
    # travelling when the data ends, so the order is left open.
    assert result.metrics.fills == 0
    (order,) = result.venue.orders_since(0)
    assert order.status is OrderStatus.OPENED
    assert order.created_ts == 1000


def test_the_store_gives_the_same_backtest(tmp_path: Path) -> None:
    jsonl = market_file(tmp_path / "market.jsonl")
    convert(jsonl, tmp_path / "market.bks")
    a = run(tmp_path, SCRIPT, data=jsonl).metrics
    b = run(tmp_path, SCRIPT, data=tmp_path / "market.bks").metrics
    assert a == b


def test_reports_are_byte_identical_across_runs(tmp_path: Path) -> None:
    jsonl = market_file(tmp_path / "market.jsonl")
    for name in ("one", "two"):
        settings = BacktestSettings(data=jsonl, initial={"USD": D(10000), "BTC": D(0)}, maker_fee_bps=D(0),
                                    taker_fee_bps=D(10), strategies=("scripted",),
                                    params={"scripted": {"script": SCRIPT}})
        run_backtest(config(tmp_path), settings, report_dir=tmp_path / name)
    for file in ("report.json", "fills.csv", "orders.csv", "equity.png"):
        assert (tmp_path / "one" / file).read_bytes() == (tmp_path / "two" / file).read_bytes(), file
    report = json.loads((tmp_path / "one" / "report.json").read_text())
    assert report["result"]["end_equity"] == "10000.669"
    assert report["result"]["fees"] == "0.181"
    assert report["run"]["data"]["path"] == str(jsonl.resolve())
    fills = (tmp_path / "one" / "fills.csv").read_text().splitlines()
    assert fills[0] == "ts,order_id,seq,side,price,quantity,notional,fee,liquidity"
    assert fills[1:] == [
        "1000,sim-000001,0,buy,100,0.6,60,0.06,taker",
        "1000,sim-000001,1,buy,100.5,0.4,40.2,0.0402,taker",
        "3000,sim-000002,0,sell,101,0.8,80.8,0.0808,taker",
    ]
    orders = (tmp_path / "one" / "orders.csv").read_text().splitlines()
    assert orders[1] == "1000,sim-000001,buy,limit,filled,100.5,1,1,100.2,0.1002,2"


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    from botkit.core.errors import DataFileError

    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(DataFileError, match="no readable snapshot"):
        run(tmp_path, [], data=tmp_path / "empty.jsonl")


def test_a_backtest_process_loads_no_orm_alembic_notebook_or_http(tmp_path: Path) -> None:
    """A backtest's fixed cost: its throwaway journal is created from the Core tables (no ORM, no
    Alembic), the runner comes without the notebook API's pandas or the optimiser, nothing
    loads the HTTP client's requests (only live and paper runs connect), and the strategies it
    does not run are not imported (the shipped sma_crossover's indicator library)."""
    data = tmp_path / "one.bks"
    code = ("import sys\n"
            "from botkit.data import generate\n"
            f"generate({str(data)!r}, 10, levels=10)\n"
            "from botkit.cli import main\n"
            f"try:\n    main(['backtest', '--data', {str(data)!r}, '--strategy', 'market_maker'])\n"
            "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
            "heavy = {'sqlalchemy.orm', 'alembic', 'pandas', 'botkit.backtest.notebook', 'botkit.backtest.optimizer',\n"
            "         'requests', 'talipp'}\n"
            "loaded = heavy & set(sys.modules)\n"
            "assert not loaded, loaded")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "total return" in done.stdout


def test_a_kept_journal_holds_one_backtest(tmp_path: Path) -> None:
    """Found by a review of the batched journal: a second backtest into the same --journal died
    with a raw IntegrityError (the simulated venue's order ids start at sim-000001 again), and its
    pnl would have mixed the two runs. It is refused in one line, and the first run's rows stay."""
    from botkit.core.errors import JournalError
    from botkit.journal import Journal, queries

    url = f"sqlite:///{tmp_path / 'kept.sqlite'}"
    first = run(tmp_path, SCRIPT, journal_url=url).metrics
    with pytest.raises(JournalError, match=r"already holds a backtest \(run 1\).*give --journal a new database"):
        run(tmp_path, SCRIPT, journal_url=url)
    journal = Journal(url, "backtest")
    try:
        assert [r.id for r in queries.runs(journal)] == [1]
        assert len(queries.fills(journal)) == first.fills == 3
    finally:
        journal.close()
    done = subprocess.run([sys.executable, "-m", "botkit", "backtest", "--data", str(tmp_path / "market.jsonl"),
                           "--strategy", "market_maker", "--journal", url], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("botkit: journal error: sqlite:///") and "already holds a backtest (run 1)" in line


def test_a_line_whose_deeper_levels_only_the_report_reads_is_counted_not_fatal(tmp_path: Path) -> None:
    """Found in review: the report's depth sampler reads each line's levels after its tick, outside
    the skip rule, so a strategy that never reads the book (or quotes that rest without walking
    it) let a JSON line with unsorted deeper asks stop the whole run with --report. It is counted
    as unreadable; with --strict it still stops the run."""
    from botkit.core.errors import DataFileError

    lines = market_file(tmp_path / "market.jsonl").read_text().splitlines()
    bad = json.loads(lines[1])
    bad["orderbook"]["ask"].append({"price": 100.25, "quantity": 1})  # below the 100.5 before it
    lines[1] = json.dumps(bad)
    (tmp_path / "bad.jsonl").write_text("\n".join(lines) + "\n")
    result = run(tmp_path, [], data=tmp_path / "bad.jsonl", report_dir=tmp_path / "report")
    assert (result.bad_lines, result.metrics.snapshots) == (1, 4)
    assert json.loads((tmp_path / "report" / "report.json").read_text())["result"]["bad_lines"] == 1
    with pytest.raises(DataFileError, match=r"bad\.jsonl:2: orderbook\.ask is not sorted best first"):
        run(tmp_path, [], data=tmp_path / "bad.jsonl", report_dir=tmp_path / "strict", strict=True)
