"""Bars (OHLCV candles) built from the snapshots and trades the engine sees, the same live, on
paper and in a backtest.

A timeframe is a whole number of seconds, minutes, hours or days (``"15s"``, ``"1m"``, ``"4h"``,
``"1d"``). Bars are aligned to multiples of the timeframe since the Unix epoch, so minutes, hours
and days start on UTC boundaries. Each trade counts once (the exchange's overlapping trade lists
are read through :class:`botkit.model.TradeCursor`) and belongs to the bar its own timestamp
falls in, even when it arrives with the snapshot that closes that bar. A bar is closed by the
first snapshot at or after its ``end``.

A bar without trades is made from the mids of the snapshots seen in it (``from_mid``); one for
which botkit saw neither trades nor a book is ``missing``: its prices are None, never made up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from botkit.core.times import UNIT_MS
from botkit.model import ZERO, OrderBook, Snapshot, Trade, TradeCursor

DEFAULT_KEEP = 500
"""Bars of history kept per timeframe when a strategy does not say (its ``HISTORY``)."""
BOOK_DEPTH = 5
"""Levels per side summed for ``Bar.imbalance``."""

_TIMEFRAME = re.compile(r"([1-9][0-9]{0,5})([smhd])")


def timeframe_ms(timeframe: str) -> int:
    """The length of a timeframe in milliseconds; ValueError (saying what is accepted) otherwise."""
    match = _TIMEFRAME.fullmatch(timeframe) if isinstance(timeframe, str) else None
    if match is None:
        raise ValueError(f"timeframe {timeframe!r} does not parse: use a whole number and one of s, m, h, d "
                         "(e.g. \"1m\", \"15m\", \"4h\")")
    return int(match.group(1)) * UNIT_MS[match.group(2)]


def bar_start(ts: int, length_ms: int) -> int:
    """The start of the bar that ``ts`` falls in (bars are aligned to the epoch, hence to UTC)."""
    return ts - ts % length_ms


@dataclass(frozen=True, slots=True)
class Bar:
    """One closed bar. Prices and volumes are exact; ``imbalance`` (a ratio) is a float."""

    timeframe: str
    start: int
    """Epoch ms, inclusive."""
    end: int
    """Epoch ms, exclusive."""
    open: Decimal | None
    high: Decimal | None
    low: Decimal | None
    close: Decimal | None
    volume: Decimal = ZERO
    """BTC traded in the bar."""
    quote_volume: Decimal = ZERO
    """USD traded in the bar (sum of price × quantity)."""
    trades: int = 0
    vwap: Decimal | None = None
    """quote_volume / volume; None without trades."""
    from_mid: bool = False
    """No trades in the bar: open/high/low/close are the mids of the snapshots seen in it."""
    missing: bool = False
    """botkit saw neither trades nor a book in this bar (a gap): the prices are None."""
    mid: Decimal | None = None
    """The book at the bar's close (the last snapshot inside it): mid, microprice, spread and the
    top-``BOOK_DEPTH`` imbalance; all None when no snapshot fell inside the bar."""
    microprice: Decimal | None = None
    spread: Decimal | None = None
    imbalance: float | None = None
    """(bid size − ask size) / (bid size + ask size) over the top levels, in [-1, 1]."""


@dataclass(frozen=True, slots=True)
class BookState:
    """The L2 features a bar keeps from the book at its close."""

    mid: Decimal | None
    microprice: Decimal | None
    spread: Decimal | None
    imbalance: float | None

    @classmethod
    def of(cls, book: OrderBook, depth: int = BOOK_DEPTH) -> BookState:
        if not book.bids or not book.asks:
            return cls(None, None, None, None)
        bid, ask = book.bids[0], book.asks[0]
        touch = bid.quantity + ask.quantity
        # Weighted towards the side with less size: where the price is about to move.
        microprice = (bid.price * ask.quantity + ask.price * bid.quantity) / touch if touch else None
        bid_size = sum((level.quantity for level in book.bids[:depth]), ZERO)
        ask_size = sum((level.quantity for level in book.asks[:depth]), ZERO)
        total = bid_size + ask_size
        imbalance = float((bid_size - ask_size) / total) if total else None
        return cls((bid.price + ask.price) / 2, microprice, ask.price - bid.price, imbalance)


NO_BOOK = BookState(None, None, None, None)


class _Trades:
    """Running OHLCV figures of some trades: a bar's, or one snapshot's new trades (added to each
    timeframe's bar at once when they all fall in it, the usual case)."""

    __slots__ = ("close", "high", "low", "open", "quote", "trades", "volume")

    def __init__(self) -> None:
        self.open = self.high = self.low = self.close = ZERO
        self.volume = ZERO
        self.quote = ZERO
        self.trades = 0

    def add_trade(self, trade: Trade) -> None:
        price = trade.price
        if not self.trades:
            self.open = self.high = self.low = price
        elif price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.volume += trade.quantity
        self.quote += price * trade.quantity
        self.trades += 1

    def merge(self, later: _Trades) -> None:
        """Add trades that came after these."""
        if not self.trades:
            self.open, self.high, self.low = later.open, later.high, later.low
        else:
            self.high = max(self.high, later.high)
            self.low = min(self.low, later.low)
        self.close = later.close
        self.volume += later.volume
        self.quote += later.quote
        self.trades += later.trades


class _Open(_Trades):
    """A bar being built: its trades' figures, the mids of the snapshots inside it (used only if
    it gets no trade) and the last snapshot inside it (whose book is kept at the close)."""

    __slots__ = ("last", "mid_close", "mid_high", "mid_low", "mid_open", "mids")

    def __init__(self) -> None:
        super().__init__()
        self.mid_open = self.mid_high = self.mid_low = self.mid_close = ZERO
        self.mids = 0
        self.last: Snapshot | None = None

    def add_mid(self, mid: Decimal | None) -> None:
        if mid is None:
            return
        if not self.mids:
            self.mid_open = self.mid_high = self.mid_low = mid
        elif mid > self.mid_high:
            self.mid_high = mid
        elif mid < self.mid_low:
            self.mid_low = mid
        self.mid_close = mid
        self.mids += 1

    def bar(self, timeframe: str, start: int, end: int, complete: bool) -> Bar:
        book = NO_BOOK if self.last is None else BookState.of(self.last.book)
        if complete and self.trades:
            return Bar(timeframe, start, end, self.open, self.high, self.low, self.close, self.volume, self.quote,
                       self.trades, self.quote / self.volume if self.volume else None,
                       mid=book.mid, microprice=book.microprice, spread=book.spread, imbalance=book.imbalance)
        if complete and self.mids:
            return Bar(timeframe, start, end, self.mid_open, self.mid_high, self.mid_low, self.mid_close,
                       from_mid=True,
                       mid=book.mid, microprice=book.microprice, spread=book.spread, imbalance=book.imbalance)
        return missing_bar(timeframe, start, end)


def missing_bar(timeframe: str, start: int, end: int) -> Bar:
    return Bar(timeframe, start, end, None, None, None, None, missing=True)


class _Timeframe:
    """One timeframe's open bars and the start of the next bar to emit."""

    __slots__ = ("complete_from", "current", "current_end", "keep", "length", "name", "next_start", "open")

    def __init__(self, name: str, keep: int) -> None:
        self.name = name
        self.length = timeframe_ms(name)
        self.keep = keep
        """A run of gap bars longer than this (a bot down for days) is cut to its last ``keep``."""
        self.next_start = -1
        """Start of the next bar to emit; -1 until the first snapshot or a restored history."""
        self.complete_from = 0
        """Bars starting before this are missing: the trades botkit saw do not reach back over them."""
        self.open: dict[int, _Open] = {}
        self.current = _Open()
        self.current_end = -1

    def close_until(self, ts: int, out: list[Bar]) -> None:
        """Emit every bar ending at or before ``ts``, gaps included, in time order."""
        length = self.length
        start = self.next_start
        last = bar_start(ts, length)
        while start < last:
            building = self.open.pop(start, None)
            if building is None:  # a run of gap bars, up to the next bar that saw something
                upto = min((s for s in self.open if s > start), default=last)
                upto = min(upto, last)
                first = max(start, upto - self.keep * length)
                out.extend(missing_bar(self.name, s, s + length) for s in range(first, upto, length))
                start = upto
            else:
                out.append(building.bar(self.name, start, start + length, start >= self.complete_from))
                start += length
        self.next_start = start


class BarBuilder:
    """Turns the engine's stream of snapshots into closed bars of each declared timeframe.

    :meth:`update` is called once per tick with that tick's snapshot and returns the bars it
    closed, ordered by end time (a shorter timeframe first when two end together). ``keep`` bounds
    how many bars of one timeframe a single long gap produces (those older are of no use to a
    history of that length).
    """

    def __init__(self, timeframes: Iterable[str], keep: Mapping[str, int] | None = None) -> None:
        names = list(dict.fromkeys(timeframes))
        self._frames = sorted((_Timeframe(name, (keep or {}).get(name, DEFAULT_KEEP)) for name in names),
                              key=lambda frame: frame.length)
        self._cursor = TradeCursor()
        self._started = False

    @property
    def timeframes(self) -> tuple[str, ...]:
        return tuple(frame.name for frame in self._frames)

    def resume(self, timeframe: str, end: int) -> None:
        """Continue after a restored history whose last bar of ``timeframe`` ended at ``end``:
        the next bar starts there, and the gap until the first snapshot is filled from the trades
        that snapshot lists, as far back as they reach (missing bars before that)."""
        for frame in self._frames:
            if frame.name == timeframe:
                frame.next_start = end

    def update(self, snapshot: Snapshot) -> list[Bar]:
        ts = snapshot.ts
        trades = self._cursor.new_trades(snapshot)
        if not self._started:
            self._start(snapshot, trades)
        frames = self._frames
        if trades:
            self._add_trades(trades)
        closed: list[Bar] = []
        mid: Decimal | None = None
        mid_known = False  # computed once, and only for a bar without trades (the others need none)
        for frame in frames:
            if ts >= frame.current_end:
                start = ts - ts % frame.length
                if start > frame.next_start:
                    frame.close_until(ts, closed)
                frame.current_end = start + frame.length
                if start >= frame.next_start:
                    current = frame.open.get(start)
                    if current is None:
                        current = frame.open[start] = _Open()
                    frame.current = current
                else:  # the partial bar before a cold start's first whole one: seen, never emitted
                    frame.current = _Open()
            current = frame.current
            current.last = snapshot
            if not current.trades:
                if not mid_known:
                    mid, mid_known = snapshot.mid, True
                current.add_mid(mid)
        if len(closed) > 1 and len(frames) > 1:
            closed.sort(key=lambda bar: (bar.end, bar.end - bar.start))
        return closed

    def _add_trades(self, trades: list[Trade]) -> None:
        """Each new trade into its bar of each timeframe; when a snapshot's trades all fall in one
        bar of a timeframe (the usual case), their figures are summed once and added to it."""
        first, last = trades[0].ts, trades[-1].ts
        summed: _Trades | None = None
        for frame in self._frames:
            length = frame.length
            if first >= frame.next_start and first - first % length == last - last % length:
                if summed is None:
                    summed = _Trades()
                    for trade in trades:
                        summed.add_trade(trade)
                start = first - first % length
                building = frame.open.get(start)
                if building is None:
                    building = frame.open[start] = _Open()
                building.merge(summed)
                continue
            for trade in trades:
                t = trade.ts
                if t >= frame.next_start:
                    start = t - t % length
                    building = frame.open.get(start)
                    if building is None:
                        building = frame.open[start] = _Open()
                    building.add_trade(trade)

    def _start(self, snapshot: Snapshot, trades: list[Trade]) -> None:
        """The first snapshot: a cold start begins with the first whole bar after it; a resumed
        history's gap counts as complete from the oldest trade this snapshot lists (a full list
        may have been cut there, so the bar holding that trade is a gap too)."""
        self._started = True
        ts = snapshot.ts
        oldest = trades[0].ts if trades else ts
        for frame in self._frames:
            if frame.next_start < 0:
                first = bar_start(ts, frame.length)
                frame.next_start = first if first == ts else first + frame.length
                frame.complete_from = frame.next_start
            else:
                frame.complete_from = frame.next_start if oldest < frame.next_start else oldest + 1
