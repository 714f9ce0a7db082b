"""One import: open the files in their format, settle the instrument, join, write."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from botkit.core.errors import ConfigError
from botkit.data.importers.binance import BinanceFile
from botkit.data.importers.csv import CsvFile, parse_columns
from botkit.data.importers.joiner import ImportResult, check_sources, join
from botkit.data.importers.rows import Clock, Problems, Source
from botkit.data.importers.tardis import TardisFile
from botkit.instrument import instrument_for

DatasetFormat = Literal["tardis", "binance", "csv"]
FORMATS: tuple[DatasetFormat, ...] = ("tardis", "binance", "csv")


def open_sources(fmt: DatasetFormat, paths: Sequence[Path], problems: Problems, *, clock: Clock,
                 symbol: str | None = None, exchange: str | None = None, columns: Sequence[str] = (),
                 ts_unit: str = "ms") -> list[Source]:
    """Each file opened and its shape read from its header (DataFileError for an unknown one)."""
    if fmt == "tardis":
        return [TardisFile(path, problems, clock) for path in paths]
    if fmt == "binance":
        return [BinanceFile(path, problems, clock, symbol=symbol, exchange=exchange) for path in paths]
    if not columns:
        raise ConfigError("--columns", "the csv format needs a column mapping",
                          "e.g. --columns ts=time,bid=bid_price,ask=ask_price,bid_size=bid_qty,ask_size=ask_qty")
    if len(columns) not in (1, len(paths)):
        raise ConfigError("--columns", f"{len(columns)} mappings for {len(paths)} files",
                          "give one mapping for all files, or one per file in the files' order")
    mappings = [parse_columns(text) for text in columns]
    return [CsvFile(path, problems, mappings[i if len(mappings) > 1 else 0], ts_unit=ts_unit, symbol=symbol,
                    exchange=exchange) for i, path in enumerate(paths)]


def import_files(
    fmt: DatasetFormat,
    paths: Sequence[Path],
    out: Path,
    *,
    clock: Clock = "local",
    strict: bool = False,
    instrument_options: Mapping[str, Any] | None = None,
    symbol: str | None = None,
    exchange: str | None = None,
    columns: Sequence[str] = (),
    ts_unit: str = "ms",
    progress: Callable[[Iterator[Any]], Iterator[Any]] | None = None,
) -> ImportResult:
    """Import ``paths`` (one market) into the snapshot file ``out`` (format by its suffix)."""
    problems = Problems(strict=strict)
    sources = open_sources(fmt, paths, problems, clock=clock, symbol=symbol, exchange=exchange, columns=columns,
                           ts_unit=ts_unit)
    _, market, name = check_sources(sources)
    instrument = instrument_for(exchange or market, symbol or name, instrument_options or {})
    for source in sources:
        if isinstance(source, BinanceFile):
            source.price_increment = instrument.price_increment
    return join(sources, out, instrument, problems, progress=progress)
