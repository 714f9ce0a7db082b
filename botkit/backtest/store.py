"""The fast snapshot store (``.bks``): fixed-size integer records, read in chunks with numpy.

JSON Lines is the interchange format; this is the replay format for large files. Every snapshot
is one record of little-endian integers, so a chunk of 8192 snapshots is one ``read`` and a
handful of ``tolist()`` calls, and nothing is parsed per snapshot: the snapshot handed to the
engine is a :class:`~botkit.backtest.lazy.LazySnapshot` over its row, and levels become
``Decimal`` only when something reads them.

Units (exact, no floats anywhere):

* prices (ticker, book levels): integer cents (``price_decimals`` = 2);
* quantities: integer satoshis (``quantity_decimals`` = 8);
* a trade's USD amount: integer 10^-10 USD (``usd_decimals`` = 10; a price in cents times a
  quantity in satoshis fits exactly).

A value with more decimals than its unit, or too large for a signed 64-bit integer, is refused
when writing (the converter names the line). Each record holds up to ``levels`` book levels a
side (chosen when the store is written; a deeper book is refused, not cut, so a round trip is
always exact). Reading back gives snapshots equal to the JSON Lines ones.

File layout (version 1)::

    0      8 bytes  magic b"BOTKITSS"
    8      4 bytes  little-endian length of the JSON header that follows
    12     header   {"format": "botkit-snapshots", "version": 1, "levels": L, "snapshots": N,
                     "trades": M, "price_decimals": 2, "quantity_decimals": 8, "usd_decimals": 10}
    4096   N snapshot records (RECORD_DTYPE(L))
    ...    M trade records (TRADE_DTYPE), oldest first

A snapshot's ``trades`` (newest first, as the exchange lists them) are the ``ntrades`` records
ending at ``trade_end``, reversed. Consecutive polls of ``GET /v1/trades`` overlap, so the writer
stores each trade once when a list continues the previous one, and the list's records again when
it does not: either way the list read back is the list written.

The writer builds ``NAME.tmp`` and renames it when closed, so a store is either complete or
absent.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from botkit.backtest.lazy import LazyBook, LazySnapshot, cents, satoshis, units_text, units_to_decimal
from botkit.errors import DataFileError
from botkit.model import BookLevel, OrderBook, Side, Snapshot, Ticker, Trade
from botkit.numbers import NumberError, exact_decimal

MAGIC = b"BOTKITSS"
VERSION = 1
HEADER_SIZE = 4096
PRICE_DECIMALS = 2
QUANTITY_DECIMALS = 8
USD_DECIMALS = 10
DEFAULT_LEVELS = 20
CHUNK = 8192
"""Snapshots read at once: big enough to amortize numpy calls, small enough to keep memory flat."""

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
    numbers: text it refuses (``1e-40000000``) raises :class:`~botkit.numbers.NumberError`, an
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

    def __init__(self, path: str | os.PathLike[str], *, levels: int = DEFAULT_LEVELS) -> None:
        if levels < 1:
            raise ValueError("levels must be at least 1")
        self.path = Path(path)
        self.levels = levels
        self.count = 0
        self.trade_count = 0
        self._dtype = record_dtype(levels)
        self._tmp = self.path.with_name(self.path.name + ".tmp")
        self._trades_tmp = self.path.with_name(self.path.name + ".trades.tmp")
        self._out: IO[bytes] = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
        self._out.write(b"\0" * HEADER_SIZE)
        self._trades_out: IO[bytes] = open(self._trades_tmp, "wb")  # noqa: SIM115
        self._buf = np.zeros(CHUNK, dtype=self._dtype)
        self._n = 0
        self._tbuf = np.zeros(CHUNK, dtype=TRADE_DTYPE)
        self._tn = 0
        self._tail: list[tuple[int, int, int, int]] = []
        self._closed = False

    # -- trades

    def _append_trades(self, rows: Sequence[tuple[int, int, int, int]]) -> None:
        for row in rows:
            if self._tn == CHUNK:
                self._tbuf.tofile(self._trades_out)
                self._tn = 0
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
        if self._n == CHUNK:
            self._flush()

    def add_snapshot(self, snapshot: Snapshot) -> None:
        """Add a model snapshot; lazy ones convert straight from their recorded text or units."""
        units = getattr(snapshot, "units", None)
        if units is not None:
            self.add_units(units())
            return
        from botkit.backtest.jsonl import trade_amounts

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
            np.ascontiguousarray(trades, dtype=TRADE_DTYPE).tofile(self._trades_out)
            self.trade_count += len(trades)
            self._tail = []
        np.ascontiguousarray(block).tofile(self._out)
        self.count += len(block)

    def _flush(self) -> None:
        if self._n:
            self._buf[: self._n].tofile(self._out)
            self._buf[: self._n] = 0
            self._n = 0

    def _flush_trades(self) -> None:
        if self._tn:
            self._tbuf[: self._tn].tofile(self._trades_out)
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
            shutil.copyfileobj(trades_in, self._out, 1 << 20)
        header = json.dumps(
            {
                "format": "botkit-snapshots",
                "version": VERSION,
                "levels": self.levels,
                "snapshots": self.count,
                "trades": self.trade_count,
                "price_decimals": PRICE_DECIMALS,
                "quantity_decimals": QUANTITY_DECIMALS,
                "usd_decimals": USD_DECIMALS,
            },
            sort_keys=True,
        ).encode()
        self._out.seek(0)
        self._out.write(MAGIC + len(header).to_bytes(4, "little") + header)
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


class _Chunk:
    """One chunk of records, its columns as Python lists, and the trades its rows refer to.

    The per-snapshot reads are list indexing, not numpy scalar access (which costs about a
    microsecond each); the chunk's trades become Python tuples once, on first use.
    """

    __slots__ = ("_trade_list", "ask0", "bid0", "first_trade", "nask", "nbid", "ntrades", "rec", "trade_end",
                 "trades")

    def __init__(self, rec: npt.NDArray[Any], trades: npt.NDArray[Any], first_trade: int) -> None:
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

    def trade_rows(self, row: int) -> list[tuple[int, int, int, int]]:
        """The trades of one snapshot, newest first, as (ts, satoshis, 10^-10 USD, sold)."""
        rows = self._trade_list
        if rows is None:
            rows = self._trade_list = self.trades.tolist()
        end = self.trade_end[row]
        return rows[end - self.ntrades[row] : end][::-1]


class StoreBook(LazyBook):
    """The book of one store record: levels built from its integer columns on first access."""

    __slots__ = ("_chunk", "_row")
    _chunk: _Chunk
    _row: int

    def _top(self) -> tuple[Decimal | None, Decimal | None]:
        chunk, row = self._chunk, self._row
        return (
            cents(chunk.bid0[row]) if chunk.nbid[row] else None,
            cents(chunk.ask0[row]) if chunk.nask[row] else None,
        )

    def _build_side(self, bids: bool) -> tuple[BookLevel, ...]:
        chunk, row = self._chunk, self._row
        rec = chunk.rec[row]
        n = chunk.nbid[row] if bids else chunk.nask[row]
        px = (rec["bid_px"] if bids else rec["ask_px"])[:n].tolist()
        qty = (rec["bid_qty"] if bids else rec["ask_qty"])[:n].tolist()
        return tuple(BookLevel(cents(p), satoshis(q)) for p, q in zip(px, qty, strict=True))


class StoreSnapshot(LazySnapshot):
    """A snapshot read from the fast store: a row reference until something looks inside."""

    __slots__ = ("_chunk", "_row")
    _chunk: _Chunk
    _row: int

    def _top(self) -> tuple[Decimal | None, Decimal | None]:
        chunk, row = self._chunk, self._row
        return (
            cents(chunk.bid0[row]) if chunk.nbid[row] else None,
            cents(chunk.ask0[row]) if chunk.nask[row] else None,
        )

    def _build_book(self) -> OrderBook:
        book = _new(StoreBook)
        _set(book, "_chunk", self._chunk)
        _set(book, "_row", self._row)
        return book

    def _build_ticker(self) -> Ticker:
        rec = self._chunk.rec[self._row]
        return Ticker(last=cents(int(rec["last"])), bid=cents(int(rec["bid"])), ask=cents(int(rec["ask"])))

    def _trade_rows(self) -> list[tuple[int, int, int, int]]:
        return self._chunk.trade_rows(self._row)

    def has_trades(self) -> bool:
        """Whether the recorded line had a ``trades`` list (possibly empty)."""
        return bool(int(self._chunk.rec[self._row]["flags"]) & _HAS_TRADES)

    def _build_trades(self) -> tuple[Trade, ...]:
        return tuple(self.iter_trades())

    def iter_trades(self, since: int = -1) -> Iterator[Trade]:
        """Newest first, down to the first trade older than ``since``; built like ``parse.trade``."""
        for ts, btc, usd, sell in self._trade_rows():
            if ts < since:
                return
            quantity = satoshis(btc)
            yield Trade(ts, units_to_decimal(usd, USD_DECIMALS) / quantity, quantity, Side.SELL if sell else Side.BUY)

    def trade_amounts(self) -> list[tuple[int, Decimal, Decimal, Side]]:
        """Each trade as (ts, BTC amount, USD amount, taker side), exactly as recorded."""
        return [
            (ts, satoshis(btc), units_to_decimal(usd, USD_DECIMALS), Side.SELL if sell else Side.BUY)
            for ts, btc, usd, sell in self._trade_rows()
        ]

    def units(self) -> Units:
        """This snapshot in the store's integer units."""
        chunk, row = self._chunk, self._row
        rec = chunk.rec[row]
        nb, na = chunk.nbid[row], chunk.nask[row]
        return Units(
            self.ts, int(rec["last"]), int(rec["bid"]), int(rec["ask"]),
            rec["bid_px"][:nb].tolist(), rec["bid_qty"][:nb].tolist(),
            rec["ask_px"][:na].tolist(), rec["ask_qty"][:na].tolist(),
            self._trade_rows() if self.has_trades() else None,
        )


