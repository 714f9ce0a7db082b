"""Performance arithmetic on a hand-made account history: PnL, drawdown, Sharpe, exposure."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from botkit.backtest.performance import MIN_ANNUALIZED_MS, YEAR_MS, PerformanceRecorder, Series
from botkit.core.money import EXACT
from botkit.model import Fill, Liquidity, Side

D = Decimal


def fill(order_id: str, price: str, quantity: str, fee: str, ts: int, seq: int = 0) -> Fill:
    return Fill(order_id, D(price), D(quantity), D(fee), Liquidity.TAKER, ts, seq)


def history() -> PerformanceRecorder:
    r = PerformanceRecorder(bar_ms=60_000)
    r.sample(0, D(100), D(1000), D(0))  # equity 1000
    r.on_fill(fill("a", "100", "2", "0.2", 60_000), Side.BUY)  # usd 1000 - 200 - 0.2 = 799.8
    r.sample(60_000, D(100), D("799.8"), D(2))  # 999.8
    r.sample(120_000, D(110), D("799.8"), D(2))  # 1019.8: the peak
    r.sample(180_000, D(90), D("799.8"), D(2))  # 979.8: 40 below the peak
    r.on_fill(fill("b", "95", "1", "0.095", 200_000), Side.SELL)  # usd 799.8 + 95 - 0.095 = 894.705
    r.sample(240_000, D(100), D("894.705"), D(1))  # 994.705
    return r


def test_pnl_fees_and_the_equity_identity() -> None:
    m = history().result(orders=2)
    assert (m.start_equity, m.end_equity) == (D(1000), D("994.705"))
    assert m.realized_pnl == D(-5)  # average cost 100 (one buy of 2 at 100); sold 1 of it at 95
    assert m.unrealized_pnl == D(0)  # 1 left at an average cost of 100, mid 100
    assert m.fees == D("0.295")
    assert m.end_equity is not None
    assert m.start_equity is not None
    assert m.benchmark_end_equity is not None
    assert m.strategy_pnl == m.realized_pnl + m.unrealized_pnl - m.fees
    assert m.end_equity - m.start_equity == (m.benchmark_end_equity - m.start_equity) + m.strategy_pnl
    assert m.total_return == float(D("994.705") / 1000 - 1)
    assert m.traded_notional == D(295)
    assert m.turnover == 0.295


def test_drawdown() -> None:
    m = history().result(orders=2)
    assert m.max_drawdown_usd == D(40)
    assert m.max_drawdown == float(D(40) / D("1019.8"))


EQUITY = [1000.0, 999.8, 1019.8, 979.8, 994.705]


def long_history(bar_ms: int) -> PerformanceRecorder:
    """:func:`history`'s account, one sample a bar of ``bar_ms``."""
    r = PerformanceRecorder(bar_ms=bar_ms)
    for i, (usd, btc, mid) in enumerate([("1000", 0, 100), ("799.8", 2, 100), ("799.8", 2, 110),
                                         ("799.8", 2, 90), ("894.705", 1, 100)]):
        r.sample(i * bar_ms, D(mid), D(usd), D(btc))
    return r


def ratios(per_bar: float) -> tuple[float, float]:
    returns = [b / a - 1 for a, b in itertools.pairwise(EQUITY)]
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    mean = statistics.mean(returns)
    return mean / statistics.stdev(returns) * per_bar, mean / downside * per_bar


def test_sharpe_and_sortino_of_a_short_run_are_per_bar_and_say_so() -> None:
    # 4 minutes of data: x sqrt(525600 bars a year) would print noise as a "Sharpe of -28".
    m = history().result(orders=2)
    sharpe, sortino = ratios(1.0)
    assert m.returns == 4
    assert m.annualized is False
    assert m.sharpe is not None
    assert m.sortino is not None
    assert math.isclose(m.sharpe, sharpe, rel_tol=1e-9)
    assert math.isclose(m.sortino, sortino, rel_tol=1e-9)
    assert m.ratio_note() == ("sharpe and sortino are per 60 s bar, not annualized: the run spans 4.0 min, "
                              "under the 30 days an annualized figure needs")


