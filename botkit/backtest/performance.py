"""What a backtest earned and how it got there, computed while it runs in constant memory.

:class:`PerformanceRecorder` listens to the simulated venue's fills and is given the account's
equity at every snapshot; :meth:`PerformanceRecorder.result` returns :class:`Performance`.

Definitions (also in ``docs/backtesting.md``):

* **equity**: USD + BTC × mid, at every snapshot that has both a bid and an ask. Exact.
* ``start_equity``/``end_equity``: at the first and the last such snapshot; ``total_return`` =
  end / start − 1.
* ``realized_pnl``, ``unrealized_pnl``, ``fees``: the strategy's own fills by :mod:`botkit.journal.pnl`
  (the one PnL method, average cost, the same as ``botkit journal pnl`` of the run's journal),
  from a flat position: the BTC held at the start is the benchmark's, not a position of the
  strategy's. ``realized_pnl`` is before fees; ``unrealized_pnl`` is the position still open
  valued at the last mid; ``fees`` is the sum of every fill's fee (USD).
* ``max_drawdown``: the largest fall of equity from its running peak, as a fraction of that peak;
  ``max_drawdown_usd`` the largest fall in USD (the two may come from different falls).
* ``benchmark_end_equity``/``benchmark_return``: buy and hold, the starting balances kept
  untouched and valued at the last mid; what the account would have done with no strategy.
* ``strategy_pnl`` = ``realized_pnl + unrealized_pnl − fees``: what the strategy's own trades
  made, net of fees, apart from the price change of the balances it started with. Exact, so
  ``end_equity = benchmark_end_equity + strategy_pnl`` holds to the last digit, and the equity
  change splits as ``end_equity − start_equity = (benchmark_end_equity − start_equity) +
  realized_pnl + unrealized_pnl − fees``.
* ``sharpe``/``sortino``: from simple returns of equity sampled at the end of fixed bars of
  ``bar_ms`` (one minute by default), between consecutive bars that have snapshots; risk-free
  rate 0. Sharpe divides the mean by the sample standard deviation; Sortino by the downside
  deviation √(mean of min(r, 0)²). Annualized by √(bars in 365 days) only when the run spans at
  least :data:`MIN_ANNUALIZED_MS` (30 days): ×√(bars a year) from an hour of data turns noise into
  a figure like −90. Shorter runs give the per-bar ratio, ``annualized`` is False and the report
  says so. ``None`` when undefined (fewer than two returns, or no variation/no losing bar).
* ``orders``: orders placed; ``fills``: fills; ``fill_ratio``: orders that filled at least in
  part ÷ orders placed.
* ``win_rate``: per round trip under average cost: of the fills that closed (part of) the
  strategy's position, the share whose realized PnL beat their own fee (``PnL.win_rate``).
* ``exposure``: the share of the run's time (snapshot to snapshot) during which BTC holdings
  differed from the starting holdings.
* ``turnover``: traded notional ÷ start equity; ``traded_notional`` the USD amount itself.

Money fields are exact :class:`~decimal.Decimal`; ratios are ``float``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from botkit.config import default
from botkit.core.money import EXACT, mul, sub
from botkit.journal.pnl import PnL
from botkit.model import ZERO, Fill, Order, Side

YEAR_MS = 365 * 24 * 3600 * 1000
DEFAULT_BAR_MS = default("backtest", "bar_seconds") * 1000
MIN_ANNUALIZED_MS = 30 * 24 * 3600 * 1000
"""Shortest run whose Sharpe and Sortino are annualized; shorter ones are reported per bar."""


@dataclass(frozen=True, slots=True)
class Performance:
    """A backtest's statistics (the report's metrics), defined in the module docstring. Named apart
    from :class:`botkit.daemon.metrics.Metrics`, the daemon's Prometheus metrics."""

    start_ts: int | None
    end_ts: int | None
    snapshots: int
    start_equity: Decimal | None
    end_equity: Decimal | None
    total_return: float | None
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    max_drawdown: float
    max_drawdown_usd: Decimal
    sharpe: float | None
    sortino: float | None
    orders: int
    fills: int
    fill_ratio: float | None
    win_rate: float | None
    exposure: float
    turnover: float | None
    traded_notional: Decimal
    maker_fills: int
    taker_fills: int
    bar_ms: int
    returns: int
    """How many bar returns Sharpe and Sortino were computed from."""
    annualized: bool
    """Sharpe and Sortino are annualized (the run spans at least 30 days); else they are per bar."""
    benchmark_end_equity: Decimal | None
    """The starting balances held untouched, valued at the last mid (buy and hold)."""
    benchmark_return: float | None
    strategy_pnl: Decimal
    """The strategy's trading PnL net of fees (open position at the last mid), without the holding's."""

    MONEY = ("start_equity", "end_equity", "realized_pnl", "unrealized_pnl", "fees", "max_drawdown_usd",
             "traded_notional", "benchmark_end_equity", "strategy_pnl")

    def ratio_note(self) -> str | None:
        """Why Sharpe and Sortino are not annualized (None when they are, or cannot be computed)."""
        if self.annualized or self.returns < 2:
            return None
        span = (self.end_ts or 0) - (self.start_ts or 0)
        return (f"sharpe and sortino are per {self.bar_ms / 1000:g} s bar, not annualized: the run spans "
                f"{_span_text(span)}, under the {MIN_ANNUALIZED_MS // 86_400_000} days an annualized figure needs")


