"""What ``report.html`` draws beyond the metrics' series: the position and the book's depth over time.

Fed by the replay loop only when a report is asked for (one ``None`` check a snapshot otherwise).
Kept as floats: these are pictures, the money stays exact in the metrics and the CSVs. Both series
thin themselves like the equity curve (:class:`~botkit.backtest.performance.Series`), so a run of
any length costs a fixed memory and gives a report of a fixed size: at most ``depth_points``
samples of ``levels`` levels a side for the heatmap. A lazily read snapshot builds its book only
for the samples kept.
"""

from __future__ import annotations

from decimal import Decimal

from botkit.backtest.performance import Series
from botkit.model import BookLevel, Snapshot

Side = tuple[tuple[float, float], ...]
"""A side's top levels, best first: (price, quantity)."""
DepthPoint = tuple[int, Side, Side]
"""(ts, bids, asks)."""


def _top(levels: tuple[BookLevel, ...], count: int) -> Side:
    return tuple((float(level.price), float(level.quantity)) for level in levels[:count])


class BookSampler:
    """Every kept snapshot's BTC balance, and its top ``levels`` levels on each side."""

    __slots__ = ("depth", "levels", "position")

    def __init__(self, *, levels: int = 20, depth_points: int = 500, position_points: int = 4096) -> None:
        self.levels = levels
        self.position: Series[tuple[int, float]] = Series(position_points)
        """(ts, BTC held) after each kept snapshot's tick."""
        self.depth: Series[DepthPoint] = Series(depth_points)

    def observe(self, snapshot: Snapshot, btc: Decimal) -> None:
        """One replayed snapshot, after its tick, with the account's BTC then."""
        if self.position.due():
            self.position.append((snapshot.ts, float(btc)))
        if self.depth.due():
            book = snapshot.book
            self.depth.append((snapshot.ts, _top(book.bids, self.levels), _top(book.asks, self.levels)))

    def finish(self, snapshot: Snapshot, btc: Decimal) -> None:
        """Make the run's last snapshot the position's last point (the depth's may stop short)."""
        self.position.finish((snapshot.ts, float(btc)))
