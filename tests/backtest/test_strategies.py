"""The shipped sma_crossover and grid strategies on crafted files, results computed by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.backtest.runner import BacktestResult, run_backtest
from botkit.backtest.settings import BacktestSettings
from botkit.config import parse
from botkit.data import JsonlWriter
from botkit.model import BookLevel, OrderBook, Side, Snapshot, Ticker

D = Decimal
SHIPPED = Path(__file__).resolve().parents[2] / "strategies"


def write(path: Path, quotes: list[tuple[str, str]]) -> Path:
    """One snapshot a second, best bid and ask as given, 10 BTC on each side."""
    with JsonlWriter(path) as writer:
        for i, (bid, ask) in enumerate(quotes, 1):
            book = OrderBook((BookLevel(D(bid), D(10)),), (BookLevel(D(ask), D(10)),))
            writer.write(Snapshot(i * 1000, Ticker(D(bid), D(bid), D(ask)), book))
    return path


def run(
    tmp_path: Path, data: Path, strategy: str, params: dict[str, Any], initial: dict[str, Decimal]
) -> BacktestResult:
    cfg = parse({"strategy_paths": [str(SHIPPED)]})
    settings = BacktestSettings(data=data, initial=initial, strategies=(strategy,), params={strategy: params},
                                maker_fee_bps=D(0), taker_fee_bps=D(0))  # the sums below are fee-free
    return run_backtest(cfg, settings)


def fills(result: BacktestResult) -> list[tuple[int, Side, Decimal, Decimal]]:
    orders = {o.order_id: o for o in result.venue.orders_since(0)}
    return sorted((f.ts, orders[f.order_id].side, f.price, f.quantity) for o in orders.values() for f in o.fills)


def test_sma_crossover(tmp_path: Path) -> None:
    mids = [100, 100, 100, 103, 106, 109, 106, 100, 94]
    data = write(tmp_path / "trend.jsonl", [(f"{m - D('0.5')}", f"{m + D('0.5')}") for m in map(D, mids)])
    result = run(tmp_path, data, "sma_crossover", {"fast": 2, "slow": 3, "size": "1"}, {"USD": D(10000)})
    # windows of 3 mids; fast = last 2:
    #   t3 100,100,100   fast 100   slow 100  -> flat (not above)
    #   t4 100,100,103   fast 101.5 slow 101  -> long: buy 1 at the ask 103.5
    #   t5..t7           fast stays above slow (104.5>103, 107.5>106, 107.5>107)
    #   t8 109,106,100   fast 103   slow 105  -> flat: sell 1 at the bid 99.5
    #   t9 106,100,94    fast 97    slow 100  -> flat already
    assert fills(result) == [(4000, Side.BUY, D("103.5"), D(1)), (8000, Side.SELL, D("99.5"), D(1))]
    m = result.metrics
    assert m.realized_pnl == D(-4)
    assert m.end_equity == D(9996)
    assert (m.orders, m.fills) == (2, 2)


def test_grid(tmp_path: Path) -> None:
    quotes = [("99.9", "100.1"), ("98.4", "98.5"), ("100.5", "100.6"), ("101.5", "101.6")]
    data = write(tmp_path / "swing.jsonl", quotes)
    result = run(tmp_path, data, "grid", {"step": "1", "levels": 2, "size": "1"}, {"USD": D(10000), "BTC": D(5)})
    # t1 mid 100: anchor 100, buys at 99 and 98, sells at 101 and 102, all resting
    # t2 ask 98.5 < 99: the buy at 99 fills (maker, its own price) -> a sell at 100 is placed
    # t3 bid 100.5 > 100: that sell fills -> a buy at 99 is placed
    # t4 bid 101.5 > 101: the first sell fills -> a buy at 100 is placed
    assert fills(result) == [
        (2000, Side.BUY, D(99), D(1)),
        (3000, Side.SELL, D(100), D(1)),
        (4000, Side.SELL, D(101), D(1)),
    ]
    m = result.metrics
    assert m.orders == 7
    assert result.venue.balances().usd == D(10102)  # 10000 - 99 + 100 + 101
    assert result.venue.balances().btc == D(4)
    assert m.start_equity == D(10500)  # 10000 + 5 x 100
    assert m.end_equity == D("10508.2")  # 10102 + 4 x 101.55
    # The strategy's own fills from a flat position (the 5 BTC held at the start are the benchmark's):
    # buy 1 at 99 -> long 1 at 99; sell 1 at 100 -> flat, realizes 1; sell 1 at 101 -> short 1 at 101
    assert m.realized_pnl == D(1)
    assert m.unrealized_pnl == D("-0.55")  # short 1 at 101, mid 101.55: -1 x (101.55 - 101)
    assert m.benchmark_end_equity == D("10507.75")  # 10000 + 5 x 101.55
    assert m.strategy_pnl == D("0.45")  # 1 - 0.55, no fees
    assert m.end_equity == m.benchmark_end_equity + m.strategy_pnl
    assert m.win_rate == 1.0  # one closing fill (the sell at 100), +1 > its fee 0
