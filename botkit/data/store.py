"""The fast snapshot store (``.bks``): fixed-size integer records, read in chunks with numpy.

JSON Lines is the interchange format; this is the replay format for large files. Every snapshot
is one record of little-endian integers, so a chunk of 8192 snapshots is one ``read`` and a
handful of ``tolist()`` calls, and nothing is parsed per snapshot: the snapshot handed to the
engine is a :class:`~botkit.data.lazy.LazySnapshot` over its row (its mid and spread worked
out for the whole chunk at once when first read; its best prices, levels and trades for the row
alone until the chunk is read densely, then for the whole chunk: :data:`SPARSE_READS`), and
levels become ``Decimal`` only when something reads them.

Units (exact, no floats anywhere):

* prices (ticker, book levels): integer cents (``price_decimals`` = 2);
* quantities: integer satoshis (``quantity_decimals`` = 8);
* a trade's USD amount: integer 10^-10 USD (``usd_decimals`` = 10; a price in cents times a
  quantity in satoshis fits exactly).

A value with more decimals than its unit, or too large for a signed 64-bit integer, is refused
when writing (the converter names the line). Each record holds up to ``levels`` book levels a
side (chosen when the store is written; a deeper book is refused, not cut, so a round trip is
always exact). Reading back gives snapshots equal to the JSON Lines ones.

File layout (version 2)::

    0      8 bytes  magic b"BOTKITSS"
    8      4 bytes  little-endian length of the JSON header that follows
    12     header   {"format": "botkit-snapshots", "version": 2, "levels": L, "snapshots": N,
                     "trades": M, "chunk": C, "trade_chunk": T, "checksum": "crc32",
                     "price_decimals": 2, "quantity_decimals": 8, "usd_decimals": 10,
                     "instrument": {...}}
    ...    zeros up to byte 4092
    4092   4 bytes  CRC32 of bytes 0-4091 (the header, its padding included)
    4096   N snapshot records (RECORD_DTYPE(L))
    ...    M trade records (TRADE_DTYPE), oldest first
    ...    the checksum table: one little-endian CRC32 (``zlib.crc32``) per chunk of C snapshot
           records, then one per chunk of T trade records (the last chunks may be shorter), then
           the CRC32 of the table itself

So every byte of the file is covered by a checksum. The reader checks the header when it opens
the file, the table too, and each chunk when it reads it: a damaged snapshot chunk is reported by
file, chunk and snapshot indexes and its snapshots are skipped (or raise, when strict), never
replayed. C is chosen so that a chunk is at most :data:`MAX_CHUNK_BYTES` (reading holds it, its
columns as Python lists and, once read, its rows' mids and best prices).

``instrument`` (:meth:`botkit.instrument.Instrument.to_json`: the market's grid and fees) is
absent from stores written before instruments existed; they read as Buttercoin's BTC_USD.

Version 1 (written before checksums) is the same without the header's ``chunk``,
``trade_chunk`` and ``checksum`` fields, the header CRC and the table. It is still read; nothing
in it can tell a flipped byte from a real value, so ``botkit data check`` says so
(``botkit data convert OLD.bks NEW.bks`` writes version 2).

Whatever the version, the header is distrusted: a field that is not a whole number in its range
(``levels`` above :data:`MAX_LEVELS`, counts that disagree with the file's size) is one
``DataFileError`` naming the file and the field, before anything is allocated; and each record's
own counts (levels, trades) are checked against the header before they index anything.

A snapshot's ``trades`` (newest first, as the exchange lists them) are the ``ntrades`` records
ending at ``trade_end``, reversed. Consecutive polls of ``GET /v1/trades`` overlap, so the writer
stores each trade once when a list continues the previous one, and the list's records again when
it does not: either way the list read back is the list written.

The writer builds ``NAME.tmp`` and renames it when closed, so a store is either complete or
absent.
"""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from botkit.core.errors import DataFileError
from botkit.core.money import TENTHS, USD_PLACES, mul, units_to_decimal
from botkit.core.numbers import NumberError, exact_decimal
from botkit.data.badlines import skip_or_raise
from botkit.data.lazy import (
    LazyBook,
    LazySnapshot,
    cents,
    cents_levels,
    cents_mid_spread,
    satoshis,
    spread_of_key,
    trade_amounts,
    units_text,
)
from botkit.instrument import BUTTERCOIN, Instrument
from botkit.model import BookLevel, BookUnits, OrderBook, Side, Snapshot, Ticker, Trade

log = logging.getLogger("botkit.backtest")

MAGIC = b"BOTKITSS"
FORMAT = "botkit-snapshots"
VERSION = 2
"""The version this botkit writes; it reads 1 (no checksums) and 2."""
HEADER_SIZE = 4096
_HEADER_CRC_AT = HEADER_SIZE - 4
PRICE_DECIMALS = 2
QUANTITY_DECIMALS = 8
USD_DECIMALS = 10
DEFAULT_LEVELS = 20
CHUNK = 8192
"""Records read (and checksummed) at once: big enough to amortize numpy calls, small enough to
keep memory flat."""
MAX_CHUNK_BYTES = 32 << 20
"""A chunk of snapshot records never exceeds this (deep books get fewer records a chunk)."""
MAX_CHUNK_TRADES = 4 << 20
"""The trades one chunk of snapshots may list (128 MiB of records): what reading a chunk holds."""
MAX_LEVELS = 10_000
"""The deepest book a store holds (a record is then 320 kB): beyond it a header is not believed."""

_INT64_MAX = (1 << 63) - 1
_INT64_DIGITS = len(str(_INT64_MAX))
_HAS_TRADES = 1


def record_dtype(levels: int) -> np.dtype[Any]:
    """The record of one snapshot with ``levels`` book levels a side."""
    return np.dtype(
        [
            ("ts", "<i8"),
            ("last", "<i8"),
            ("bid", "<i8"),
            ("ask", "<i8"),
            ("nbid", "<i4"),
            ("nask", "<i4"),
            ("flags", "<i4"),
            ("ntrades", "<i4"),
            ("trade_end", "<i8"),
            ("bid_px", "<i8", (levels,)),
            ("bid_qty", "<i8", (levels,)),
            ("ask_px", "<i8", (levels,)),
            ("ask_qty", "<i8", (levels,)),
        ]
    )


