"""Tardis.dev CSV exports (``tardis-dev`` datasets): ``book_snapshot_5``/``book_snapshot_25``
(any ``book_snapshot_N``), ``quotes`` and ``trades``, told apart by their header.

Every file starts ``exchange,symbol,timestamp,local_timestamp``; ``timestamp`` is the exchange's
time and ``local_timestamp`` the time Tardis received the message, both microseconds since the
epoch. Which one becomes the snapshot's millisecond is ``--clock`` (:data:`DEFAULT_CLOCK`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from botkit.core.errors import DataFileError
from botkit.data.importers import rows as common

DEFAULT_CLOCK: common.Clock = "local"
"""``local_timestamp`` by default: Tardis writes every file in the order it received the messages
(so this clock never goes back, while exchange times can, between feeds and even within one),
some exchanges send no time of their own (Tardis then repeats the local one), and it is the moment
a bot could have acted on the row: the feed's latency is in the data, as it would be live."""

_COMMON = ["exchange", "symbol", "timestamp", "local_timestamp"]
_LEVEL = re.compile(r"(asks|bids)\[(\d+)\]\.(price|amount)")


class TardisFile:
    """One Tardis CSV file, its layout read from the header (:class:`~.rows.Source`)."""

    def __init__(self, path: Path, problems: common.Problems, clock: common.Clock) -> None:
        self.path = path
        self.problems = problems
        self.clock_column = 2 if clock == "exchange" else 3
        self.zero_levels = 0
        """Levels of zero amount dropped so far (a level that was emptied is no level)."""
        self._records = common.records(path, problems)
        first = next(self._records, None)
        if first is None:
            raise DataFileError(f"{path}: empty file: a Tardis CSV starts with its header line")
        self.header = first[1]
        self.kind, self.layout, self.levels = self._shape(self.header)
        self._first_row = next(self._records, None)
        if self._first_row is None:
            raise DataFileError(f"{path}: the file has a header and no rows")
        row = self._first_row[1]
        if len(row) != len(self.header):
            raise DataFileError(f"{path}:{self._first_row[0]}: {len(row)} columns under a header of "
                                f"{len(self.header)}: not a Tardis CSV")
        self.exchange, self.symbol = row[0], row[1]

    def _shape(self, header: list[str]) -> tuple[common.Kind, str, int]:
        if header[:4] == _COMMON:
            rest = header[4:]
            if rest == ["id", "side", "price", "amount"]:
                return "trades", "trades", 0
            if sorted(rest) == ["ask_amount", "ask_price", "bid_amount", "bid_price"]:
                self._quote = [rest.index(name) + 4 for name in ("bid_price", "bid_amount", "ask_price", "ask_amount")]
                return "book", "quotes", 1
            depth = self._book_columns(rest)
            if depth:
                return "book", f"book_snapshot_{depth}", depth
        raise DataFileError(
            f"{self.path}:1: unknown shape: the header {','.join(header)[:120]!r} is none of Tardis's "
            "book_snapshot_N, quotes or trades CSVs (incremental_book_L2 and the other datasets are not "
            "snapshots: export book_snapshot_25 or quotes with tardis-dev, see docs/data.md)")

    def _book_columns(self, rest: list[str]) -> int:
        """Depth of a ``book_snapshot_N`` header (0 when it is not one); remembers the columns."""
        found: dict[tuple[str, int, str], int] = {}
        for index, name in enumerate(rest):
            match = _LEVEL.fullmatch(name)
            if not match:
                return 0
            found[(match[1], int(match[2]), match[3])] = index + 4
        depth = len(found) // 4
        wanted = {(side, i, what) for side in ("asks", "bids") for i in range(depth) for what in ("price", "amount")}
        if not depth or set(found) != wanted:
            return 0
        self._bids = [(found[("bids", i, "price")], found[("bids", i, "amount")]) for i in range(depth)]
        self._asks = [(found[("asks", i, "price")], found[("asks", i, "amount")]) for i in range(depth)]
        return depth

    def rows(self) -> Iterator[common.Row]:
        assert self._first_row is not None
        parse = self._trade if self.kind == "trades" else self._quotes if self.layout == "quotes" else self._book
        width = len(self.header)
        symbol = self.symbol
        bad = self.problems.bad
        path = self.path

        def all_records() -> Iterator[tuple[int, list[str]]]:
            assert self._first_row is not None
            yield self._first_row
            yield from self._records

        for line, row in all_records():
            try:
                if len(row) != width:
                    raise common.RowError(f"{len(row)} columns, the header has {width}")
                if row[1] != symbol:
                    raise common.RowError(f"mixed symbols: {row[1][:40]!r} in a file of {symbol!r} (import one symbol "
                                   "at a time: split the file by its symbol column)")
                yield parse(row, line)
            except common.RowError as exc:
                bad(path, line, str(exc))

    def _ts(self, row: list[str]) -> int:
        return common.us_to_ms(common.whole(row[self.clock_column], _COMMON[self.clock_column]))

    def _trade(self, row: list[str], line: int) -> common.Row:
        return common.TradeRow(self._ts(row), common.positive(row[6], "price"), common.positive(row[7], "amount"),
                        common.side_of(row[5], "side"), line)

    def _quotes(self, row: list[str], line: int) -> common.Row:
        bp, ba, ap, aa = (row[i] for i in self._quote)
        bids, zero_b = common.levels_of([(bp, ba)], "bids", True)
        asks, zero_a = common.levels_of([(ap, aa)], "asks", False)
        self.zero_levels += zero_b + zero_a
        return common.BookRow(self._ts(row), bids, asks, line)

    def _book(self, row: list[str], line: int) -> common.Row:
        bids, zero_b = common.levels_of([(row[p], row[a]) for p, a in self._bids], "bids", True)
        asks, zero_a = common.levels_of([(row[p], row[a]) for p, a in self._asks], "asks", False)
        self.zero_levels += zero_b + zero_a
        return common.BookRow(self._ts(row), bids, asks, line)