_new = object.__new__
_set = object.__setattr__


class StoreReader:
    """Stream the snapshots of a store in chunks; memory stays flat whatever the file's size."""

    def __init__(self, path: str | os.PathLike[str], *, chunk: int = CHUNK) -> None:
        self.path = Path(path)
        self.chunk = chunk
        self.snapshots = 0
        self.bad_lines = 0
        try:
            with open(self.path, "rb") as f:
                head = f.read(HEADER_SIZE)
                size = os.fstat(f.fileno()).st_size
        except OSError as exc:
            raise DataFileError(f"{self.path}: cannot open: {exc.strerror or exc}") from None
        if head[:8] != MAGIC:
            raise DataFileError(f"{self.path}: not a botkit snapshot store (bad magic; was it finished?)")
        length = int.from_bytes(head[8:12], "little")
        try:
            meta = json.loads(head[12 : 12 + length])
        except ValueError:
            raise DataFileError(f"{self.path}: unreadable store header") from None
        if meta.get("format") != "botkit-snapshots" or meta.get("version") != VERSION:
            raise DataFileError(f"{self.path}: unsupported store version {meta.get('version')!r}")
        if (meta["price_decimals"], meta["quantity_decimals"], meta["usd_decimals"]) != (
            PRICE_DECIMALS,
            QUANTITY_DECIMALS,
            USD_DECIMALS,
        ):
            raise DataFileError(f"{self.path}: unsupported units in the store header")
        self.meta: dict[str, Any] = meta
        self.levels: int = meta["levels"]
        self.count: int = meta["snapshots"]
        self.trade_count: int = meta["trades"]
        self.dtype = record_dtype(self.levels)
        self._trades_offset = HEADER_SIZE + self.count * self.dtype.itemsize
        expected = self._trades_offset + self.trade_count * TRADE_DTYPE.itemsize
        if size != expected:
            raise DataFileError(f"{self.path}: store is {size} bytes, its header says {expected}: truncated?")

    def __len__(self) -> int:
        return self.count

    def chunks(self) -> Iterator[npt.NDArray[Any]]:
        """The raw records, ``chunk`` at a time (for bulk tools)."""
        with open(self.path, "rb") as f:
            f.seek(HEADER_SIZE)
            left = self.count
            while left:
                n = min(self.chunk, left)
                yield np.fromfile(f, dtype=self.dtype, count=n)
                left -= n

    def _trades_between(self, f: IO[bytes], first: int, end: int) -> npt.NDArray[Any]:
        if end <= first:
            return np.zeros(0, dtype=TRADE_DTYPE)
        f.seek(self._trades_offset + first * TRADE_DTYPE.itemsize)
        return np.fromfile(f, dtype=TRADE_DTYPE, count=end - first)

    def __iter__(self) -> Iterator[Snapshot]:
        self.snapshots = 0
        new, put = _new, _set
        with open(self.path, "rb") as tf:
            for rec in self.chunks():
                ends = rec["trade_end"]
                starts = ends - rec["ntrades"]
                first = int(starts.min()) if len(rec) else 0
                trades = self._trades_between(tf, first, int(ends.max()) if len(rec) else 0)
                chunk = _Chunk(rec, trades, first)
                for row, ts in enumerate(rec["ts"].tolist()):
                    snap = new(StoreSnapshot)
                    put(snap, "ts", ts)
                    put(snap, "_chunk", chunk)
                    put(snap, "_row", row)
                    yield snap
                self.snapshots += len(rec)


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
