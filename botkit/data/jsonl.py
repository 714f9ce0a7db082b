"""Snapshot files in JSON Lines: one snapshot a line, exactly what the exchange returned.

::

    {"ts": 1700000000000,
     "ticker": {"currency": "USD", "last": 404.12, "bid": 403.98, "ask": 404.22},
     "orderbook": {"bid": [{"price": 403.98, "quantity": 1.5}, ...], "ask": [...],
                   "price_currency": "USD", "quantity_currency": "BTC"},
     "trades": [{"spent": 0.02, "spentCurrency": "BTC", "earned": 12, "earnedCurrency": "USD",
                 "timestamp": 1410806083687}, ...]}

``ts`` is integer milliseconds (the backtest's clock); ``ticker`` and ``orderbook`` are the bodies
of ``GET /v1/ticker`` and ``GET /v1/orderbook``; ``trades`` is optional (the list of
``GET /v1/trades``, newest first; the whole body ``{"trades": [...]}`` is accepted too). The file is
gzip-compressed when its name ends in ``.gz``.

Reading is exact and fast. Lines are decoded by msgspec against a typed schema, so the structure
of the line, the ticker and the integer ``ts`` are checked in C, while every price and quantity is
kept as its raw JSON text (``msgspec.Raw``) and becomes a :class:`~decimal.Decimal` *from that
text* only when something reads it: no number ever passes through a binary float. The order book
is kept as raw text too: its best bid and ask are read straight from the text (when it has the
exchange's usual layout; otherwise the book is decoded at once), and its levels are decoded the
first time something asks for them.

What the engine needs on every tick is checked when the line is read: JSON syntax, the line's
structure, currencies, time order, and that the best bid and ask are positive numbers that do
not cross. The book's levels, the ticker and the trades are checked the first time they are
built, with the same rules as the live client (:mod:`botkit.client.parse`), and a bad one raises
:class:`~botkit.core.errors.DataFileError` naming the file and line. ``botkit data check`` (and
conversion to the fast store) builds everything, so it checks every line in full.

Lines are bounded before they are parsed. A line longer than :data:`MAX_LINE_BYTES` (decoded: a
gzip bomb is stopped at the limit, and the rest of the line is read past in pieces, never held),
or nesting lists and objects deeper than :data:`MAX_NESTING`, is unreadable. The parser is not
trusted with depth: msgspec recurses in C once a level, guarded only by Python's recursion
limit, which a raised limit or a small thread stack turns into a crash (msgspec issue 1033).

An unreadable line is logged with its line number and skipped, or raises ``DataFileError`` when the
reader is strict. A gzip file cut short (a recorder that was killed) yields every complete line and
then reports the truncation.

A file may begin with one header line, ``{"botkit:instrument": {...}}``: the market the snapshots
are of (:class:`botkit.instrument.Instrument`, numbers as strings). A file without it (every file
written before instruments existed) is a Buttercoin BTC_USD recording: :func:`read_instrument`.

Writing flushes every line by default, so a killed recorder loses at most the line it was writing.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import IO, Any, cast

import msgspec
import numpy as np

from botkit.client import parse
from botkit.client.errors import MalformedResponseError
from botkit.core.errors import DataFileError
from botkit.core.jsonutil import decimal_text, dumps
from botkit.core.money import units_to_decimal
from botkit.core.numbers import NumberError, exact_decimal
from botkit.data.badlines import skip_or_raise
from botkit.data.lazy import LazyBook, LazySnapshot, book_level, trade_amounts
from botkit.data.store import (
    PRICE_DECIMALS,
    QUANTITY_DECIMALS,
    USD_DECIMALS,
    UnfitValue,
    Units,
    text_units,
)
from botkit.instrument import BUTTERCOIN, Instrument
from botkit.model import BookLevel, BookUnits, OrderBook, Side, Snapshot, Ticker, Trade

log = logging.getLogger("botkit.backtest")

MAX_LINE_BYTES = 8 << 20
"""The longest line read (after gzip decoding): a snapshot of a 10,000-level book fits in 1 MiB."""
MAX_NESTING = 256
"""The deepest nesting of lists and objects in a line. A snapshot needs 4, but a line with no more
brackets than this cannot nest deeper, which makes the check two counts for books up to about 120
levels a side; and 256 levels are far from what could exhaust a thread's stack."""

