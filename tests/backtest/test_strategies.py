"""The shipped sma_crossover and grid strategies on crafted snapshots, results computed by hand
(run by :mod:`botkit.testing`: the real engine and the simulated venue, fee-free so the sums are)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botkit.model import Side, Snapshot, buy, cancel, sell
from botkit.testing import StrategyRun, book, mids, quotes, run_strategy, snapshot

D = Decimal


def run(strategy: str, snapshots: list[Snapshot], params: dict[str, Any], initial: dict[str, Decimal]) -> StrategyRun:
    return run_strategy(strategy, snapshots, params=params, initial=initial, maker_fee_bps=0, taker_fee_bps=0)


def test_sma_crossover() -> None:
    result = run("sma_crossover", mids([100, 100, 100, 103, 106, 109, 106, 100, 94, 94], start=60_000, every_ms=60_000),
                 {"fast": 2, "slow": 3, "size": "1"}, {"USD": D(10000)})
    # One snapshot a minute, no trades: minute k's bar is made from snapshot k's mid and closed by
    # snapshot k+1, which decides on it and trades at its own touch. SMAs of the closes:
    #   t4  closes 100,100,100        fast 100   slow 100  -> flat (not above)
    #   t5  closes ..,100,100,103     fast 101.5 slow 101  -> long: buy 1 at t5's ask 106.5
    #   t6..t8                        fast stays above slow (104.5>103, 107.5>106, 107.5>107)
    #   t9  closes ..,109,106,100     fast 103   slow 105  -> flat: sell 1 at t9's bid 93.5
    #   t10 closes ..,106,100,94      fast 97    slow 100  -> flat already
    assert result.executions() == [(5 * 60_000, Side.BUY, D("106.5"), D(1)), (9 * 60_000, Side.SELL, D("93.5"), D(1))]
    m = result.metrics
    assert m.realized_pnl == D(-13)
    assert m.end_equity == D(9987)
    assert (m.orders, m.fills) == (2, 2)


def test_grid() -> None:
    quoted = quotes([("99.9", "100.1"), ("98.4", "98.5"), ("100.5", "100.6"), ("101.5", "101.6")])
    result = run("grid", quoted, {"step": "1", "levels": 2, "size": "1"}, {"USD": D(10000), "BTC": D(5)})
    # t1 mid 100: anchor 100, buys at 99 and 98, sells at 101 and 102, all resting
    # t2 ask 98.5 < 99: the buy at 99 fills (maker, its own price) -> a sell at 100 is placed
    # t3 bid 100.5 > 100: that sell fills -> a buy at 99 is placed
    # t4 bid 101.5 > 101: the first sell fills -> a buy at 100 is placed
    assert result.executions() == [
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


def test_book_imbalance() -> None:
    # One snapshot a minute; bid 99.5 / ask 100.5 always; the sizes at the touch lean the book.
    sizes = [(1, 1), (3, 1), (3, 1), (3, 1), (1, 1), (1, 3), (1, 3), (1, 3)]
    snapshots = [snapshot(i * 60_000, order_book=book([("99.5", b)], [("100.5", a)]))
                 for i, (b, a) in enumerate(sizes, 1)]
    result = run("book_imbalance", snapshots, {"window": 2, "threshold": "0.4", "size": "1"}, {"USD": D(10000)})
    # Minute k's bar keeps snapshot k's book: imbalance (b - a) / (b + a) = 0, .5, .5, .5, 0, -.5, -.5, -.5;
    # snapshot k+1 closes it and decides on the mean of the last two:
    #   t3 (0 + .5)/2 = .25       within ±0.4: hold (flat)
    #   t4 (.5 + .5)/2 = .5       > 0.4: long, buy 1 at t4's ask 100.5
    #   t5 .5, t6 .25, t7 -.25    hold
    #   t8 (-.5 - .5)/2 = -.5     < -0.4: flat, sell 1 at t8's bid 99.5
    assert result.executions() == [(4 * 60_000, Side.BUY, D("100.5"), D(1)), (8 * 60_000, Side.SELL, D("99.5"), D(1))]
    assert result.metrics.realized_pnl == D(-1)


def test_market_maker() -> None:
    result = run("market_maker", quotes([("99.5", "100.5"), ("99", "99.5")]), {}, {"USD": D(10000), "BTC": D(1)})
    # t1 mid 100, flat: half spread 100 x 20 / 10000 / 2 = 0.1 -> bid 99.90, ask 100.10
    assert result.intents_at(1000) == [buy("0.05", "99.90", tag="quote"), sell("0.05", "100.10", tag="quote")]
    # t2 the ask 99.5 is under the bid: it fills. Long 0.05 = one size: skew -10 bps, mid 99.25 ->
    # centre 99.25 x 0.999 = 99.15075, half 0.09915075 -> bid 99.05 (down), ask 99.25 (up); the ask
    # at 100.10 is 0.85 away, past refresh_bps (99.25 x 5 / 10000 = 0.0496): cancelled and replaced
    first_ask = result.orders[1].order_id  # oldest first: the t1 bid, then the t1 ask
    assert result.intents_at(2000) == [buy("0.05", "99.05", tag="quote"), cancel(first_ask),
                                       sell("0.05", "99.25", tag="quote")]
    assert result.executions() == [(2000, Side.BUY, D("99.90"), D("0.05"))]
    assert result.position == D("0.05")
