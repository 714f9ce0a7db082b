"""Your own CSV files, through a mapping of botkit's fields to your header's columns.

``--columns`` maps each field to a column name of the file's header line::

    --columns ts=time,bid=bid_price,ask=ask_price,bid_size=bid_qty,ask_size=ask_qty   # a quotes file
    --columns ts=time,price=px,amount=qty,side=taker                                   # a trades file

A mapping with ``bid``/``ask`` makes a book file (one level a side; both sizes required), one with
``price``/``amount`` a trades file (``side`` optional: ``buy``/``sell``, else inferred from the book
as for Tardis's ``unknown``). ``symbol=COLUMN`` is optional and checks that every row is of one
symbol. ``ts`` is an integer count of ``--ts-unit`` (``s``, ``ms``, ``us`` or ``ns``; default ms).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from botkit.core.errors import ConfigError, DataFileError
from botkit.data.importers import rows as common

BOOK_FIELDS = ("ts", "bid", "ask", "bid_size", "ask_size")
TRADE_FIELDS = ("ts", "price", "amount")
OPTIONAL = ("side", "symbol")
UNITS = {"s": (1000, 1), "ms": (1, 1), "us": (1, 1000), "ns": (1, 1_000_000)}
"""(multiply, divide) from the unit to milliseconds, floored."""


def parse_columns(text: str) -> dict[str, str]:
    """``ts=a,bid=b,...`` as {field: column}; a ConfigError naming the fix when it is not a mapping."""
    mapping: dict[str, str] = {}
    known = set(BOOK_FIELDS + TRADE_FIELDS + OPTIONAL)
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, column = part.partition("=")
        if not sep or not column or name not in known:
            raise ConfigError("--columns", f"{part!r} is not FIELD=COLUMN with FIELD one of {', '.join(sorted(known))}",
                              "e.g. --columns ts=time,bid=bid_price,ask=ask_price,bid_size=bid_qty,ask_size=ask_qty")
        mapping[name] = column
    kind = _kind(mapping)
    missing = [f for f in (BOOK_FIELDS if kind == "book" else TRADE_FIELDS) if f not in mapping]
    if missing:
        raise ConfigError("--columns", f"a {kind} mapping needs {', '.join(missing)} too",
                          "map every field of a quotes file (ts, bid, ask, bid_size, ask_size) or of a trades "
                          "file (ts, price, amount, optional side)")
    return mapping


def _kind(mapping: Mapping[str, str]) -> common.Kind:
    book = any(f in mapping for f in BOOK_FIELDS[1:])
    trades = any(f in mapping for f in TRADE_FIELDS[1:])
    if book == trades:
        raise ConfigError("--columns", "map either a quotes file's bid/ask or a trades file's price/amount",
                          "one mapping a file kind: import quotes and trades files with their own runs, or "
                          "give both files with one mapping each (see docs/data.md)")
    return "book" if book else "trades"


class CsvFile:
    """One CSV file read through a column mapping (:class:`~.rows.Source`)."""

    def __init__(self, path: Path, problems: common.Problems, mapping: Mapping[str, str], *, ts_unit: str,
                 symbol: str | None, exchange: str | None) -> None:
        self.path = path
        self.problems = problems
        self.zero_levels = 0
        self.kind = _kind(mapping)
        self.layout = f"csv-{self.kind}"
        self.levels = 1 if self.kind == "book" else 0
        self.exchange = exchange or "csv"
        self._scale = UNITS[ts_unit]
        self._records = common.records(path, problems)
        first = next(self._records, None)
        if first is None:
            raise DataFileError(f"{path}: empty file: a CSV starts with its header line")
        header = [cell.strip() for cell in first[1]]
        absent = [column for column in mapping.values() if column not in header]
        if absent:
            raise DataFileError(f"{path}:1: unknown shape: no column {', '.join(map(repr, absent))} in the header "
                                f"({','.join(header)[:120]}): fix --columns")
        self._width = len(header)
        self._at = {name: header.index(column) for name, column in mapping.items()}
        self._first = next(self._records, None)
        if self._first is None:
            raise DataFileError(f"{path}: the file has a header and no rows")
        column = self._at.get("symbol")
        self.symbol = symbol or (self._first[1][column] if column is not None and column < len(self._first[1])
                                 else "")
        if not self.symbol:
            raise ConfigError("--symbol", f"{path} names no symbol", "give --symbol (or map symbol=COLUMN)")

    def _ts(self, text: str) -> int:
        times, divide = self._scale
        return common.whole(text, "ts") * times // divide

    def rows(self) -> Iterator[common.Row]:
        at = self._at
        symbol_at = at.get("symbol")
        side_at = at.get("side")

        def all_records() -> Iterator[tuple[int, list[str]]]:
            if self._first is not None:
                yield self._first
            yield from self._records

        for line, row in all_records():
            try:
                if len(row) != self._width:
                    raise common.RowError(f"{len(row)} columns, the header has {self._width}")
                if symbol_at is not None and row[symbol_at] != self.symbol:
                    raise common.RowError(f"mixed symbols: {row[symbol_at][:40]!r} in a file of {self.symbol!r}")
                if self.kind == "trades":
                    yield common.TradeRow(self._ts(row[at["ts"]]), common.positive(row[at["price"]], "price"),
                                   common.positive(row[at["amount"]], "amount"),
                                   common.side_of(row[side_at], "side") if side_at is not None else None, line)
                    continue
                bids, zero_b = common.levels_of([(row[at["bid"]], row[at["bid_size"]])], "bids", True)
                asks, zero_a = common.levels_of([(row[at["ask"]], row[at["ask_size"]])], "asks", False)
                self.zero_levels += zero_b + zero_a
                yield common.BookRow(self._ts(row[at["ts"]]), bids, asks, line)
            except common.RowError as exc:
                self.problems.bad(self.path, line, str(exc))