_MAX_AMOUNT = parse.MAX_AMOUNT
_MAX_PRICE_UNITS = int(_MAX_AMOUNT.scaleb(PRICE_DECIMALS))
_MAX_QUANTITY_UNITS = int(_MAX_AMOUNT.scaleb(QUANTITY_DECIMALS))
_new = object.__new__
_set = object.__setattr__


# --------------------------------------------------------------------------- wire schema
# The fields after ``trades`` hold what the reader learns; it always overwrites them after decoding.


class _Level(msgspec.Struct, gc=False):
    price: msgspec.Raw
    quantity: msgspec.Raw


class _Ticker(msgspec.Struct, gc=False):
    last: msgspec.Raw
    bid: msgspec.Raw
    ask: msgspec.Raw
    currency: str = "USD"


class _Book(msgspec.Struct, gc=False):
    bid: list[_Level]
    ask: list[_Level]
    price_currency: str = "USD"
    quantity_currency: str = "BTC"


class _Line(msgspec.Struct, gc=False):
    ts: int
    ticker: _Ticker
    orderbook: msgspec.Raw
    """Kept raw: its best bid and ask are read from the text, the levels decoded when needed."""
    trades: msgspec.Raw = msgspec.field(default_factory=msgspec.Raw)
    """Empty when the line has no trades (msgspec cannot type ``Raw | None``)."""
    best_bid: Decimal | None = msgspec.field(default=None, name="botkit:best_bid")
    best_ask: Decimal | None = msgspec.field(default=None, name="botkit:best_ask")
    where: str = msgspec.field(default="", name="botkit:where")
    trades_cell: list[tuple[Trade, ...]] | None = msgspec.field(default=None, name="botkit:trades")
    book: _Book | None = msgspec.field(default=None, name="botkit:book")
    """The decoded order book, once something needed its levels."""
    """Built trades, shared by consecutive lines whose trades are the same text (a polled list)."""


class _WireTrade(msgspec.Struct, gc=False):
    spent: msgspec.Raw
    spentCurrency: str  # noqa: N815 - the wire's spelling
    earned: msgspec.Raw
    earnedCurrency: str  # noqa: N815
    timestamp: int


class _TradesBody(msgspec.Struct, gc=False):
    trades: list[_WireTrade]


_decode_line = msgspec.json.Decoder(_Line).decode
_decode_book = msgspec.json.Decoder(_Book).decode
_decode_trades = msgspec.json.Decoder(list[_WireTrade]).decode
_decode_trades_body = msgspec.json.Decoder(_TradesBody).decode


class _Bad(Exception):
    """A problem with one line; becomes a DataFileError naming the file and line."""


# --------------------------------------------------------------------------- numbers from text

_TEXT_CACHE: dict[bytes, Decimal] = {}
_TEXT_CACHE_LIMIT = 1 << 16


def _amount(raw: msgspec.Raw, what: str, *, positive: bool) -> Decimal:
    """The exact Decimal of a raw JSON value that must be a finite, non-negative number."""
    text = bytes(raw)
    value = _TEXT_CACHE.get(text)
    if value is None:
        if not text or text[0] not in b"0123456789":
            raise _Bad(f"{what} is not a non-negative number: {text[:40].decode('utf-8', 'replace')}")
        try:  # msgspec checked the JSON syntax; the gate bounds digits and exponent before arithmetic
            value = exact_decimal(text.decode("ascii"), what)
        except (InvalidOperation, UnicodeDecodeError):
            raise _Bad(f"{what} is not a number: {text[:40].decode('utf-8', 'replace')}") from None
        except NumberError as exc:
            raise _Bad(str(exc)) from None
        if value > _MAX_AMOUNT:
            raise _Bad(f"{what} is too large to be an amount: {value}")
        if len(_TEXT_CACHE) >= _TEXT_CACHE_LIMIT:
            _TEXT_CACHE.clear()
        _TEXT_CACHE[text] = value
    if positive and not value:
        raise _Bad(f"{what} must be positive")
    return value