def _span_text(ms: int) -> str:
    if ms >= 86_400_000:
        return f"{ms / 86_400_000:.1f} days"
    if ms >= 3_600_000:
        return f"{ms / 3_600_000:.1f} h"
    return f"{ms / 60_000:.1f} min"


P = TypeVar("P", bound=tuple[object, ...])
"""A point of a :class:`Series`: a tuple whose first item is its ts (epoch ms)."""


class Series(Generic[P]):
    """At most ``capacity`` points of a long series, evenly thinned.

    Every ``stride``-th point is kept; when ``capacity`` points are held, every other one is
    dropped and the stride doubles. A plot of a million snapshots costs the memory of a few
    thousand points, and the same input always thins the same way. The caller adds the exact
    last point itself (:meth:`finish`).
    """

    __slots__ = ("capacity", "count", "points", "stride")

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self.points: list[P] = []
        self.stride = 1
        self.count = 0

    def due(self) -> bool:
        """Count one more point; True when this one is to be kept (then call :meth:`append`)."""
        keep = self.count % self.stride == 0
        self.count += 1
        return keep

    def append(self, point: P) -> None:
        self.points.append(point)
        if len(self.points) >= self.capacity:
            del self.points[1::2]
            self.stride *= 2

    def finish(self, point: P) -> None:
        """Make ``point`` the last one (the run's exact end)."""
        if not self.points or self.points[-1][0] != point[0]:
            self.points.append(point)