def test_sharpe_and_sortino_of_a_run_of_30_days_or_more_are_annualized() -> None:
    ten_days = 10 * 86_400_000
    m = long_history(ten_days).result(orders=2)  # 40 days
    sharpe, sortino = ratios(math.sqrt(YEAR_MS / ten_days))
    assert m.annualized is True
    assert m.sharpe is not None
    assert m.sortino is not None
    assert math.isclose(m.sharpe, sharpe, rel_tol=1e-9)
    assert math.isclose(m.sortino, sortino, rel_tol=1e-9)
    assert m.ratio_note() is None
    just_short = long_history(MIN_ANNUALIZED_MS // 4 - 1).result(orders=2)
    assert just_short.annualized is False


def test_buy_and_hold_benchmark_and_strategy_pnl_without_starting_btc() -> None:
    m = history().result(orders=2)
    assert m.benchmark_end_equity == D(1000)  # USD only: holding it earns nothing
    assert m.benchmark_return == 0.0
    assert m.strategy_pnl == D("-5.295")  # sold 1 bought at 100 for 95, 0.295 of fees, 1 left at mid 100
    assert m.end_equity == m.benchmark_end_equity + m.strategy_pnl


def test_starting_btc_is_the_benchmark_not_the_strategy() -> None:
    # The bug: with BTC in the account, equity and return were the price's; the strategy looked
    # 35% up while its one trade lost 15.1.
    r = PerformanceRecorder()
    r.begin(0, D(100), D(0), D(1))
    r.on_fill(fill("a", "120", "0.5", "0.1", 1000), Side.SELL)
    r.sample(1000, D(120), D("59.9"), D("0.5"))
    r.sample(2000, D(150), D("59.9"), D("0.5"))
    m = r.result(orders=1)
    assert m.total_return == 0.349  # 100 -> 134.9: mostly the price
    assert m.benchmark_end_equity == D(150)  # 1 BTC held, at mid 150
    assert m.benchmark_return == 0.5
    assert m.strategy_pnl == D("-15.1")  # sold 0.5 at 120 that is now worth 150, and paid 0.1
    assert m.end_equity == m.benchmark_end_equity + m.strategy_pnl


def test_a_price_move_alone_is_no_strategy_pnl() -> None:
    r = PerformanceRecorder()
    r.begin(0, D(100), D(10000), D(1))
    for ts, mid in [(60_000, 150), (120_000, 90), (180_000, 200)]:
        r.sample(ts, D(mid), D(10000), D(1))
    m = r.result(orders=0)
    assert m.end_equity == m.benchmark_end_equity == D(10200)
    assert m.strategy_pnl == 0


def test_counts_exposure_and_win_rate() -> None:
    m = history().result(orders=4)
    assert (m.orders, m.fills, m.taker_fills, m.maker_fills) == (4, 2, 2, 0)
    assert m.fill_ratio == 0.5  # 2 of 4 orders filled
    assert m.win_rate == 0.0  # the one closing fill lost
    assert m.exposure == 0.75  # holding from 60 s to 240 s of 240 s
    assert m.snapshots == 5


def test_selling_the_starting_btc_opens_a_position_and_closes_none() -> None:
    # The BTC held at the start is the benchmark's. The strategy's PnL is counted from a flat
    # position, as `botkit journal pnl` counts the run's journal: selling 1 at 120 opens a short
    # of 1 at an average of 120 and realizes nothing. (FIFO counted the start BTC as a lot bought
    # at the first mid and realized 120 - 100 = 20: the holding's price change, not a trade's.)
    r = PerformanceRecorder()
    r.sample(0, D(100), D(0), D(1))
    r.on_fill(fill("a", "120", "1", "0", 1000), Side.SELL)
    r.sample(1000, D(120), D(120), D(0))
    m = r.result(orders=1)
    assert m.realized_pnl == 0
    assert m.unrealized_pnl == 0  # short 1 at 120, mid 120
    assert m.win_rate is None  # no fill closed a position: no round trip to win or lose
    assert m.benchmark_end_equity == m.end_equity == D(120)  # the 20 is the holding's, in both
    assert m.strategy_pnl == 0
    assert m.exposure == 0.0  # BTC changed only at the very last sample


def test_the_pnl_identities_hold_to_the_digit_over_many_uneven_fills() -> None:
    # 2000 seeded fills of uneven sizes, long and short, starting with BTC: averages that no
    # decimal holds. The account is kept here by hand (cash out for buys, in for sells, fees out).
    rng = random.Random(7)
    r = PerformanceRecorder()
    usd, btc = D(100000), D(3)
    r.begin(0, D(100), usd, btc)
    for ts in range(1, 2001):
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        price, quantity = D(rng.randint(9000, 11000)).scaleb(-2), D(rng.randint(1, 300_000_000)).scaleb(-8)
        fee = (price * quantity * D("0.0007")).quantize(D("1e-12"))
        r.on_fill(fill("o", str(price), str(quantity), str(fee), ts), side)
        usd += -price * quantity - fee if side is Side.BUY else price * quantity - fee
        btc += quantity if side is Side.BUY else -quantity
        r.sample(ts, price + D("0.005"), usd, btc)
    m = r.result(orders=2000)
    assert m.end_equity is not None
    assert m.start_equity is not None
    assert m.benchmark_end_equity is not None
    assert m.strategy_pnl == m.realized_pnl + m.unrealized_pnl - m.fees
    assert m.end_equity == m.benchmark_end_equity + m.strategy_pnl
    assert m.end_equity - m.start_equity == (m.benchmark_end_equity - m.start_equity) + m.strategy_pnl


def test_no_snapshots_no_crash() -> None:
    m = PerformanceRecorder().result(orders=0)
    assert m.start_equity is None
    assert m.sharpe is None
    assert m.fill_ratio is None


def test_series_thins_evenly_and_stays_bounded() -> None:
    s = Series(capacity=8)
    for i in range(1000):
        if s.due():
            s.append((i, float(i), 0.0))
    s.finish((999, 999.0, 0.0))
    assert len(s.points) <= 9
    assert s.points[0][0] == 0
    assert s.points[-1][0] == 999
    gaps = {b[0] - a[0] for a, b in zip(s.points, s.points[1:-1], strict=False)}
    assert len(gaps) == 1


@given(usd=st.decimals(min_value=-10**12, max_value=10**12, places=10, allow_nan=False),
       btc=st.decimals(min_value=-10**6, max_value=10**6, places=8, allow_nan=False),
       mid=st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False))
def test_the_sampled_equity_is_the_exact_sum_digit_for_digit(usd: Decimal, btc: Decimal, mid: Decimal) -> None:
    """The recorder values the account with one fused multiply-add: the very Decimal (digits and
    exponent) that an exact multiply then add gives, which the reports print."""
    r = PerformanceRecorder()
    r.sample(1, mid, usd, btc)
    expected = EXACT.add(usd, EXACT.multiply(btc, mid)) if btc else usd
    assert r.end_equity is not None and r.end_equity.as_tuple() == expected.as_tuple()