def _units(raw: msgspec.Raw, decimals: int, what: str) -> int:
    text = bytes(raw)
    if not text or text[0] not in b"0123456789":
        raise _Bad(f"{what} is not a non-negative number: {text[:40].decode('utf-8', 'replace')}")
    return text_units(text, decimals, what)


def _trade_units(row: _WireTrade, index: int) -> tuple[int, int, int, int]:
    """(ts, satoshis, 10^-10 USD, 1 if the taker sold) of one wire trade, checked like parse.trade."""
    where = f"trades[{index}]"
    spent = _units(row.spent, QUANTITY_DECIMALS if row.spentCurrency == "BTC" else USD_DECIMALS, f"{where}.spent")
    earned = _units(row.earned, USD_DECIMALS if row.spentCurrency == "BTC" else QUANTITY_DECIMALS,
                    f"{where}.earned")
    if not spent or not earned:
        raise _Bad(f"{where} amounts must be positive")
    if row.spentCurrency == "BTC" and row.earnedCurrency == "USD":
        return (row.timestamp, spent, earned, 1)
    if row.spentCurrency == "USD" and row.earnedCurrency == "BTC":
        return (row.timestamp, earned, spent, 0)
    raise _Bad(f"{where}: currencies {row.spentCurrency}/{row.earnedCurrency} are not BTC and USD")


_BOOK_HEAD = b'{"bid":['
_LEVEL_HEAD = b'{"price":'
_ASK_HEAD = b'],"ask":['
_BOOK_TAILS = (b']}', b'],"price_currency":"USD","quantity_currency":"BTC"}')


def _first_price(text: bytes, start: int) -> tuple[bytes | None, bool]:
    """The first level's price text of a side whose ``[`` ends at ``start`` (None: empty side).

    The second value is False when the text is not in the usual shape (then decode the book).
    """
    if text[start : start + 1] == b"]":
        return None, True
    if not text.startswith(_LEVEL_HEAD, start):
        return None, False
    begin = start + len(_LEVEL_HEAD)
    end = text.find(b",", begin)
    if end < 0:
        return None, False
    return text[begin:end], True


def _book_top(text: bytes) -> tuple[bytes | None, bytes | None] | None:
    """The best bid and ask texts of an order book body, read without decoding it.

    Only for the shape the exchange writes (bids, then asks, each level price first, currencies
    USD/BTC or absent): anything else returns None and the book is decoded in full instead.
    """
    if not text.startswith(_BOOK_HEAD) or not text.endswith(_BOOK_TAILS):
        return None
    bid, ok = _first_price(text, len(_BOOK_HEAD))
    if not ok:
        return None
    split = text.find(_ASK_HEAD, len(_BOOK_HEAD))
    if split < 0:
        return None
    ask, ok = _first_price(text, split + len(_ASK_HEAD))
    if not ok:
        return None
    return bid, ask


def _book_of(line: _Line) -> _Book:
    """The line's order book, decoded on first need (structure errors name the line)."""
    book = line.book
    if book is None:
        try:
            book = line.book = _decode_book(bytes(line.orderbook))
        except msgspec.DecodeError as exc:
            raise DataFileError(f"{line.where}: orderbook: {exc}") from None
    return book


def _top_amount(text: bytes | None, what: str) -> Decimal | None:
    if text is None:
        return None
    value = _TEXT_CACHE.get(text)
    if value is None:
        value = _amount(msgspec.Raw(text), what, positive=True)
    elif not value:
        raise _Bad(f"{what} must be positive")
    return value


# --------------------------------------------------------------------------- lazy values


