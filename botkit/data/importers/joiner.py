"""Join the rows of a dataset's files on time into snapshots, and write them.

Every file is read as a stream and all are merged by time (``heapq.merge``: one row a file held
at once, so memory stays flat whatever the files' sizes). The order of rows is:

* by millisecond;
* within one millisecond, trades before books: a trade printed in the millisecond of a book row
  goes into that row's snapshot, so a snapshot's trades are always newer than the previous
  snapshot's time (what the simulated venue and the store rely on to tell new trades from a
  polled list's repeats);
* then by file (in the order given), then by line: rows of one millisecond keep their order.

Each book row becomes one snapshot, holding the trades since the previous snapshot (newest first,
as the exchange lists them): each trade is written exactly once. Trades after the last book row
have no snapshot to go in: they are counted and reported (``trailing_trades``), never dropped
silently. A row whose time goes back within its file is a bad row (reported by file and line).

A book that is crossed (best bid above best ask) or locked (equal) is not written: no snapshot
file botkit reads holds one (the readers refuse it as a wrong book). It is counted and reported,
and the trades waiting for it go into the next snapshot. A level of zero amount is no level
(dropped and counted); a side that empties is an empty side, its ticker price 0.

The ticker of each snapshot: ``bid``/``ask`` the book's best (0 for an empty side), ``last`` the
newest trade's price so far (0 before the first trade). A trade whose taker side the dataset does
not know (Tardis's ``unknown``) is given one from the book it met: a buy at or above the mid, a
sell below; these are counted and reported.
"""

from __future__ import annotations

import heapq
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.core.errors import DataFileError
from botkit.core.jsonutil import decimal_text, dumps
from botkit.core.money import EXACT
from botkit.data.files import file_format
from botkit.data.importers.rows import BookRow, Problems, Row, Source, TradeRow
from botkit.data.jsonl import JsonlWriter, trade_wire
from botkit.data.store import (
    MAX_LEVELS,
    PRICE_DECIMALS,
    QUANTITY_DECIMALS,
    USD_DECIMALS,
    StoreWriter,
    UnfitValue,
    Units,
    to_units,
)
from botkit.instrument import Instrument
from botkit.model import ZERO, Side

log = logging.getLogger("botkit.data")

_TRADE_FIRST = 0
_BOOK_AFTER = 1


@dataclass
class ImportResult:
    """What an import read and wrote, for the command's report."""

    out: Path
    instrument: Instrument
    rows: int = 0
    snapshots: int = 0
    trades: int = 0
    trailing_trades: int = 0
    trailing_from: int | None = None
    crossed: int = 0
    locked: int = 0
    zero_levels: int = 0
    inferred_sides: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    bad_rows: dict[Path, int] = field(default_factory=dict)
    first_problems: list[str] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return sum(self.bad_rows.values())


def check_sources(sources: Sequence[Source]) -> tuple[int, str, str]:
    """The book depth, exchange and symbol of an import's files; DataFileError when they do not
    belong together (mixed symbols, two book layouts, no book at all)."""
    books = [s for s in sources if s.kind == "book"]
    if not books:
        raise DataFileError(f"{sources[0].path}: no book file given: snapshots need a book (add the "
                            "book_snapshot/quotes/bookTicker file of the same market and day)")
    symbols = {(s.exchange, s.symbol) for s in sources}
    if len({symbol for _, symbol in symbols}) > 1:
        listed = ", ".join(f"{s.path.name}: {s.exchange} {s.symbol}" for s in sources)
        raise DataFileError(f"mixed symbols ({listed}): import one market at a time, into one file each")
    layouts = {s.layout for s in books}
    if len(layouts) > 1:
        raise DataFileError(f"the book files have different layouts ({', '.join(sorted(layouts))}): import one "
                            "kind of book (the trades files join either)")
    depth = max(s.levels for s in books)
    if depth > MAX_LEVELS:
        raise DataFileError(f"{books[0].path}: {depth} levels a side; botkit holds at most {MAX_LEVELS}")
    return depth, books[0].exchange, books[0].symbol


def _keyed(index: int, source: Source, problems: Problems) -> Iterator[tuple[int, int, int, int, Row]]:
    """The file's rows with their merge key; a row earlier than the previous one is a bad row."""
    last = -1
    for row in source.rows():
        ts = row.ts
        if ts < last:
            problems.bad(source.path, row.line, f"time goes back ({ts} ms after {last} ms): the file is not in time "
                         "order (sort it, or for Tardis use the default --clock local)")
            continue
        last = ts
        yield ts, _TRADE_FIRST if type(row) is TradeRow else _BOOK_AFTER, index, row.line, row


_CACHE_LIMIT = 1 << 16