TRADE_DTYPE = np.dtype([("ts", "<i8"), ("btc", "<i8"), ("usd", "<i8"), ("sell", "<i8")])
"""One trade: time, BTC in satoshis, USD in 10^-10, and 1 when the taker sold BTC."""
_CRC_DTYPE = np.dtype("<u4")


def chunk_records(levels: int) -> int:
    """Snapshot records a chunk of a store with ``levels`` levels holds (at most MAX_CHUNK_BYTES)."""
    return max(1, min(CHUNK, MAX_CHUNK_BYTES // record_dtype(levels).itemsize))


def _chunks_of(count: int, size: int) -> int:
    return -(-count // size)


class _ChunkSums:
    """CRC32s of consecutive ``size``-byte pieces of a stream written in pieces of any size."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sums: list[int] = []
        self._crc = 0
        self._filled = 0

    def feed(self, data: memoryview) -> None:
        while data:
            take = min(len(data), self.size - self._filled)
            self._crc = zlib.crc32(data[:take], self._crc)
            self._filled += take
            data = data[take:]
            if self._filled == self.size:
                self.sums.append(self._crc)
                self._crc = self._filled = 0

    def finish(self) -> list[int]:
        """All the sums, the last (shorter) piece's included."""
        if self._filled:
            self.sums.append(self._crc)
            self._crc = self._filled = 0
        return self.sums


def _bytes_of(records: npt.NDArray[Any]) -> memoryview:
    return np.ascontiguousarray(records).view(np.uint8).data


class UnfitValue(ValueError):
    """A value the store cannot hold exactly (too many decimals, too large, negative)."""


def to_units(value: Decimal, decimals: int, what: str) -> int:
    """``value`` in integer units of 10^-``decimals``; refuses what does not fit exactly (and,
    before any arithmetic, what the gate for external numbers refuses: ``1e-40000000``)."""
    try:
        exact_decimal(value, what)
    except NumberError as exc:
        raise UnfitValue(str(exc)) from None
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite: the gate said so
    units = int("".join(map(str, digits)) or "0")
    shift = exponent + decimals
    if shift >= 0:
        units *= int(10**shift)
    else:
        divisor = int(10**-shift)
        if units % divisor:
            raise UnfitValue(f"{what} {value} has more than {decimals} decimals: the store cannot hold it exactly")
        units //= divisor
    if units > _INT64_MAX:
        raise UnfitValue(f"{what} {value} is too large for the store")
    return -units if sign else units


class Units(NamedTuple):
    """One snapshot in the store's integer units; ``trades`` newest first, None when absent."""

    ts: int
    last: int
    bid: int
    ask: int
    bid_px: list[int]
    bid_qty: list[int]
    ask_px: list[int]
    ask_qty: list[int]
    trades: list[tuple[int, int, int, int]] | None


def text_units(text: bytes, decimals: int, what: str) -> int:
    """A JSON number's text in integer units of 10^-``decimals``, exactly, without Decimal.

    Falls back to :func:`to_units` for exponent forms and long numbers, after the gate for external
    numbers: text it refuses (``1e-40000000``) raises :class:`~botkit.core.numbers.NumberError`, an
    unreadable value rather than one the store cannot hold.
    """
    whole, _, frac = text.partition(b".")
    if (b"e" in frac or b"E" in frac or b"e" in whole or b"E" in whole or whole[:1] == b"-"
            or len(whole) > _INT64_DIGITS):
        return to_units(exact_decimal(Decimal(text.decode("ascii")), what), decimals, what)
    if len(frac) > decimals:
        if frac[decimals:].strip(b"0"):
            raise UnfitValue(
                f"{what} {text.decode('ascii')} has more than {decimals} decimals: the store cannot hold it exactly"
            )
        frac = frac[:decimals]
    return int(whole + frac + b"0" * (decimals - len(frac)))


# --------------------------------------------------------------------------- writing


class StoreWriter:
    """Write snapshots into a new store; ``close()`` (or the ``with`` block) makes it appear."""

    def __init__(self, path: str | os.PathLike[str], *, levels: int = DEFAULT_LEVELS, chunk: int | None = None,
                 instrument: Instrument = BUTTERCOIN) -> None:
        """``chunk``: snapshot records a checksum covers (default :func:`chunk_records`; tests make it small);
        ``instrument``: the market the snapshots are of (stored in the header)."""
        if not 1 <= levels <= MAX_LEVELS:
            raise ValueError(f"levels must be from 1 to {MAX_LEVELS}")
        self.path = Path(path)
        self.levels = levels
        self.instrument = instrument
        self.count = 0
        self.trade_count = 0
        self._dtype = record_dtype(levels)
        self.chunk = chunk_records(levels) if chunk is None else max(1, min(chunk, chunk_records(levels)))
        self._sums = _ChunkSums(self.chunk * self._dtype.itemsize)
        self._trade_sums = _ChunkSums(CHUNK * TRADE_DTYPE.itemsize)
        self._tmp = self.path.with_name(self.path.name + ".tmp")
        self._trades_tmp = self.path.with_name(self.path.name + ".trades.tmp")
        self._out: IO[bytes] = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
        self._out.write(b"\0" * HEADER_SIZE)
        self._trades_out: IO[bytes] = open(self._trades_tmp, "wb")  # noqa: SIM115
        self._buf = np.zeros(self.chunk, dtype=self._dtype)
        self._n = 0
        self._tbuf = np.zeros(CHUNK, dtype=TRADE_DTYPE)
        self._tn = 0
        self._tail: list[tuple[int, int, int, int]] = []
        self._closed = False

    # -- trades

    def _append_trades(self, rows: Sequence[tuple[int, int, int, int]]) -> None:
        for row in rows:
            if self._tn == CHUNK:
                self._flush_trades()
            self._tbuf[self._tn] = row
            self._tn += 1
        self.trade_count += len(rows)
        self._tail.extend(rows)
        keep = max(512, 4 * len(rows))
        if len(self._tail) > 2 * keep:
            del self._tail[:-keep]

    def _place_trades(self, newest_first: Sequence[tuple[int, int, int, int]]) -> int:
        """Store a polled trades list; return the index one past its newest record."""
        chrono = list(reversed(newest_first))
        tail = self._tail
        if chrono and tail:
            first = chrono[0]
            for j in range(len(tail) - 1, -1, -1):
                if tail[j] != first:
                    continue
                overlap = len(tail) - j
                if overlap <= len(chrono) and chrono[:overlap] == tail[j:]:
                    self._append_trades(chrono[overlap:])
                    return self.trade_count
                break
        self._append_trades(chrono)
        return self.trade_count

    # -- snapshots

    def add(
        self,
        ts: int,
        ticker: tuple[Decimal, Decimal, Decimal],
        bids: Sequence[tuple[Decimal, Decimal]],
        asks: Sequence[tuple[Decimal, Decimal]],
        trades: Sequence[tuple[int, Decimal, Decimal, Side]] | None,
    ) -> None:
        """Add one snapshot: ticker (last, bid, ask), levels best first, trades newest first.

        Raises UnfitValue naming the value that the store cannot hold exactly.
        """
        self.add_units(
            Units(
                ts,
                to_units(ticker[0], PRICE_DECIMALS, "ticker.last"),
                to_units(ticker[1], PRICE_DECIMALS, "ticker.bid"),
                to_units(ticker[2], PRICE_DECIMALS, "ticker.ask"),
                [to_units(p, PRICE_DECIMALS, "orderbook.bid.price") for p, _ in bids],
                [to_units(q, QUANTITY_DECIMALS, "orderbook.bid.quantity") for _, q in bids],
                [to_units(p, PRICE_DECIMALS, "orderbook.ask.price") for p, _ in asks],
                [to_units(q, QUANTITY_DECIMALS, "orderbook.ask.quantity") for _, q in asks],
                None
                if trades is None
                else [
                    (t_ts, to_units(btc, QUANTITY_DECIMALS, "trade BTC amount"),
                     to_units(usd, USD_DECIMALS, "trade USD amount"), 1 if side is Side.SELL else 0)
                    for t_ts, btc, usd, side in trades
                ],
            )
        )

    def add_units(self, u: Units) -> None:
        """Add one snapshot already in integer units (checked by the caller: sorted, positive)."""
        levels = self.levels
        nbid, nask = len(u.bid_px), len(u.ask_px)
        if nbid > levels or nask > levels:
            raise UnfitValue(
                f"the book has {max(nbid, nask)} levels a side; this store holds {levels} "
                "(convert with a larger --levels)"
            )
        for value in (u.last, u.bid, u.ask, *u.bid_px, *u.bid_qty, *u.ask_px, *u.ask_qty):
            if not 0 <= value <= _INT64_MAX:
                raise UnfitValue(f"{value} does not fit the store")
        if u.trades is None:
            flags = ntrades = 0
            trade_end = self.trade_count
        else:
            flags, ntrades = _HAS_TRADES, len(u.trades)
            trade_end = self._place_trades(u.trades)
        pad_b = [0] * (levels - nbid)
        pad_a = [0] * (levels - nask)
        self._buf[self._n] = (
            u.ts, u.last, u.bid, u.ask, nbid, nask, flags, ntrades, trade_end,
            u.bid_px + pad_b, u.bid_qty + pad_b, u.ask_px + pad_a, u.ask_qty + pad_a,
        )
        self._n += 1
        self.count += 1
        if self._n == self.chunk:
            self._flush()

    def add_snapshot(self, snapshot: Snapshot) -> None:
        """Add a model snapshot; lazy ones convert straight from their recorded text or units."""
        units = getattr(snapshot, "units", None)
        if units is not None:
            self.add_units(units())
            return

        t = snapshot.ticker
        trades = trade_amounts(snapshot)
        self.add(
            snapshot.ts,
            (t.last, t.bid, t.ask),
            [(lv.price, lv.quantity) for lv in snapshot.book.bids],
            [(lv.price, lv.quantity) for lv in snapshot.book.asks],
            trades if trades else None,
        )

    def add_block(self, block: npt.NDArray[Any], trades: npt.NDArray[Any] | None = None) -> None:
        """Append ready-made records (the generator's fast path); trades are appended verbatim.

        The caller guarantees that ``trade_end``/``ntrades`` of the records point into the trade
        table as it will be after ``trades`` is appended.
        """
        if block.dtype != self._dtype:
            raise ValueError("block dtype does not match this store's levels")
        self._flush()
        if trades is not None and len(trades):
            self._flush_trades()
            self._write(self._trades_out, self._trade_sums, np.asarray(trades, dtype=TRADE_DTYPE))
            self.trade_count += len(trades)
            self._tail = []
        self._write(self._out, self._sums, block)
        self.count += len(block)

    @staticmethod
    def _write(out: IO[bytes], sums: _ChunkSums, records: npt.NDArray[Any]) -> None:
        data = _bytes_of(records)
        sums.feed(data)
        out.write(data)

    def _flush(self) -> None:
        if self._n:
            self._write(self._out, self._sums, self._buf[: self._n])
            self._buf[: self._n] = 0
            self._n = 0

    def _flush_trades(self) -> None:
        if self._tn:
            self._write(self._trades_out, self._trade_sums, self._tbuf[: self._tn])
            self._tn = 0

    def close(self) -> None:
        """Finish the file: append the trade table, write the header, rename into place."""
        if self._closed:
            return
        self._closed = True
        self._flush()
        self._flush_trades()
        self._trades_out.close()
        with open(self._trades_tmp, "rb") as trades_in:
            while piece := trades_in.read(1 << 20):
                self._out.write(piece)
        table = np.array(self._sums.finish() + self._trade_sums.finish(), dtype=_CRC_DTYPE).tobytes()
        self._out.write(table + zlib.crc32(table).to_bytes(4, "little"))
        header = json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "levels": self.levels,
                "snapshots": self.count,
                "trades": self.trade_count,
                "chunk": self.chunk,
                "trade_chunk": CHUNK,
                "checksum": "crc32",
                "price_decimals": PRICE_DECIMALS,
                "quantity_decimals": QUANTITY_DECIMALS,
                "usd_decimals": USD_DECIMALS,
                "instrument": self.instrument.to_json(),
            },
            sort_keys=True,
        ).encode()
        head = (MAGIC + len(header).to_bytes(4, "little") + header).ljust(_HEADER_CRC_AT, b"\0")
        self._out.seek(0)
        self._out.write(head + zlib.crc32(head).to_bytes(4, "little"))
        self._out.close()
        self._trades_tmp.unlink()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Drop the unfinished store."""
        if self._closed:
            return
        self._closed = True
        self._out.close()
        self._trades_out.close()
        self._tmp.unlink(missing_ok=True)
        self._trades_tmp.unlink(missing_ok=True)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# --------------------------------------------------------------------------- reading


SPARSE_READS = 256
"""Reads of a chunk's best prices, of its levels or of its trades made from the row's own record,
before that kind is made for the whole chunk at once. A strategy that looks at a few snapshots
(an order every 100, the simulator's check of an arriving order) pays for those rows alone, not
for 8,192; one that reads every snapshot pays the row price for its first 256 reads, then the
bulk price, and from the next chunk on the bulk price from its first read."""


class _Chunk:
    """One chunk of records, its columns as Python lists, and the trades its rows refer to.

    The per-snapshot reads are list indexing, not numpy scalar access (which costs about a
    microsecond each). Best prices, levels and trades are made for the rows read until more than
    :data:`SPARSE_READS` reads of them, then for the whole chunk at once (the same values).
    """

    __slots__ = ("_best", "_best_reads", "_level_reads", "_levels", "_mid", "_trade_list", "_trade_reads", "ask0",
                 "bid0", "first_trade", "nask", "nbid", "ntrades", "rec", "trade_end", "trades")

    def __init__(self, rec: npt.NDArray[Any], trades: npt.NDArray[Any], first_trade: int,
                 dense: tuple[bool, bool, bool] = (False, False, False)) -> None:
        self.rec = rec
        self.bid0: list[int] = rec["bid_px"][:, 0].tolist()
        self.ask0: list[int] = rec["ask_px"][:, 0].tolist()
        self.nbid: list[int] = rec["nbid"].tolist()
        self.nask: list[int] = rec["nask"].tolist()
        self.trade_end: list[int] = (rec["trade_end"] - first_trade).tolist()
        self.ntrades: list[int] = rec["ntrades"].tolist()
        self.trades = trades
        self.first_trade = first_trade
        self._trade_list: list[tuple[int, int, int, int]] | None = None
        self._levels: tuple[list[int], list[int], list[int], list[int], int] | None = None
        self._best: tuple[list[Decimal | None], list[Decimal | None]] | None = None
        self._mid: tuple[list[Decimal | None], list[Decimal | None]] | None = None
        # Rows read one at a time so far; what the chunk before was read densely for (``dense``:
        # best prices, levels, trades) is made in bulk from the first read.
        self._best_reads, self._level_reads, self._trade_reads = (SPARSE_READS if d else 0 for d in dense)

    def mids_spreads(self) -> tuple[list[Decimal | None], list[Decimal | None]]:
        """Every row's mid and spread (None where a side is empty), made for the whole chunk the
        first time something reads one: the engine reads both at every tick."""
        mid = self._mid
        if mid is None:
            mid = self._mid = _mids_spreads(self.rec)
        return mid

    def best_prices(self) -> tuple[list[Decimal | None], list[Decimal | None]]:
        """Every row's best bid and best ask (None: that side is empty), made for the whole chunk
        at once (numpy and one C-level map): once the chunk is read densely (:meth:`top`), or
        when the chunk before was and the reader sets them on every snapshot."""
        best = self._best
        if best is None:
            rec = self.rec
            best = self._best = (_prices(rec["bid_px"][:, 0], rec["nbid"]), _prices(rec["ask_px"][:, 0], rec["nask"]))
        return best

    def top(self, row: int) -> tuple[Decimal | None, Decimal | None]:
        """One row's best bid and ask as Decimals (None: that side is empty): the row's own while
        the chunk is read sparsely, the bulk lists' once it is read densely."""
        best = self._best
        if best is None:
            self._best_reads += 1
            if self._best_reads <= SPARSE_READS:
                return (cents(self.bid0[row]) if self.nbid[row] else None,
                        cents(self.ask0[row]) if self.nask[row] else None)
            best = self.best_prices()
        bids, asks = best
        return bids[row], asks[row]

    def made_in_bulk(self) -> tuple[bool, bool, bool, bool]:
        """Whether the mids (and spreads), the best prices, the levels and the trades were made for
        the whole chunk: a mid read at all, the others read densely. The chunk after makes each
        in bulk from the start, and the reader sets its mids, best prices and books on every
        snapshot."""
        return self._mid is not None, self._best is not None, self._levels is not None, self._trade_list is not None

    def row_levels(self, row: int) -> tuple[list[int], list[int], list[int], list[int]]:
        """One row's bid prices, bid quantities, ask prices and ask quantities (cents and
        satoshis): sliced from the chunk's flat lists once it is read densely (four numpy calls
        a chunk instead of four a snapshot; flat, so the collector has four objects to look at,
        not a list per row), from the row's record until then."""
        levels = self._levels
        if levels is None:
            self._level_reads += 1
            if self._level_reads <= SPARSE_READS:
                record = self.rec[row]
                nb, na = self.nbid[row], self.nask[row]
                return (record["bid_px"][:nb].tolist(), record["bid_qty"][:nb].tolist(),
                        record["ask_px"][:na].tolist(), record["ask_qty"][:na].tolist())
            rec = self.rec
            levels = self._levels = (rec["bid_px"].ravel().tolist(), rec["bid_qty"].ravel().tolist(),
                                     rec["ask_px"].ravel().tolist(), rec["ask_qty"].ravel().tolist(),
                                     rec["bid_px"].shape[1])
        bid_px, bid_qty, ask_px, ask_qty, width = levels
        at = row * width
        bid_end, ask_end = at + self.nbid[row], at + self.nask[row]
        return bid_px[at:bid_end], bid_qty[at:bid_end], ask_px[at:ask_end], ask_qty[at:ask_end]

    def trade_rows(self, row: int) -> list[tuple[int, int, int, int]]:
        """The trades of one snapshot, newest first, as (ts, satoshis, 10^-10 USD, sold): the
        row's own while the chunk is read sparsely, sliced from the chunk's once densely."""
        rows = self._trade_list
        end = self.trade_end[row]
        if rows is None:
            self._trade_reads += 1
            if self._trade_reads <= SPARSE_READS:
                own: list[tuple[int, int, int, int]] = self.trades[end - self.ntrades[row] : end].tolist()
                own.reverse()
                return own
            rows = self._trade_list = self.trades.tolist()
        return rows[end - self.ntrades[row] : end][::-1]


def _prices(column: npt.NDArray[Any], depth: npt.NDArray[Any]) -> list[Decimal | None]:
    """:func:`~botkit.data.lazy.cents` of each price of a column (the same digits and exponent:
    up to two trailing zeros dropped), None where ``depth`` says the side is empty. Built in
    numpy and one C-level ``map``, a fraction of a ``cents`` call each; neighbouring rows of one
    price share one Decimal (held snapshots cost what they did through ``cents``' memo)."""
    values, rows = _runs(column)
    zeros = _trailing_zeros(values)
    prices = _scaled(values // _SCALE_OF[zeros], USD_PLACES - zeros, rows)
    for row in np.flatnonzero(depth <= 0).tolist():
        prices[row] = None
    return prices


def _mids_spreads(rec: npt.NDArray[Any]) -> tuple[list[Decimal | None], list[Decimal | None]]:
    """Every row's mid and spread, the very Decimals :func:`cents_mid_spread` gives (None where a
    side is empty): the integer arithmetic in numpy, the Decimals in one C-level ``map``, one per
    run of rows of one mid (they share it), a fraction of the per-row Python arithmetic."""
    bid = rec["bid_px"][:, 0]
    ask = rec["ask_px"][:, 0]
    both = (rec["nbid"] > 0) & (rec["nask"] > 0)
    if not both.all():  # whatever the empty side's column holds must not count
        bid = np.where(both, bid, 0)
        ask = np.where(both, ask, 0)
    if not ((bid > -_NUMPY_SAFE) & (bid < _NUMPY_SAFE) & (ask > -_NUMPY_SAFE) & (ask < _NUMPY_SAFE)).all():
        # Beyond what int64 arithmetic can hold (a damaged file): the same numbers row by row.
        pairs = [cents_mid_spread(b, a) if ok else (None, None)
                 for b, a, ok in zip(bid.tolist(), ask.tolist(), both.tolist(), strict=True)]
        return [mid for mid, _ in pairs], [spread for _, spread in pairs]
    zeros = np.minimum(_trailing_zeros(bid), _trailing_zeros(ask))
    # A mid is a function of the sum of the prices and the zeros they share: one for each run
    # of rows with the same two.
    keyed, rows = _runs((bid + ask) * 4 + zeros)
    pair_zeros = keyed & 3
    total = (keyed >> 2) // _SCALE_OF[pair_zeros]
    odd = (total & 1).astype(bool)
    mids = _scaled(np.where(odd, total * 5, total >> 1), np.where(odd, USD_PLACES + 1, USD_PLACES) - pair_zeros, rows)
    keys = ((ask - bid) // _SCALE_OF[zeros] * 4 + zeros).tolist()
    spread_of = {key: spread_of_key(key) for key in set(keys)}  # a market has a handful
    spreads: list[Decimal | None] = list(map(spread_of.__getitem__, keys))
    for row in np.flatnonzero(~both).tolist():
        mids[row] = spreads[row] = None
    return mids, spreads


def _scaled(coefficients: npt.NDArray[Any], places: npt.NDArray[Any], rows: list[int]) -> list[Decimal | None]:
    """``coefficient × 10^-places`` of each run as an exact Decimal (the digits and exponent of
    :func:`~botkit.core.money.units_to_decimal`'s product), built in one C-level ``map``, then one
    for each row of its run (``rows``, from :func:`_runs`)."""
    built = list(map(mul, map(Decimal, coefficients.tolist()), map(TENTHS.__getitem__, places.tolist())))
    return list(map(built.__getitem__, rows))


def _runs(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], list[int]]:
    """The value of each run of equal neighbours, and each row's run: a book's best price often
    stays for many snapshots, and its rows can share one Decimal (no sort: a moving market's
    rows differ, and it would cost more than the sharing saves)."""
    starts = np.empty(len(values), dtype=bool)
    starts[:1] = True
    np.not_equal(values[1:], values[:-1], out=starts[1:])
    runs: list[int] = (np.cumsum(starts) - 1).tolist()
    return values[starts], runs


def _trailing_zeros(cents_column: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return np.where(cents_column % 10, 0, np.where(cents_column % 100, 1, 2))


_SCALE_OF = np.array([1, 10, 100], dtype=np.int64)
_NUMPY_SAFE = 1 << 59
"""Prices below this in absolute value (5.7 × 10^15 USD) can be summed, and the sum multiplied
by 5 (or 4), in int64 arithmetic."""


class StoreBook(LazyBook):
    """The book of one store record: levels built from its integer columns on first access."""

    __slots__ = ("_chunk", "_row")
    _chunk: _Chunk
    _row: int

    def _top(self) -> tuple[Decimal | None, Decimal | None]:
        return self._chunk.top(self._row)

    def _build_side(self, bids: bool) -> tuple[BookLevel, ...]:
        bid_px, bid_qty, ask_px, ask_qty = self._chunk.row_levels(self._row)
        return cents_levels(bid_px, bid_qty) if bids else cents_levels(ask_px, ask_qty)

    def units(self) -> BookUnits:
        """The levels in cents and satoshis, straight from the record's integers."""
        return _new_units(BookUnits, (*self._chunk.row_levels(self._row), PRICE_DECIMALS, QUANTITY_DECIMALS))


_new_units = tuple.__new__
"""A :class:`BookUnits` without its Python-level ``__new__`` (a third of its cost)."""


class StoreSnapshot(LazySnapshot):
    """A snapshot read from the fast store: a row reference until something looks inside (the
    reader sets the mid, spread, best prices and book once they have been read in an earlier
    chunk)."""

    __slots__ = ("_chunk", "_row")
    _chunk: _Chunk
    _row: int

    def _top(self) -> tuple[Decimal | None, Decimal | None]:
        return self._chunk.top(self._row)

    def _mid_spread(self) -> tuple[Decimal | None, Decimal | None]:
        mids, spreads = self._chunk.mids_spreads()
        row = self._row
        return mids[row], spreads[row]

    def top_cents(self) -> tuple[int | None, int | None]:
        """Best bid and ask in integer cents (None: that side is empty), for the simulator's test
        of whether the book crossed a resting order without building either price (read from the
        record's own columns: no level is built)."""
        chunk, row = self._chunk, self._row
        return (chunk.bid0[row] if chunk.nbid[row] else None, chunk.ask0[row] if chunk.nask[row] else None)

    def _build_book(self) -> OrderBook:
        book = _new(StoreBook)
        _set(book, "_chunk", self._chunk)
        _set(book, "_row", self._row)
        return book

    def _build_ticker(self) -> Ticker:
        rec = self._chunk.rec[self._row]
        return Ticker(last=cents(int(rec["last"])), bid=cents(int(rec["bid"])), ask=cents(int(rec["ask"])))

    def trade_units(self) -> list[tuple[int, int, int, int]]:
        """The trades newest first as the store's integers: (ts, satoshis, 10^-10 USD, 1 if the
        taker sold else 0). The simulator scans them without building a ``Trade`` per print."""
        return self._chunk.trade_rows(self._row)

    def has_trades(self) -> bool:
        """Whether the recorded line had a ``trades`` list (possibly empty)."""
        return bool(int(self._chunk.rec[self._row]["flags"]) & _HAS_TRADES)

    def _build_trades(self) -> tuple[Trade, ...]:
        return tuple(self.iter_trades())

    def iter_trades(self, since: int = -1) -> Iterator[Trade]:
        """Newest first, down to the first trade older than ``since``; built like ``parse.trade``."""
        for ts, btc, usd, sell in self.trade_units():
            if ts < since:
                return
            quantity = satoshis(btc)
            yield Trade(ts, units_to_decimal(usd, USD_DECIMALS) / quantity, quantity, Side.SELL if sell else Side.BUY)

    def trade_amounts(self) -> list[tuple[int, Decimal, Decimal, Side]]:
        """Each trade as (ts, BTC amount, USD amount, taker side), exactly as recorded."""
        return [
            (ts, satoshis(btc), units_to_decimal(usd, USD_DECIMALS), Side.SELL if sell else Side.BUY)
            for ts, btc, usd, sell in self.trade_units()
        ]

    def units(self) -> Units:
        """This snapshot in the store's integer units."""
        chunk, row = self._chunk, self._row
        rec = chunk.rec[row]
        return Units(self.ts, int(rec["last"]), int(rec["bid"]), int(rec["ask"]), *chunk.row_levels(row),
                     self.trade_units() if self.has_trades() else None)


_new = object.__new__
_set = object.__setattr__


def _slot_setter(cls: type, name: str) -> Callable[[object, Any], None]:
    """The ``__set__`` of ``cls``'s slot ``name``: a third cheaper than ``object.__setattr__``,
    which looks the slot up by its name at each call (the reader sets up to ten per snapshot)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            setter: Callable[[object, Any], None] = vars(klass)[name].__set__
            return setter
    raise AttributeError(f"{cls.__name__} has no slot {name!r}")


class StoreReader:
    """Stream the snapshots of a store in chunks; memory stays flat whatever the file's size.

    Opening checks the header (and, from version 2, its checksum and the checksum table);
    iterating checks each chunk's checksum and each record's counts before anything uses them.
    A damaged chunk or record is skipped and counted in ``bad_lines`` (its snapshots), logged with
    the file and the snapshot indexes; with ``strict`` it raises ``DataFileError`` instead.
    """

    def __init__(self, path: str | os.PathLike[str], *, strict: bool = False) -> None:
        self.path = Path(path)
        self.strict = strict
        self.snapshots = 0
        self.bad_lines = 0
        self._problems = 0
        try:
            with open(self.path, "rb") as f:
                head = f.read(HEADER_SIZE)
                size = os.fstat(f.fileno()).st_size
                meta = self._header(head)
                self.meta: dict[str, Any] = meta
                self.version: int = meta["version"]
                self.levels: int = meta["levels"]
                self.count: int = meta["snapshots"]
                self.trade_count: int = meta["trades"]
                self.dtype = record_dtype(self.levels)
                self.chunk: int = meta.get("chunk", chunk_records(self.levels))
                self.trade_chunk: int = meta.get("trade_chunk", CHUNK)
                self.instrument = self._instrument(meta)
                self.checksummed = self.version >= 2
                self._trades_offset = HEADER_SIZE + self.count * self.dtype.itemsize
                table_at = self._trades_offset + self.trade_count * TRADE_DTYPE.itemsize
                entries = _chunks_of(self.count, self.chunk) + _chunks_of(self.trade_count, self.trade_chunk)
                expected = table_at + ((entries + 1) * _CRC_DTYPE.itemsize if self.checksummed else 0)
                if size != expected:
                    raise DataFileError(
                        f"{self.path}: store is {size} bytes, its header says {expected}: truncated or damaged?"
                    )
                self._sums = self._table(f, table_at, entries)
        except OSError as exc:
            raise DataFileError(f"{self.path}: cannot open: {exc.strerror or exc}") from None
        # Which trade chunks passed their checksum (version 2), so that each is checked once a pass.
        self._trade_ok = np.zeros(_chunks_of(self.trade_count, self.trade_chunk) if self.checksummed else 0, dtype=bool)

    def _header(self, head: bytes) -> dict[str, Any]:
        """The header's fields, each checked before anything is sized from it."""
        if head[:8] != MAGIC:
            raise DataFileError(f"{self.path}: not a botkit snapshot store (bad magic; was it finished?)")
        crc_ok = len(head) == HEADER_SIZE and zlib.crc32(head[:_HEADER_CRC_AT]) == int.from_bytes(
            head[_HEADER_CRC_AT:], "little")
        damaged = "" if crc_ok else " (the header fails its checksum: the file is damaged)"
        length = int.from_bytes(head[8:12], "little")
        try:
            meta = json.loads(head[12 : 12 + length]) if length <= _HEADER_CRC_AT - 12 else None
        except ValueError:
            meta = None
        if not isinstance(meta, dict):
            raise DataFileError(f"{self.path}: unreadable store header{damaged}")
        version = meta.get("version")
        if meta.get("format") != FORMAT or version not in (1, VERSION) or type(version) is not int:
            raise DataFileError(f"{self.path}: unsupported store version {str(version)[:20]!r}{damaged}")
        if version >= 2 and not crc_ok:
            raise DataFileError(f"{self.path}: the store header fails its checksum: the file is damaged")
        units = tuple(meta.get(k) for k in ("price_decimals", "quantity_decimals", "usd_decimals"))
        if units != (PRICE_DECIMALS, QUANTITY_DECIMALS, USD_DECIMALS):
            raise DataFileError(f"{self.path}: unsupported units in the store header")
        self._whole(meta, "levels", 1, MAX_LEVELS)
        self._whole(meta, "snapshots", 0, _INT64_MAX)
        self._whole(meta, "trades", 0, _INT64_MAX)
        if version >= 2:
            if meta.get("checksum") != "crc32":
                raise DataFileError(f"{self.path}: unsupported checksum {str(meta.get('checksum'))[:20]!r}")
            self._whole(meta, "chunk", 1, chunk_records(meta["levels"]))
            self._whole(meta, "trade_chunk", 1, CHUNK)
        return meta

    def _instrument(self, meta: dict[str, Any]) -> Instrument:
        """The header's instrument; Buttercoin's for a store written before instruments existed."""
        if "instrument" not in meta:
            return BUTTERCOIN
        try:
            return Instrument.from_json(meta["instrument"], f"{self.path}: store header")
        except (ValueError, TypeError) as exc:
            raise DataFileError(str(exc)) from None

    def _whole(self, meta: dict[str, Any], key: str, low: int, high: int) -> None:
        value = meta.get(key)
        if type(value) is not int or not low <= value <= high:
            raise DataFileError(
                f"{self.path}: store header field {key!r} is {str(value)[:40]!r}, not a whole number "
                f"from {low} to {high} (a damaged or foreign file)"
            )

    def _table(self, f: IO[bytes], at: int, entries: int) -> list[int]:
        """The checksum table (empty for version 1), itself checked against its own CRC."""
        if not self.checksummed:
            return []
        f.seek(at)
        data = f.read((entries + 1) * _CRC_DTYPE.itemsize)
        table, own = data[:-4], int.from_bytes(data[-4:], "little")
        if zlib.crc32(table) != own:
            raise DataFileError(f"{self.path}: the store's checksum table fails its own checksum: the file is damaged")
        sums: list[int] = np.frombuffer(table, dtype=_CRC_DTYPE).tolist()
        return sums

    def __len__(self) -> int:
        return self.count

    def _skip(self, problem: str, snapshots: int) -> None:
        self._problems += 1
        skip_or_raise(self.path, str(self.path), problem, strict=self.strict, reported=self._problems)
        self.bad_lines += snapshots

    def _records(self, f: IO[bytes], index: int) -> npt.NDArray[Any] | None:
        """Chunk ``index`` of the snapshot records, or None (reported) when it fails its checksum."""
        first = index * self.chunk
        n = min(self.chunk, self.count - first)
        f.seek(HEADER_SIZE + first * self.dtype.itemsize)
        data = f.read(n * self.dtype.itemsize)
        if self.checksummed and zlib.crc32(data) != self._sums[index]:
            self._skip(f"snapshots {first}-{first + n - 1} (chunk {index}) fail their checksum: "
                       "the file is damaged there", n)
            return None
        return np.frombuffer(data, dtype=self.dtype)

    def _sane(self, rec: npt.NDArray[Any], first: int, last_ts: int) -> npt.NDArray[Any]:
        """The records whose counts can be used (in range, time order kept); the others are reported."""
        levels = self.levels
        ts = rec["ts"]
        ok = ((rec["nbid"] >= 0) & (rec["nbid"] <= levels) & (rec["nask"] >= 0) & (rec["nask"] <= levels)
              & (rec["ntrades"] >= 0) & (rec["trade_end"] >= rec["ntrades"])
              & (rec["trade_end"] <= self.trade_count) & ((rec["flags"] & ~_HAS_TRADES) == 0)
              & (ts >= np.maximum.accumulate(np.concatenate(([last_ts], ts[:-1])))))
        if ok.all():
            return rec
        for row in np.flatnonzero(~ok).tolist():
            self._skip(f"snapshot {first + row}: its record's counts or time are out of range (a damaged file)", 1)
        kept: npt.NDArray[Any] = rec[ok]
        return kept

    def _trades_between(self, f: IO[bytes], first: int, end: int) -> npt.NDArray[Any] | None:
        """Trade records ``first`` to ``end``; None when a chunk they lie in fails its checksum."""
        if end <= first:
            return np.zeros(0, dtype=TRADE_DTYPE)
        size = TRADE_DTYPE.itemsize
        if self.checksummed:  # read whole chunks, so that each can be checked
            lo, hi = first // self.trade_chunk, _chunks_of(end, self.trade_chunk)
            start, stop = lo * self.trade_chunk, min(hi * self.trade_chunk, self.trade_count)
        else:
            lo = hi = 0
            start, stop = first, end
        f.seek(self._trades_offset + start * size)
        data = f.read((stop - start) * size)
        base = len(self._sums) - len(self._trade_ok)
        step = self.trade_chunk * size
        for index in range(lo, hi):
            if self._trade_ok[index]:
                continue
            if zlib.crc32(data[(index - lo) * step : (index - lo + 1) * step]) != self._sums[base + index]:
                return None
            self._trade_ok[index] = True
        trades: npt.NDArray[Any] = np.frombuffer(data, dtype=TRADE_DTYPE)[first - start : end - start]
        return trades

    def __iter__(self) -> Iterator[Snapshot]:
        self.snapshots = self.bad_lines = self._problems = 0
        self._trade_ok[:] = False
        new = _new
        set_ts, set_chunk, set_row = (_slot_setter(StoreSnapshot, name) for name in ("ts", "_chunk", "_row"))
        set_mid, set_spread, set_bid, set_ask, set_book = (
            _slot_setter(StoreSnapshot, name) for name in ("mid", "spread", "best_bid", "best_ask", "book"))
        set_book_chunk, set_book_row = (_slot_setter(StoreBook, name) for name in ("_chunk", "_row"))
        last_ts = -(1 << 62)
        bulk = (False, False, False, False)  # what the last chunk made in bulk (made_in_bulk)
        with open(self.path, "rb") as f, open(self.path, "rb") as tf:
            for index in range(_chunks_of(self.count, self.chunk)):
                rec = self._records(f, index)
                if rec is None:
                    continue
                first_snapshot = index * self.chunk
                rec = self._sane(rec, first_snapshot, last_ts)
                if not len(rec):
                    continue
                ends = rec["trade_end"]
                first, end = int((ends - rec["ntrades"]).min()), int(ends.max())
                where = f"snapshots {first_snapshot}-{first_snapshot + len(rec) - 1} (chunk {index})"
                if end - first > MAX_CHUNK_TRADES:
                    self._skip(f"{where} list trades {first}-{end - 1}, more than the {MAX_CHUNK_TRADES:,} a chunk "
                               "may: the file is damaged there", len(rec))
                    continue
                trades = self._trades_between(tf, first, end)
                if trades is None:
                    self._skip(f"{where}: their trades (records {first}-{end - 1}) fail their checksum: "
                               "the file is damaged there", len(rec))
                    continue
                chunk = _Chunk(rec, trades, first, bulk[1:])
                # Once something has read a chunk's mid (the engine, at every tick) or read its
                # best prices or levels densely (most strategies, at every tick: see
                # SPARSE_READS), every later snapshot comes with them (or its book) set: a read
                # is then a slot read, not an attribute miss and a few calls (the same values).
                mids, spreads = chunk.mids_spreads() if bulk[0] else (None, None)
                bids, asks = chunk.best_prices() if bulk[1] else (None, None)
                books = bulk[2]  # levels read densely: the book is read at every snapshot
                for row, ts in enumerate(rec["ts"].tolist()):
                    snap = new(StoreSnapshot)
                    set_ts(snap, ts)
                    if mids is not None and spreads is not None:
                        set_mid(snap, mids[row])
                        set_spread(snap, spreads[row])
                    if bids is not None and asks is not None:
                        set_bid(snap, bids[row])
                        set_ask(snap, asks[row])
                    if books:  # what _build_book makes, without the attribute miss and two calls
                        book = new(StoreBook)
                        set_book_chunk(book, chunk)
                        set_book_row(book, row)
                        set_book(snap, book)
                    set_chunk(snap, chunk)
                    set_row(snap, row)
                    yield snap
                bulk = chunk.made_in_bulk()
                self.snapshots += len(rec)
                last_ts = int(rec["ts"][-1])
            self._check_unused_trades(tf)

    def _check_unused_trades(self, f: IO[bytes]) -> None:
        """Check the trade chunks no snapshot read (their damage harms no replay, but it is damage)."""
        for index in np.flatnonzero(~self._trade_ok).tolist():
            start = index * self.trade_chunk
            stop = min(start + self.trade_chunk, self.trade_count)
            if self._trades_between(f, start, stop) is None:
                self._skip(f"trades {start}-{stop - 1} (trade chunk {index}) fail their checksum "
                           "(no snapshot lists them)", 1)


def units_json_line(u: Units) -> str:
    """One JSON Lines snapshot from integer units (the fast way out of the store)."""
    p, q, a = PRICE_DECIMALS, QUANTITY_DECIMALS, USD_DECIMALS

    def side(px: list[int], qty: list[int]) -> str:
        return ",".join(
            f'{{"price":{units_text(x, p)},"quantity":{units_text(y, q)}}}' for x, y in zip(px, qty, strict=True)
        )

    text = (
        f'{{"ts":{u.ts},"ticker":{{"currency":"USD","last":{units_text(u.last, p)},'
        f'"bid":{units_text(u.bid, p)},"ask":{units_text(u.ask, p)}}},'
        f'"orderbook":{{"bid":[{side(u.bid_px, u.bid_qty)}],"ask":[{side(u.ask_px, u.ask_qty)}],'
        f'"price_currency":"USD","quantity_currency":"BTC"}}'
    )
    if u.trades is None:
        return text + "}"
    trades = ",".join(
        (
            f'{{"spent":{units_text(btc, q)},"spentCurrency":"BTC","earned":{units_text(usd, a)},'
            f'"earnedCurrency":"USD","timestamp":{ts}}}'
        )
        if sell
        else (
            f'{{"spent":{units_text(usd, a)},"spentCurrency":"USD","earned":{units_text(btc, q)},'
            f'"earnedCurrency":"BTC","timestamp":{ts}}}'
        )
        for ts, btc, usd, sell in u.trades
    )
    return f'{text},"trades":[{trades}]}}'