class JsonBook(LazyBook):
    """The order book of one JSON line; levels are built (and checked) on first access."""

    __slots__ = ("_line",)
    _line: _Line

    def _top(self) -> tuple[Decimal | None, Decimal | None]:
        return self._line.best_bid, self._line.best_ask

    def _build_side(self, bids: bool) -> tuple[BookLevel, ...]:
        line = self._line
        name = "bid" if bids else "ask"
        book = _book_of(line)
        rows = book.bid if bids else book.ask
        try:
            levels = tuple([
                book_level(
                    _amount(row.price, f"orderbook.{name}[{i}].price", positive=True),
                    _amount(row.quantity, f"orderbook.{name}[{i}].quantity", positive=True),
                )
                for i, row in enumerate(rows)
            ])
            for prev, cur in pairwise(levels):
                if (cur.price >= prev.price) if bids else (cur.price <= prev.price):
                    raise _Bad(f"orderbook.{name} is not sorted best first ({prev.price} then {cur.price})")
            best = line.best_bid if bids else line.best_ask
            if (levels[0].price if levels else None) != best:
                raise _Bad(f"orderbook.{name}: the best price read from the text ({best}) is not the first level's")
        except _Bad as exc:
            raise DataFileError(f"{line.where}: {exc}") from None
        return levels

    def units(self) -> BookUnits:
        """The levels as integers read from their JSON text, no Decimal built, checked as the
        levels are; a book with a number finer than a cent or a satoshi is read through its
        Decimal levels (in finer units)."""
        line = self._line
        try:
            (bid_px, bid_qty), (ask_px, ask_qty) = _side_units(_book_of(line))
        except UnfitValue:
            return super().units()
        except (_Bad, NumberError) as exc:
            raise DataFileError(f"{line.where}: {exc}") from None
        for best, prices in ((line.best_bid, bid_px), (line.best_ask, ask_px)):
            if (units_to_decimal(prices[0], PRICE_DECIMALS) if prices else None) != best:
                raise DataFileError(f"{line.where}: orderbook: the best price read from the text ({best}) is not "
                                    "the first level's")
        return BookUnits(bid_px, bid_qty, ask_px, ask_qty)


class JsonSnapshot(LazySnapshot):
    """A snapshot read from one JSON line: built lazily from the line's raw JSON texts."""

    __slots__ = ("_line",)
    _line: _Line

    def _top(self) -> tuple[Decimal | None, Decimal | None]:
        return self._line.best_bid, self._line.best_ask

    def _build_book(self) -> OrderBook:
        book = _new(JsonBook)
        _set(book, "_line", self._line)
        return book

    def _build_ticker(self) -> Ticker:
        t = self._line.ticker
        try:
            return Ticker(
                last=_amount(t.last, "ticker.last", positive=False),
                bid=_amount(t.bid, "ticker.bid", positive=False),
                ask=_amount(t.ask, "ticker.ask", positive=False),
                currency=t.currency,
            )
        except _Bad as exc:
            raise DataFileError(f"{self._line.where}: {exc}") from None

    def _build_trades(self) -> tuple[Trade, ...]:
        line = self._line
        cell = line.trades_cell
        if cell:
            return cell[0]
        trades = tuple(_trades_of(line))
        if cell is not None:
            cell.append(trades)
        return trades

    def iter_trades(self, since: int = -1) -> Iterator[Trade]:
        cell = self._line.trades_cell
        if cell:
            return super().iter_trades(since)
        return _trades_of(self._line, since)

    def trade_amounts(self) -> list[tuple[int, Decimal, Decimal, Side]]:
        """Each trade as (ts, BTC amount, USD amount, taker side), exactly as recorded."""
        return [_amounts(row, i, self._line.where) for i, row in enumerate(_wire_trades(self._line))]

    def units(self) -> Units:
        """This line in the fast store's integer units, checked in full (the converter's path).

        The same rules as building the values lazily: numbers, positive levels, sorted sides.
        """
        line = self._line
        try:
            t = line.ticker
            ticker = [_units(raw, PRICE_DECIMALS, f"ticker.{name}") for name, raw in
                      (("last", t.last), ("bid", t.bid), ("ask", t.ask))]
            sides = _side_units(_book_of(line))
            trades = None
            if self.has_trades():
                trades = [_trade_units(row, i) for i, row in enumerate(_wire_trades(line))]
        except (_Bad, NumberError) as exc:
            raise DataFileError(f"{line.where}: {exc}") from None
        except UnfitValue as exc:
            raise UnfitValue(f"{line.where}: {exc}") from None
        (bid_px, bid_qty), (ask_px, ask_qty) = sides
        return Units(line.ts, ticker[0], ticker[1], ticker[2], bid_px, bid_qty, ask_px, ask_qty, trades)

    def has_trades(self) -> bool:
        """Whether the line has a ``trades`` list (possibly empty)."""
        return bytes(self._line.trades) not in (b"", b"null")