class PerformanceRecorder:
    """A venue listener that also samples equity; memory does not grow with the snapshots."""

    def __init__(self, *, bar_ms: int = DEFAULT_BAR_MS, plot_points: int = 4096, fill_points: int = 4096,
                 keep_trades: bool = False) -> None:
        self.bar_ms = bar_ms
        self.keep_trades = keep_trades
        self.fill_pnl: list[Decimal] = []
        """With ``keep_trades``: each fill's realized PnL less its fee, in order (exact)."""
        self.bar_returns: list[float] = []
        """With ``keep_trades``: each bar's simple return of equity, in order."""
        self.snapshots = 0
        self.start_ts: int | None = None
        self.end_ts: int | None = None
        self.start_equity: Decimal | None = None
        self.end_equity: Decimal | None = None
        self.start_btc: Decimal | None = None
        self.start_usd: Decimal | None = None
        self.end_mid: Decimal | None = None
        self._peak = ZERO
        self._fall_to_beat = ZERO
        self.max_drawdown = ZERO
        self.max_drawdown_usd = ZERO
        # bars
        self._bar = -1
        self._bar_equity: Decimal | None = None
        self._prev_bar_equity: Decimal | None = None
        self._n = 0
        self._mean = 0.0
        self._m2 = 0.0
        self._down2 = 0.0
        # exposure
        self._last_ts: int | None = None
        self._exposed = False
        self.exposed_ms = 0
        # fills
        self.fills = 0
        self.maker_fills = 0
        self.taker_fills = 0
        self.filled_orders = 0
        self.trading = PnL()
        """The strategy's own fills from a flat position (realized, fees, volume, win rate), apart from the holding."""
        self._dirty = True
        self._equity = ZERO
        self.equity_series: Series[tuple[int, float, float]] = Series(plot_points)
        """(ts, equity, mid) for the plot."""
        self.fill_series: Series[tuple[int, float, float]] = Series(fill_points)
        """(ts, price, +1 buy / -1 sell) for the plot."""

    # ------------------------------------------------------------------ venue listener

    def on_fill(self, fill: Fill, side: Side) -> None:
        self.fills += 1
        if fill.seq == 0:
            self.filled_orders += 1
        if fill.liquidity.value == "maker":
            self.maker_fills += 1
        else:
            self.taker_fills += 1
        realized = self.trading.add(side, fill.price, fill.quantity, fill.fee)
        if self.keep_trades:
            self.fill_pnl.append(EXACT.subtract(realized, fill.fee))
        self._dirty = True
        if self.fill_series.due():
            self.fill_series.append((fill.ts, float(fill.price), 1.0 if side is Side.BUY else -1.0))

    def on_order_closed(self, order: Order) -> None:
        """Nothing to do: orders are counted by the venue."""

    # ------------------------------------------------------------------ equity

    def begin(self, ts: int, mid: Decimal | None, usd: Decimal, btc: Decimal) -> None:
        """The account before the first tick: the start equity and the benchmark's balances.

        Without it, the first :meth:`sample` (taken after the first tick, which may already have
        traded) is the start.
        """
        if mid is None:
            return
        self.start_ts = ts
        self.start_btc = btc
        self.start_usd = usd
        equity = btc.fma(mid, usd, EXACT)
        self.start_equity = self.end_equity = self._peak = self._bar_equity = equity
        self._bar = 0
        self.end_ts = ts
        self.end_mid = mid
        self._dirty = False

    def sample(self, ts: int, mid: Decimal | None, usd: Decimal, btc: Decimal) -> None:
        """Record the account at one snapshot (``mid`` None: no two-sided book, nothing valued).

        Called once per snapshot, so it is kept to a few comparisons when nothing changed.
        """
        self.snapshots += 1
        last = self._last_ts
        if last is not None and self._exposed:
            self.exposed_ms += ts - last
        self._last_ts = ts
        if mid is None:
            return
        if self.start_ts is None:
            self.start_ts = ts
            self.start_btc = btc
            self.start_usd = usd
        self.end_ts = ts
        self.end_mid = mid
        if btc:
            # usd + btc × mid, exact: one fused multiply-add (a third of the cost of the two
            # context calls; the same digits and exponent, as an exact result has no rounding).
            equity = btc.fma(mid, usd, EXACT)
        elif self._dirty or self.start_equity is None:
            equity = usd
            self._dirty = False
        else:
            equity = self.end_equity  # type: ignore[assignment] # unchanged: no fill, no BTC
        self._exposed = btc != self.start_btc
        if self.start_equity is None:
            self.start_equity = equity
            self._peak = equity
        self.end_equity = equity
        peak = self._peak
        if equity > peak:
            self._peak = equity
            self._fall_to_beat = mul(equity, self.max_drawdown) if self.max_drawdown else ZERO
        elif equity < peak:
            fall = sub(peak, equity)
            self.max_drawdown_usd = max(self.max_drawdown_usd, fall)
            if fall > self._fall_to_beat:  # fall / peak > max_drawdown, without dividing every time
                self.max_drawdown = fall / peak
                self._fall_to_beat = fall
        bar = (ts - self.start_ts) // self.bar_ms
        if bar != self._bar:
            self._close_bar()
            self._bar = bar
        self._bar_equity = equity
        series = self.equity_series  # its due(), inline: this runs at every snapshot
        if not series.count % series.stride:
            series.append((ts, float(equity), float(mid)))
        series.count += 1

    def _close_bar(self) -> None:
        equity = self._bar_equity
        if equity is None:
            return
        previous = self._prev_bar_equity
        self._prev_bar_equity = equity
        if previous is None or not previous:
            return
        r = float(equity / previous - 1)
        if self.keep_trades:
            self.bar_returns.append(r)
        self._n += 1
        delta = r - self._mean
        self._mean += delta / self._n
        self._m2 += delta * (r - self._mean)
        if r < 0:
            self._down2 += r * r

    # ------------------------------------------------------------------ result

    def result(self, orders: int) -> Performance:
        """The metrics so far; ``orders`` is how many orders were placed."""
        self._close_bar()
        self._bar_equity = None
        if self.end_equity is not None and self.end_ts is not None and self.end_mid is not None:
            self.equity_series.finish((self.end_ts, float(self.end_equity), float(self.end_mid)))
        span = (self.end_ts or 0) - (self.start_ts or 0)
        annualized = span >= MIN_ANNUALIZED_MS
        per_year = math.sqrt(YEAR_MS / self.bar_ms) if annualized else 1.0
        sharpe = sortino = None
        if self._n >= 2:
            std = math.sqrt(self._m2 / (self._n - 1))
            if std > 0:
                sharpe = self._mean / std * per_year
            down = math.sqrt(self._down2 / self._n)
            if down > 0:
                sortino = self._mean / down * per_year
        trading = self.trading
        unrealized = ZERO if self.end_mid is None else trading.unrealized(self.end_mid)
        duration = (self._last_ts or 0) - (self.start_ts or 0)
        start, end = self.start_equity, self.end_equity
        benchmark = self.benchmark(self.end_mid)
        return Performance(
            start_ts=self.start_ts,
            end_ts=self.end_ts,
            snapshots=self.snapshots,
            start_equity=start,
            end_equity=end,
            total_return=float(end / start - 1) if start and end is not None else None,
            realized_pnl=trading.realized,
            unrealized_pnl=unrealized,
            fees=trading.fees,
            max_drawdown=float(self.max_drawdown),
            max_drawdown_usd=self.max_drawdown_usd,
            sharpe=sharpe,
            sortino=sortino,
            orders=orders,
            fills=self.fills,
            fill_ratio=self.filled_orders / orders if orders else None,
            win_rate=trading.win_rate,
            exposure=self.exposed_ms / duration if duration > 0 else 0.0,
            turnover=float(trading.volume / start) if start else None,
            traded_notional=trading.volume,
            maker_fills=self.maker_fills,
            taker_fills=self.taker_fills,
            bar_ms=self.bar_ms,
            returns=self._n,
            annualized=annualized,
            benchmark_end_equity=benchmark,
            benchmark_return=float(benchmark / start - 1) if start and benchmark is not None else None,
            strategy_pnl=EXACT.add(trading.net, unrealized),
        )

    def benchmark(self, mid: Decimal | None) -> Decimal | None:
        """Buy and hold: the starting balances, untouched, valued at ``mid``."""
        if mid is None or self.start_usd is None or self.start_btc is None:
            return None
        return self.start_btc.fma(mid, self.start_usd, EXACT)
