"""What every importer shares: the rows it yields, opening a dataset file, exact numbers from
text, and the report of bad rows by file and line.

A dataset file is read as a stream of CSV records (``csv`` module, one record at a time), so
memory stays flat whatever the file's size. It may be gzip-compressed (recognized by its magic
bytes, whatever its name) or a zip archive of one CSV (Binance's downloads): a gzip stream that
ends early is one bad row at the line where it ends, and every complete row before it is kept.

Numbers become :class:`~decimal.Decimal` from their text and nothing else (no float ever), bounded
as every external number is (:func:`botkit.numbers.exact_decimal`).
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Literal, Protocol

from botkit.core.errors import DataFileError
from botkit.core.numbers import NumberError, exact_decimal
from botkit.data.badlines import MAX_REPORTED
from botkit.model import BookLevel, Side

log = logging.getLogger("botkit.data")

Kind = Literal["book", "trades"]
Clock = Literal["exchange", "local"]


class RowError(Exception):
    """What is wrong with one row; the reader adds the file and line."""


@dataclass(frozen=True, slots=True)
class BookRow:
    """One state of the book (levels best first; levels of zero amount already dropped)."""

    ts: int
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    line: int


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One trade print; ``side`` is the taker's, None when the dataset does not know it."""

    ts: int
    price: Decimal
    quantity: Decimal
    side: Side | None
    line: int


Row = BookRow | TradeRow


class Source(Protocol):
    """One opened dataset file: what it holds, and its rows in file order."""

    path: Path
    kind: Kind
    layout: str
    """The file's format within its dataset (``book_snapshot_25``, ``aggTrades``, ...)."""
    exchange: str
    symbol: str
    levels: int
    """Book levels a side a row can hold (0 for trades)."""
    zero_levels: int
    """Levels of zero amount dropped so far (a level that was emptied is no level)."""

    def rows(self) -> Iterator[Row]: ...


@dataclass
class Problems:
    """Bad rows, counted by file and reported by file and line (the first :data:`MAX_REPORTED`
    logged, then only counted); with ``strict`` the first one raises DataFileError."""

    strict: bool = False
    by_file: Counter[Path] = field(default_factory=Counter)
    first: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.by_file.values())

    def bad(self, path: Path, line: int, problem: str) -> None:
        text = f"{path}:{line}: {problem}"
        if self.strict:
            raise DataFileError(text)
        self.by_file[path] += 1
        total = self.total
        if total <= MAX_REPORTED:
            self.first.append(text)
            log.warning("skipped row: %s", text)
        elif total == MAX_REPORTED + 1:
            log.warning("more bad rows; only counting them from now on")


@contextmanager
def open_text(path: Path) -> Iterator[IO[str]]:
    """The file's text: gunzipped when it starts with gzip's magic, the one member of a zip."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise DataFileError(f"{path}: cannot open: {exc.strerror or exc}") from None
    try:
        magic = raw.read(4)
        raw.seek(0)
        binary: IO[bytes] | gzip.GzipFile | zipfile.ZipExtFile = raw
        if magic[:2] == b"\x1f\x8b":
            binary = gzip.GzipFile(fileobj=raw, mode="rb")
        elif magic == b"PK\x03\x04":
            try:
                archive = zipfile.ZipFile(raw)
            except zipfile.BadZipFile as exc:
                raise DataFileError(f"{path}: not a readable zip: {exc}") from None
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise DataFileError(f"{path}: a zip of {len(members)} files; botkit reads a zip of one CSV "
                                    "(unzip it and import the CSVs)")
            binary = archive.open(members[0])
        yield io.TextIOWrapper(binary, encoding="utf-8", newline="")
    finally:
        raw.close()


def records(path: Path, problems: Problems) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record of the file with its line number (blank lines skipped). A file that cannot
    be read on (a gzip stream that ends early, bytes that are not UTF-8) is one bad row there."""
    with open_text(path) as text:
        reader = csv.reader(text)
        line = 0
        try:
            for record in reader:
                line = reader.line_num
                if record:
                    yield line, record
        except EOFError:
            problems.bad(path, line + 1, "the gzip stream ends early (a truncated download?): the rows after "
                         "this line are lost; download the file again")
        except (OSError, gzip.BadGzipFile, zipfile.BadZipFile, UnicodeDecodeError, csv.Error) as exc:
            problems.bad(path, line + 1, f"unreadable from here on ({exc}); the rows after this line are lost")


_CACHE: dict[str, Decimal] = {}
_CACHE_LIMIT = 1 << 16


def number(text: str, what: str) -> Decimal:
    """The exact, non-negative Decimal written as ``text`` (a RowError naming ``what`` if not)."""
    value = _CACHE.get(text)
    if value is not None:
        return value
    try:
        value = exact_decimal(text, what)
    except NumberError as exc:
        raise RowError(str(exc)) from None
    if value.is_signed():
        raise RowError(f"{what} is negative: {text[:40]}")
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[text] = value
    return value


def positive(text: str, what: str) -> Decimal:
    value = number(text, what)
    if not value:
        raise RowError(f"{what} must be positive, got {text[:40]}")
    return value


def whole(text: str, what: str) -> int:
    """A non-negative integer written in ASCII digits."""
    if not text.isascii() or not text.isdigit() or len(text) > 20:
        raise RowError(f"{what} is not a whole number: {text[:40]!r}")
    return int(text)


def levels_of(pairs: list[tuple[str, str]], side: str, descending: bool) -> tuple[tuple[BookLevel, ...], int]:
    """A side's levels best first from (price, amount) texts, and how many had zero amount.

    Empty cells end the side (a book thinner than the file's depth); a level of zero amount is
    no level (dropped, counted); prices must be strictly sorted best first.
    """
    levels: list[BookLevel] = []
    zero = 0
    cached = _CACHE.get
    last: Decimal | None = None
    for index, (price_text, amount_text) in enumerate(pairs):
        if not price_text and not amount_text:
            continue
        price = cached(price_text)  # the cache holds only what number() accepted
        if not price:
            price = positive(price_text, f"{side}[{index}].price")
        amount = cached(amount_text)
        if amount is None:
            amount = number(amount_text, f"{side}[{index}].amount")
        if not amount:
            zero += 1
            continue
        if last is not None and ((price >= last) if descending else (price <= last)):
            raise RowError(f"{side} are not sorted best first ({last} then {price})")
        levels.append(BookLevel(price, amount))
        last = price
    return tuple(levels), zero


def side_of(text: str, what: str) -> Side | None:
    """The taker's side from ``buy``/``sell`` (any case); None for ``unknown`` or empty."""
    word = text.strip().lower()
    if word in ("buy", "b"):
        return Side.BUY
    if word in ("sell", "s"):
        return Side.SELL
    if word in ("", "unknown"):
        return None
    raise RowError(f"{what} is {text[:20]!r}, not buy, sell or unknown")


def us_to_ms(value: int) -> int:
    """Microseconds to milliseconds, floored: every row of one millisecond gets that millisecond."""
    return value // 1000