def _side_units(book: _Book) -> list[tuple[list[int], list[int]]]:
    """Each side's prices in cents and quantities in satoshis, read from their JSON text,
    checked as the levels are when built: positive, sorted best first."""
    sides = []
    for name, rows, descending in (("bid", book.bid, True), ("ask", book.ask, False)):
        px = [_units(r.price, PRICE_DECIMALS, f"orderbook.{name}.price") for r in rows]
        qty = [_units(r.quantity, QUANTITY_DECIMALS, f"orderbook.{name}.quantity") for r in rows]
        if not all(px) or not all(qty):
            raise _Bad(f"orderbook.{name} has a level that is not positive")
        if (px and max(px) > _MAX_PRICE_UNITS) or (qty and max(qty) > _MAX_QUANTITY_UNITS):
            raise _Bad(f"orderbook.{name} has a level too large to be an amount (more than {_MAX_AMOUNT})")
        for prev, cur in pairwise(px):
            if (cur >= prev) if descending else (cur <= prev):
                raise _Bad(f"orderbook.{name} is not sorted best first")
        sides.append((px, qty))
    return sides


def _wire_trades(line: _Line) -> list[_WireTrade]:
    text = bytes(line.trades)
    if not text:
        return []
    try:
        if text[:1] == b"{":
            return _decode_trades_body(text).trades
        if text == b"null":
            return []
        return _decode_trades(text)
    except msgspec.DecodeError as exc:
        raise DataFileError(f"{line.where}: trades: {exc}") from None


def _trade_wire_dict(row: _WireTrade, index: int) -> dict[str, Any]:
    where = f"trades[{index}]"
    return {
        "spent": _amount(row.spent, f"{where}.spent", positive=True),
        "spentCurrency": row.spentCurrency,
        "earned": _amount(row.earned, f"{where}.earned", positive=True),
        "earnedCurrency": row.earnedCurrency,
        "timestamp": row.timestamp,
    }


def _trades_of(line: _Line, since: int = -1) -> Iterator[Trade]:
    """The line's trades newest first, down to the first one older than ``since``."""
    for index, row in enumerate(_wire_trades(line)):
        if row.timestamp < since:
            return
        try:
            yield parse.trade(_trade_wire_dict(row, index), index)
        except (_Bad, MalformedResponseError) as exc:
            raise DataFileError(f"{line.where}: {exc}") from None


def _amounts(row: _WireTrade, index: int, where: str) -> tuple[int, Decimal, Decimal, Side]:
    try:
        wire = _trade_wire_dict(row, index)
        parse.trade(wire, index)  # the same checks as the live client
    except (_Bad, MalformedResponseError) as exc:
        raise DataFileError(f"{where}: {exc}") from None
    if wire["spentCurrency"] == "BTC":
        return (row.timestamp, wire["spent"], wire["earned"], Side.SELL)
    return (row.timestamp, wire["earned"], wire["spent"], Side.BUY)


