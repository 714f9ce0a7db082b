"""The one seeded market every contender replays, in each contender's own format.

botkit reads the store (``.bks``) and JSON Lines written by ``botkit.data``; the peers cannot, so
the same books are exported from the store's integer records, untouched: ``books.npz`` (prices in
cents, quantities in satoshis, 10 levels a side, and the trades) for nautilus_trader, and
``bars.csv`` (1-minute OHLCV of the mid, volume from the trades) for backtrader, which works on
bars. Nothing is recomputed from floats, so every contender sees the same market.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from botkit.data import convert, generate
from botkit.data.store import HEADER_SIZE, TRADE_DTYPE, StoreReader

LEVELS = 10
BAR_MS = 60_000


@dataclass(frozen=True)
class MarketFiles:
    """One size of the market in every contender's format."""

    snapshots: int
    store: Path
    jsonl: Path
    books: Path
    bars: Path


def prepare(directory: Path, snapshots: int, *, seed: int = 1) -> MarketFiles:
    """Generate (once; files are kept between runs) the market of ``snapshots`` and its exports."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"market-{snapshots}x{LEVELS}-seed{seed}"
    files = MarketFiles(snapshots, directory / f"{stem}.bks", directory / f"{stem}.jsonl",
                        directory / f"{stem}.books.npz", directory / f"{stem}.bars.csv")
    if not files.store.exists():
        _timed(f"generating {snapshots:,} snapshots into {files.store}",
               lambda: generate(files.store, snapshots, levels=LEVELS, seed=seed))
    if not files.jsonl.exists():
        _timed(f"converting to {files.jsonl}", lambda: convert(files.store, files.jsonl))
    if not files.books.exists() or not files.bars.exists():
        _timed(f"exporting books and bars for the peers ({files.books.name}, {files.bars.name})",
               lambda: export(files.store, files.books, files.bars))
    return files


def _timed(what: str, action: Any) -> None:
    print(f"  {what} ...", flush=True)
    started = time.perf_counter()
    action()
    print(f"  ... {time.perf_counter() - started:.1f} s", flush=True)


def _records(store: Path) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """The store's snapshot and trade records, as the file holds them (its header read by botkit)."""
    reader = StoreReader(store, strict=True)
    if reader.levels != LEVELS:
        raise SystemExit(f"{store}: has {reader.levels} levels a side, the benchmark needs {LEVELS}")
    books = np.fromfile(store, dtype=reader.dtype, count=reader.count, offset=HEADER_SIZE)
    trades = np.fromfile(store, dtype=TRADE_DTYPE, count=reader.trade_count,
                         offset=HEADER_SIZE + reader.count * reader.dtype.itemsize)
    return books, trades


def export(store: Path, books_out: Path, bars_out: Path) -> None:
    """Write the store's books as integer arrays and its mids as 1-minute bars."""
    books, trades = _records(store)
    np.savez(
        books_out.with_suffix(".tmp.npz"),
        ts=books["ts"], nbid=books["nbid"], nask=books["nask"],
        bid_px=books["bid_px"], bid_qty=books["bid_qty"], ask_px=books["ask_px"], ask_qty=books["ask_qty"],
        trade_ts=trades["ts"], trade_btc=trades["btc"], trade_usd=trades["usd"], trade_sell=trades["sell"],
    )
    books_out.with_suffix(".tmp.npz").replace(books_out)
    _write_bars(books, trades, bars_out)


def _write_bars(books: npt.NDArray[Any], trades: npt.NDArray[Any], out: Path) -> None:
    """1-minute OHLC of the mid (half-cents, printed exactly) and the minute's traded BTC."""
    minute = books["ts"] // BAR_MS
    mid2 = books["bid"] + books["ask"]  # twice the mid, in cents: exact
    starts = np.flatnonzero(np.r_[True, minute[1:] != minute[:-1]])
    ends = np.r_[starts[1:], len(minute)]
    opens, closes = mid2[starts], mid2[ends - 1]
    highs, lows = np.maximum.reduceat(mid2, starts), np.minimum.reduceat(mid2, starts)
    sats = np.zeros(len(starts), dtype=np.int64)
    if len(trades):
        where = np.searchsorted(minute[starts], trades["ts"] // BAR_MS, side="right") - 1
        keep = where >= 0
        np.add.at(sats, where[keep], trades["btc"][keep])
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w", encoding="ascii") as f:
        f.write("datetime,open,high,low,close,volume\n")
        for m, o, h, low, c, v in zip(minute[starts].tolist(), opens.tolist(), highs.tolist(), lows.tolist(),
                                      closes.tolist(), sats.tolist(), strict=True):
            f.write(f"{m * BAR_MS // 1000},{_usd(o)},{_usd(h)},{_usd(low)},{_usd(c)},{v / 1e8:.8f}\n")
    tmp.replace(out)


def _usd(twice_cents: int) -> str:
    """Half-cents as exact USD text (a mid is a whole number of half-cents)."""
    return f"{twice_cents // 200}.{twice_cents % 200 * 50:04d}".rstrip("0").rstrip(".")
