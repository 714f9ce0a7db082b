"""Binance's public data dumps (data.binance.vision): spot and USD-M futures ``trades``,
``aggTrades`` and ``bookTicker``, and USD-M ``bookDepth``, in their documented columns.

==============  =========================================================================
file            columns (USD-M files have this header line; spot files have none)
==============  =========================================================================
trades (spot)   ``id, price, qty, quoteQty, time, isBuyerMaker, isBestMatch``
trades (USD-M)  ``id,price,qty,quote_qty,time,is_buyer_maker``
aggTrades spot  ``aggTradeId, price, qty, firstTradeId, lastTradeId, time, isBuyerMaker, isBestMatch``
aggTrades USD-M ``agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker``
bookTicker      ``update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,transaction_time,event_time``
bookDepth       ``timestamp,percentage,depth,notional`` (USD-M only)
==============  =========================================================================

A file without a header is told by its name (``BTCUSDT-trades-2024-01-01.csv``, as downloaded;
the symbol is the name's first part unless ``--symbol`` says it). Times are milliseconds, except
spot files from 2025 on, which are microseconds: a time of 15 digits or more is read as µs.
``isBuyerMaker`` true means the taker sold. The ``.zip`` as downloaded is read as it is.

``bookDepth`` is not a book of prices: each row is the cumulative quantity (``depth``) and
notional within ``percentage`` % of the mid, five bands a side. It becomes one level a band: its
quantity the band's own depth (exact: a difference of two recorded numbers), its price the band's
average (notional / depth of the band) rounded *away from the mid* onto the instrument's price grid
(bids down, asks up). Those prices are therefore approximate, the only ones any importer makes up;
docs/data.md says so. Bands of zero depth are no level.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path

from botkit.core.errors import DataFileError
from botkit.data.importers import rows as common
from botkit.model import BookLevel, Side

_HEADERS: dict[tuple[str, ...], str] = {
    ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker"): "trades",
    ("agg_trade_id", "price", "quantity", "first_trade_id", "last_trade_id", "transact_time",
     "is_buyer_maker"): "aggTrades",
    ("update_id", "best_bid_price", "best_bid_qty", "best_ask_price", "best_ask_qty", "transaction_time",
     "event_time"): "bookTicker",
    ("timestamp", "percentage", "depth", "notional"): "bookDepth",
}
_NAMED = {"trades": 7, "aggTrades": 8, "bookTicker": 7}
"""Headerless (spot) files: the layout named in the file name, and its column count."""
_MICROS = 10**14
"""A time this large is microseconds (as milliseconds it would be the year 5138)."""


def _ms(text: str, what: str) -> int:
    value = common.whole(text, what)
    return value // 1000 if value >= _MICROS else value


def _taker(text: str) -> Side:
    word = text.strip().lower()
    if word == "true":
        return Side.SELL
    if word == "false":
        return Side.BUY
    raise common.RowError(f"is_buyer_maker is {text[:20]!r}, not true or false")


class BinanceFile:
    """One Binance dump file (:class:`~.rows.Source`)."""

    def __init__(self, path: Path, problems: common.Problems, clock: common.Clock, *, symbol: str | None,
                 exchange: str | None) -> None:
        self.path = path
        self.problems = problems
        self.clock = clock
        self.zero_levels = 0
        self.price_increment: Decimal | None = None
        """The instrument's price grid, which bookDepth's band prices are rounded onto (set once the
        instrument is known, before the rows are read)."""
        self._records = common.records(path, problems)
        first = next(self._records, None)
        if first is None:
            raise DataFileError(f"{path}: empty file")
        header = tuple(cell.strip() for cell in first[1])
        self.has_header = header in _HEADERS
        if self.has_header:
            self.layout = _HEADERS[header]
            self._first: tuple[int, list[str]] | None = None
        else:
            self.layout = self._named(len(header))
            self._first = first
        self.kind: common.Kind = "book" if self.layout in ("bookTicker", "bookDepth") else "trades"
        self.levels = 5 if self.layout == "bookDepth" else 1 if self.kind == "book" else 0
        self.symbol = symbol or path.name.split("-")[0]
        self.exchange = exchange or ("binance-futures" if self.has_header else "binance")

    def _named(self, width: int) -> str:
        parts = self.path.name.split("-")
        layout = parts[1] if len(parts) > 2 else ""
        if layout not in _NAMED or _NAMED[layout] != width:
            raise DataFileError(
                f"{self.path}:1: unknown shape: {width} columns and no header this importer knows; a Binance "
                "dump is trades, aggTrades, bookTicker (or USD-M bookDepth) with its documented columns, and a "
                "spot file keeps its downloaded name (SYMBOL-trades-DATE.csv) so that its layout is known")
        return layout

    def rows(self) -> Iterator[common.Row]:
        def all_records() -> Iterator[tuple[int, list[str]]]:
            if self._first is not None:
                yield self._first
            yield from self._records

        if self.layout == "bookDepth":
            yield from self._depth_rows(all_records())
            return
        parse = {"trades": self._trade, "aggTrades": self._agg, "bookTicker": self._ticker}[self.layout]
        width = len(self._first[1]) if self._first is not None else len(next(k for k, v in _HEADERS.items()
                                                                              if v == self.layout))
        for line, row in all_records():
            try:
                if len(row) != width:
                    raise common.RowError(f"{len(row)} columns where a {self.layout} row has {width}")
                yield parse(row, line)
            except common.RowError as exc:
                self.problems.bad(self.path, line, str(exc))

    def _trade(self, row: list[str], line: int) -> common.Row:
        return common.TradeRow(_ms(row[4], "time"), common.positive(row[1], "price"), common.positive(row[2], "qty"),
                               _taker(row[5]), line)

    def _agg(self, row: list[str], line: int) -> common.Row:
        return common.TradeRow(_ms(row[5], "time"), common.positive(row[1], "price"),
                               common.positive(row[2], "quantity"), _taker(row[6]), line)

    def _ticker(self, row: list[str], line: int) -> common.Row:
        bids, zero_b = common.levels_of([(row[1], row[2])], "bids", True)
        asks, zero_a = common.levels_of([(row[3], row[4])], "asks", False)
        self.zero_levels += zero_b + zero_a
        column = 6 if self.clock == "local" else 5
        return common.BookRow(_ms(row[column], "event_time" if column == 6 else "transaction_time"), bids, asks, line)

    def _depth_rows(self, rows: Iterator[tuple[int, list[str]]]) -> Iterator[common.Row]:
        """One book a timestamp: the rows of one time are its bands."""
        group: list[tuple[Decimal, Decimal, Decimal]] = []
        group_time = ""
        group_line = 0
        for line, row in rows:
            try:
                if len(row) != 4:
                    raise common.RowError(f"{len(row)} columns where a bookDepth row has 4")
                if row[0] != group_time and group:
                    book = self._depth_book(group_time, group, group_line)
                    group = []
                    if book is not None:
                        yield book
                if not group:
                    group_time, group_line = row[0], line
                pct = row[1].strip()
                signed = pct.startswith("-")
                band = common.number(pct[1:] if signed else pct, "percentage")
                depth, notional = common.number(row[2], "depth"), common.number(row[3], "notional")
                group.append((-band if signed else band, depth, notional))
            except common.RowError as exc:
                self.problems.bad(self.path, line, str(exc))
        if group:
            book = self._depth_book(group_time, group, group_line)
            if book is not None:
                yield book

    def _depth_book(self, when: str, bands: list[tuple[Decimal, Decimal, Decimal]], line: int) -> common.BookRow | None:
        try:
            stamp = datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            self.problems.bad(self.path, line, f"timestamp {when[:40]!r} is not YYYY-MM-DD HH:MM:SS")
            return None
        ts = int(stamp.timestamp()) * 1000
        sides = []
        for bids in (True, False):
            chosen = sorted((abs(p), d, n) for p, d, n in bands if (p < 0) == bids)
            levels: list[BookLevel] = []
            depth = notional = Decimal(0)
            for pct, cum_depth, cum_notional in chosen:
                qty, value = cum_depth - depth, cum_notional - notional
                if qty < 0 or value < 0:
                    self.problems.bad(self.path, line, f"the {pct}% band's depth or notional is below the band "
                                      "inside it (bookDepth is cumulative)")
                    return None
                depth, notional = cum_depth, cum_notional
                if not qty:
                    self.zero_levels += 1
                    continue
                step = self.price_increment
                assert step is not None, "set price_increment before reading a bookDepth file"
                price = (value / qty / step).to_integral_value(ROUND_FLOOR if bids else ROUND_CEILING) * step
                if levels and ((price >= levels[-1].price) if bids else (price <= levels[-1].price)):
                    price = levels[-1].price + (-step if bids else step)
                if price <= 0:
                    continue
                levels.append(BookLevel(price, qty))
            sides.append(tuple(levels))
        return common.BookRow(ts, sides[0], sides[1], line)