# --------------------------------------------------------------------------- reading


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return cast(IO[bytes], gzip.open(path, "rb"))
    return open(path, "rb", buffering=1 << 20)


def bounded_lines(stream: IO[bytes]) -> Iterator[bytes | int]:
    """Each line of ``stream`` (with its newline), or, for a line longer than MAX_LINE_BYTES, its length.

    A line is never read beyond the limit: the rest of a longer one is read past in 1 MiB pieces
    and only counted (a gzip bomb costs its decompression time, not its size in memory).
    """
    readline = stream.readline
    limit = MAX_LINE_BYTES + 1  # the newline included
    while raw := readline(limit):
        if len(raw) < limit or raw.endswith(b"\n"):
            yield raw
            continue
        size = len(raw)
        del raw
        while (piece := readline(1 << 20)) and not piece.endswith(b"\n"):
            size += len(piece)
        yield size + len(piece)


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')
_SQUARE = bytes.maketrans(b"{}", b"[]")


def too_deep(raw: bytes) -> bool:
    """Whether lists and objects nest deeper than MAX_NESTING in ``raw``, found without parsing it.

    A line with no more brackets than that cannot (two C-speed counts: the usual case). Else only
    its brackets and quotes are kept (one C-speed pass; in a line with escapes, which no snapshot
    has, a regex first takes the strings out), and the depth is the running sum of the brackets
    outside strings, open lists included (numpy).
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_NESTING:
        return False
    if b"\\" in raw:
        raw = _STRING.sub(b"", raw)
    marks = raw.translate(_SQUARE, _NOT_STRUCTURE)
    depth = inside = 0
    block = 1 << 20  # numpy's temporaries stay a few MiB, whatever the line
    for start in range(0, len(marks), block):
        part = np.frombuffer(marks, dtype=np.uint8, count=min(block, len(marks) - start), offset=start)
        quote = part == 34
        parity = np.bitwise_xor.accumulate(quote.view(np.uint8)) ^ inside  # 1: inside a string
        step = (part == 91).view(np.int8) * 2 - 1
        step[quote | (parity == 1)] = 0
        running = np.cumsum(step, dtype=np.int32) + depth
        if int(running.max()) > MAX_NESTING:
            return True
        depth, inside = int(running[-1]), int(parity[-1])
    return False


class JsonlReader:
    """Stream the snapshots of a JSON Lines file (``.gz``: gzip), checking as described above.

    Iterating twice reads the file twice. ``bad_lines`` counts the lines skipped so far and
    ``lines`` the lines read; memory stays flat whatever the file's size.
    """

    def __init__(self, path: str | os.PathLike[str], *, strict: bool = False) -> None:
        self.path = Path(path)
        self.strict = strict
        self.lines = 0
        self.bad_lines = 0
        self.snapshots = 0

    def _skip(self, lineno: int, problem: str) -> None:
        skip_or_raise(self.path, f"{self.path}:{lineno}", problem, strict=self.strict, reported=self.bad_lines + 1)
        self.bad_lines += 1

    def __iter__(self) -> Iterator[Snapshot]:
        self.lines = self.bad_lines = self.snapshots = 0
        try:
            stream = _open_binary(self.path)
        except OSError as exc:
            raise DataFileError(f"{self.path}: cannot open: {exc.strerror or exc}") from None
        prefix = f"{self.path}:"
        last_ts = -(1 << 62)
        last_trades: msgspec.Raw | None = None
        last_line: _Line | None = None
        lineno = 0
        decode = _decode_line
        amount = _amount
        book_top = _book_top
        top_amount = _top_amount
        try:
            try:
                for raw in bounded_lines(stream):
                    lineno += 1
                    if isinstance(raw, int):
                        self._skip(lineno, f"the line is {raw:,} bytes long, over the {MAX_LINE_BYTES:,}-byte limit; "
                                   "not read")
                        continue
                    if lineno == 1 and raw.startswith(INSTRUMENT_HEAD):
                        continue  # the header line: read_instrument's
                    if too_deep(raw):
                        self._skip(lineno, f"the line nests lists or objects deeper than {MAX_NESTING} levels; "
                                   "not read")
                        continue
                    try:
                        line = decode(raw)
                    except msgspec.DecodeError as exc:
                        if raw.strip():
                            self._skip(lineno, f"not a snapshot: {exc}")
                        continue
                    ts = line.ts
                    if ts < last_ts:
                        self._skip(lineno, f"ts {ts} is earlier than the previous line's {last_ts}")
                        continue
                    line.where = prefix + str(lineno)
                    try:
                        top = book_top(bytes(line.orderbook))
                        if top is not None:
                            best_bid = top_amount(top[0], "orderbook.bid[0].price")
                            best_ask = top_amount(top[1], "orderbook.ask[0].price")
                        else:  # an unusual layout: decode the whole book now
                            book = _book_of(line)
                            bids, asks = book.bid, book.ask
                            best_bid = amount(bids[0].price, "orderbook.bid[0].price", positive=True) if bids else None
                            best_ask = amount(asks[0].price, "orderbook.ask[0].price", positive=True) if asks else None
                            if book.price_currency != "USD":
                                raise _Bad("prices must be in USD")
                            if book.quantity_currency != "BTC":
                                raise _Bad("quantities must be in BTC")
                        if best_bid is not None and best_ask is not None and best_bid >= best_ask:
                            raise _Bad(f"crossed book (best bid {best_bid} >= best ask {best_ask})")
                        if line.ticker.currency != "USD":
                            raise _Bad("prices must be in USD")
                    except _Bad as exc:
                        self._skip(lineno, str(exc))
                        continue
                    except DataFileError as exc:
                        self._skip(lineno, str(exc).split(": ", 1)[-1])
                        continue
                    line.best_bid = best_bid
                    line.best_ask = best_ask
                    trades = line.trades
                    if trades:
                        if trades == last_trades and last_line is not None:  # Raw compares contents
                            line.trades_cell = last_line.trades_cell
                        else:
                            line.trades_cell = []
                        last_trades = trades
                        last_line = line
                    else:
                        line.trades_cell = None
                    last_ts = ts
                    snap = _new(JsonSnapshot)
                    _set(snap, "ts", ts)
                    _set(snap, "_line", line)
                    self.snapshots += 1
                    yield snap
            except EOFError:
                self._skip(lineno + 1, "the gzip stream ends early (was the writer killed?); later lines are lost")
            except (OSError, gzip.BadGzipFile) as exc:
                self._skip(lineno + 1, f"unreadable from here on: {exc}")
        finally:
            self.lines = lineno
            stream.close()


INSTRUMENT_HEAD = b'{"botkit:instrument":'
"""How a header line starts: it is the first line, written by :class:`JsonlWriter` exactly so."""


def read_instrument(path: str | os.PathLike[str]) -> Instrument:
    """The instrument in a JSON Lines file's header line; Buttercoin's when it has none."""
    path = Path(path)
    try:
        with _open_binary(path) as stream:
            first = stream.readline(MAX_LINE_BYTES)
    except (OSError, EOFError) as exc:
        raise DataFileError(f"{path}: cannot read: {exc}") from None
    if not first.startswith(INSTRUMENT_HEAD):
        return BUTTERCOIN
    try:
        return Instrument.from_json(msgspec.json.decode(first)["botkit:instrument"], f"{path}:1")
    except msgspec.DecodeError as exc:
        raise DataFileError(f"{path}:1: unreadable instrument header: {exc}") from None
    except (ValueError, TypeError) as exc:
        raise DataFileError(str(exc)) from None


def check_snapshot(snapshot: Snapshot) -> None:
    """Build every part of a snapshot, so that a lazily checked value raises now."""
    _ = snapshot.ticker, snapshot.book.bids, snapshot.book.asks, snapshot.trades


# --------------------------------------------------------------------------- writing


def snapshot_wire(snapshot: Snapshot) -> dict[str, Any]:
    """A snapshot as the wire bodies the exchange would have returned (for writing a line)."""
    t = snapshot.ticker
    body: dict[str, Any] = {
        "ts": snapshot.ts,
        "ticker": {"currency": t.currency, "last": t.last, "bid": t.bid, "ask": t.ask},
        "orderbook": {
            "bid": [{"price": lv.price, "quantity": lv.quantity} for lv in snapshot.book.bids],
            "ask": [{"price": lv.price, "quantity": lv.quantity} for lv in snapshot.book.asks],
            "price_currency": "USD",
            "quantity_currency": "BTC",
        },
    }
    has_trades = getattr(snapshot, "has_trades", None)
    if has_trades() if has_trades is not None else bool(snapshot.trades):
        body["trades"] = [trade_wire(*row) for row in trade_amounts(snapshot)]
    return body


def trade_wire(ts: int, btc: Decimal, usd: Decimal, taker_side: Side) -> dict[str, Any]:
    """A trade in the wire's spent/earned form: the taker spent BTC (a sell) or USD (a buy)."""
    if taker_side is Side.SELL:
        return {"spent": btc, "spentCurrency": "BTC", "earned": usd, "earnedCurrency": "USD", "timestamp": ts}
    return {"spent": usd, "spentCurrency": "USD", "earned": btc, "earnedCurrency": "BTC", "timestamp": ts}


