"""Snapshot files by suffix: open any of them, convert between them.

=====================================  ==============================================
suffix                                 format
=====================================  ==============================================
``.jsonl``, ``.ndjson``                JSON Lines (:mod:`botkit.data.jsonl`)
``.jsonl.gz``, ``.ndjson.gz``          the same, gzip-compressed
``.bks``                               the fast store (:mod:`botkit.data.store`)
=====================================  ==============================================
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import msgspec

from botkit.core.errors import DataFileError
from botkit.core.jsonutil import dumps
from botkit.data.jsonl import JsonlReader, JsonlWriter, check_snapshot, read_instrument, snapshot_wire
from botkit.data.store import (
    DEFAULT_LEVELS,
    MAX_LEVELS,
    StoreReader,
    StoreSnapshot,
    StoreWriter,
    UnfitValue,
    units_json_line,
)
from botkit.instrument import BUTTERCOIN, Instrument
from botkit.model import Snapshot

log = logging.getLogger("botkit.backtest")

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
STORE_SUFFIXES = (".bks",)

Format = Literal["jsonl", "store"]


class SnapshotReader(Protocol):
    """What every reader offers: iteration (streamed) and counters of what it read."""

    path: Path
    snapshots: int
    bad_lines: int

    def __iter__(self) -> Iterator[Snapshot]: ...


def file_format(path: str | os.PathLike[str]) -> Format:
    """``jsonl`` or ``store`` from the file name; DataFileError for anything else."""
    name = Path(path).name.lower()
    if name.endswith(JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(STORE_SUFFIXES):
        return "store"
    known = ", ".join(JSONL_SUFFIXES + STORE_SUFFIXES)
    raise DataFileError(f"{path}: unknown snapshot file type (use one of: {known})")


def open_snapshots(path: str | os.PathLike[str], *, strict: bool = False) -> SnapshotReader:
    """A streaming reader for a snapshot file of either format."""
    if file_format(path) == "store":
        return StoreReader(path, strict=strict)
    return JsonlReader(path, strict=strict)


def file_instrument(path: str | os.PathLike[str]) -> Instrument:
    """The market a snapshot file is of (its header's instrument; Buttercoin's when it has none)."""
    if file_format(path) == "store":
        return StoreReader(path).instrument
    return read_instrument(path)


@dataclass(frozen=True, slots=True)
class ConvertResult:
    snapshots: int
    bad_lines: int
    levels: int | None


class _Levels(msgspec.Struct):
    bid: list[msgspec.Raw]
    ask: list[msgspec.Raw]


class _DepthLine(msgspec.Struct):
    orderbook: _Levels


def book_depth(path: str | os.PathLike[str]) -> int:
    """The deepest side of any book in a file (a quick pass that parses only list lengths)."""
    if file_format(path) == "store":
        return StoreReader(path).levels
    from botkit.data.jsonl import _open_binary, bounded_lines, too_deep

    decode = msgspec.json.Decoder(_DepthLine).decode
    depth = 0
    with _open_binary(Path(path)) as stream:
        try:
            for raw in bounded_lines(stream):
                if isinstance(raw, int) or too_deep(raw):
                    continue  # the reader reports it
                try:
                    book = decode(raw).orderbook
                except msgspec.DecodeError:
                    continue
                depth = max(depth, len(book.bid), len(book.ask))
        except EOFError:
            pass
    return depth


def _checked(reader: SnapshotReader, strict: bool, skipped: list[int]) -> Iterator[Snapshot]:
    for snapshot in reader:
        try:
            if not hasattr(snapshot, "units"):  # those check themselves while converting
                check_snapshot(snapshot)
        except DataFileError as exc:
            if strict:
                raise
            skipped[0] += 1
            log.warning("skipped unreadable line: %s", exc)
            continue
        yield snapshot


def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    levels: int | None = None,
    strict: bool = False,
    progress: Callable[[Iterable[Snapshot]], Iterable[Snapshot]] | None = None,
) -> ConvertResult:
    """Convert a snapshot file to another format (or re-write it), checking every line in full.

    To the store, ``levels`` defaults to the file's deepest book. A value the store cannot hold
    exactly raises DataFileError naming the line; unreadable lines are skipped with a warning
    (or raise, with ``strict``).
    """
    src, dst = Path(src), Path(dst)
    if src.resolve() == dst.resolve():
        raise DataFileError(f"{dst}: converting a file onto itself")
    reader = open_snapshots(src, strict=strict)
    instrument = file_instrument(src)
    skipped = [0]
    snapshots: Iterable[Snapshot] = _checked(reader, strict, skipped)
    if progress is not None:
        snapshots = progress(snapshots)
    if file_format(dst) == "store":
        depth = levels if levels is not None else max(book_depth(src), 1) or DEFAULT_LEVELS
        if depth > MAX_LEVELS:
            raise DataFileError(f"{src}: a book has {depth} levels a side; a store holds at most {MAX_LEVELS}")
        with StoreWriter(dst, levels=depth, instrument=instrument) as writer:
            for snapshot in snapshots:
                try:
                    writer.add_snapshot(snapshot)
                except UnfitValue as exc:
                    where = "" if str(exc).startswith(str(src)) else f"{src}: snapshot at ts {snapshot.ts}: "
                    raise DataFileError(f"{where}{exc}") from None
                except DataFileError as exc:
                    if strict:
                        raise
                    skipped[0] += 1
                    log.warning("skipped unreadable line: %s", exc)
        return ConvertResult(writer.count, reader.bad_lines + skipped[0], depth)
    # A Buttercoin file stays as it was, headerless: what every botkit before instruments wrote.
    with JsonlWriter(dst, flush=False, instrument=None if instrument == BUTTERCOIN else instrument) as out:
        for snapshot in snapshots:
            if isinstance(snapshot, StoreSnapshot):
                out.write_text(units_json_line(snapshot.units()))
            else:
                out.write_text(dumps(snapshot_wire(snapshot)))
    return ConvertResult(out.count, reader.bad_lines + skipped[0], None)