class _Output:
    """The snapshot file being written: JSON Lines or the store, by the name's suffix.

    A book file repeats the same few thousand price and amount values on every row, so each
    value's store units and JSON text are computed once (cached by value, exact either way): that
    is most of an import's time otherwise.
    """

    def __init__(self, out: Path, depth: int, instrument: Instrument) -> None:
        self.store = file_format(out) == "store"
        self.writer: StoreWriter | JsonlWriter
        if self.store:
            self.writer = StoreWriter(out, levels=max(depth, 1), instrument=instrument)
        else:
            self.writer = JsonlWriter(out, flush=False, instrument=instrument)
        self._price_units: dict[Decimal, int] = {}
        self._quantity_units: dict[Decimal, int] = {}
        self._texts: dict[Decimal, str] = {}

    def _units(self, cache: dict[Decimal, int], value: Decimal, decimals: int, what: str) -> int:
        units = cache.get(value)
        if units is None:
            units = to_units(value, decimals, what)
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            cache[value] = units
        return units

    def _text(self, value: Decimal) -> str:
        text = self._texts.get(value)
        if text is None:
            text = decimal_text(value)
            if len(self._texts) >= _CACHE_LIMIT:
                self._texts.clear()
            self._texts[value] = text
        return text

    def put(self, ts: int, last: Decimal, book: BookRow, trades: list[tuple[int, Decimal, Decimal, Side]]) -> None:
        """One snapshot; ``trades`` oldest first as (ts, quantity, quote amount, taker side)."""
        bid = book.bids[0].price if book.bids else ZERO
        ask = book.asks[0].price if book.asks else ZERO
        newest_first = trades[::-1]
        if isinstance(self.writer, StoreWriter):
            px, qty = self._price_units, self._quantity_units
            units = self._units
            self.writer.add_units(Units(
                ts, units(px, last, PRICE_DECIMALS, "ticker.last"), units(px, bid, PRICE_DECIMALS, "ticker.bid"),
                units(px, ask, PRICE_DECIMALS, "ticker.ask"),
                [units(px, lv.price, PRICE_DECIMALS, "orderbook.bid.price") for lv in book.bids],
                [units(qty, lv.quantity, QUANTITY_DECIMALS, "orderbook.bid.quantity") for lv in book.bids],
                [units(px, lv.price, PRICE_DECIMALS, "orderbook.ask.price") for lv in book.asks],
                [units(qty, lv.quantity, QUANTITY_DECIMALS, "orderbook.ask.quantity") for lv in book.asks],
                [(t_ts, units(qty, q, QUANTITY_DECIMALS, "trade quantity"), to_units(a, USD_DECIMALS, "trade amount"),
                  1 if side is Side.SELL else 0) for t_ts, q, a, side in newest_first]))
            return
        text = self._text
        bids = ",".join(f'{{"price":{text(lv.price)},"quantity":{text(lv.quantity)}}}' for lv in book.bids)
        asks = ",".join(f'{{"price":{text(lv.price)},"quantity":{text(lv.quantity)}}}' for lv in book.asks)
        self.writer.write_text(
            f'{{"ts":{ts},"ticker":{{"currency":"USD","last":{text(last)},"bid":{text(bid)},"ask":{text(ask)}}},'
            f'"orderbook":{{"bid":[{bids}],"ask":[{asks}]}},"trades":{dumps([trade_wire(*t) for t in newest_first])}}}')

    def finish(self, ok: bool) -> None:
        if isinstance(self.writer, StoreWriter) and not ok:
            self.writer.abort()
        else:
            self.writer.close()


def _inferred(price: Decimal, book: BookRow | None) -> Side:
    """The taker side of a print the dataset does not say: a buy at or above the mid."""
    if book is None or not book.bids or not book.asks:
        return Side.BUY if book is not None and book.asks and price >= book.asks[0].price else Side.SELL
    return Side.BUY if price * 2 >= book.bids[0].price + book.asks[0].price else Side.SELL


def join(
    sources: Sequence[Source],
    out: Path,
    instrument: Instrument,
    problems: Problems,
    *,
    progress: Callable[[Iterator[Any]], Iterator[Any]] | None = None,
) -> ImportResult:
    """Merge the files' rows on time into snapshots written to ``out`` (see the module docstring)."""
    depth, _, _ = check_sources(sources)
    result = ImportResult(out, instrument)
    merged: Iterator[Any] = heapq.merge(*(_keyed(i, s, problems) for i, s in enumerate(sources)))
    if progress is not None:
        merged = progress(merged)
    output = _Output(out, depth, instrument)
    ok = False
    pending: list[tuple[int, Decimal, Decimal, Side]] = []
    last = ZERO
    book: BookRow | None = None
    mul = EXACT.multiply
    try:
        for ts, rank, index, line, row in merged:
            result.rows += 1
            if rank == _TRADE_FIRST:
                side = row.side
                if side is None:
                    side = _inferred(row.price, book)
                    result.inferred_sides += 1
                pending.append((ts, row.quantity, mul(row.price, row.quantity), side))
                last = row.price
                continue
            book = row
            if row.bids and row.asks:
                bid, ask = row.bids[0].price, row.asks[0].price
                if bid >= ask:
                    if bid > ask:
                        result.crossed += 1
                    else:
                        result.locked += 1
                    continue
            try:
                output.put(ts, last, row, pending)
            except UnfitValue as exc:
                raise DataFileError(f"{sources[index].path}:{line}: {exc} (the store holds prices in cents and "
                                    "quantities in satoshis: import into .jsonl instead)") from None
            result.trades += len(pending)
            pending = []
            result.snapshots += 1
            if result.first_ts is None:
                result.first_ts = ts
            result.last_ts = ts
        ok = True
    finally:
        output.finish(ok and result.snapshots > 0)
    if not result.snapshots:
        out.unlink(missing_ok=True)
        raise DataFileError(f"{sources[0].path}: no book row could be written: nothing to import")
    result.trailing_trades = len(pending)
    result.trailing_from = pending[0][0] if pending else None
    result.zero_levels = sum(s.zero_levels for s in sources)
    result.bad_rows = dict(problems.by_file)
    result.first_problems = list(problems.first)
    return result


def progress_bar(enabled: bool | None) -> Callable[[Iterator[Any]], Iterator[Any]] | None:
    """A tqdm bar of rows read, on stderr when it is a terminal (or when asked)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    def bar(rows: Iterator[Any]) -> Iterator[Any]:
        return iter(tqdm(rows, unit="row", unit_scale=True, mininterval=0.5, file=sys.stderr, desc="import"))

    return bar


__all__ = ["ImportResult", "check_sources", "join", "progress_bar"]