class JsonlWriter:
    """Append snapshots to a JSON Lines file (gzip when the name ends in ``.gz``).

    With ``flush=True`` (the default, what a recorder wants) every line is handed to the operating
    system as soon as it is written, so killing the process loses at most the line being written;
    bulk conversions pass ``flush=False``.
    """

    def __init__(self, path: str | os.PathLike[str], *, flush: bool = True, append: bool = False,
                 instrument: Instrument | None = None) -> None:
        """``instrument``: written as the header line of a new file (never when appending: the
        file has its own); None writes none, which reads as Buttercoin's."""
        self.path = Path(path)
        self.flush = flush
        self.count = 0
        mode = "ab" if append else "wb"
        self._gz: gzip.GzipFile | None = None
        if self.path.name.endswith(".gz"):
            self._raw: IO[bytes] = open(self.path, mode)  # noqa: SIM115 - closed in close()
            self._gz = gzip.GzipFile(fileobj=self._raw, mode=mode, mtime=0)
            self._out: IO[bytes] = self._gz  # type: ignore[assignment]
        else:
            self._raw = self._out = open(self.path, mode, buffering=1 << 20)  # noqa: SIM115
        if instrument is not None and not append:
            self._out.write(dumps({"botkit:instrument": instrument.to_json()}).encode() + b"\n")

    def write_text(self, line: str | bytes) -> None:
        """Write one already serialized snapshot line (without its newline)."""
        data = line.encode() if isinstance(line, str) else line
        self._out.write(data + b"\n")
        self.count += 1
        if self.flush:
            self._out.flush()
            if self._gz is not None:
                self._raw.flush()

    def write_wire(
        self,
        ts: int,
        ticker: Mapping[str, Any],
        orderbook: Mapping[str, Any],
        trades: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Write the exchange's bodies as they came (values exact: Decimal or int, never float)."""
        body: dict[str, Any] = {"ts": ts, "ticker": dict(ticker), "orderbook": dict(orderbook)}
        if trades is not None:
            body["trades"] = [dict(t) for t in trades]
        self.write_text(dumps(body))

    def write(self, snapshot: Snapshot) -> None:
        """Write a model snapshot back in the wire form."""
        self.write_text(dumps(snapshot_wire(snapshot)))

    def close(self) -> None:
        if self._gz is not None:
            self._gz.close()
        self._raw.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "JsonBook",
    "JsonSnapshot",
    "JsonlReader",
    "JsonlWriter",
    "check_snapshot",
    "decimal_text",
    "read_instrument",
    "snapshot_wire",
    "trade_amounts",
    "trade_wire",
]
