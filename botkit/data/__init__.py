"""Market-data files: snapshots recorded from a venue or generated, in JSON Lines (``jsonl.py``,
readable and exact) or the binary store (``store.py``, fixed-size integer records read in
chunks), opened by suffix (``files.py``). Recording and replay both use these; nothing here knows
about strategies or the engine. ``importers/`` makes snapshot files from the public order-book
datasets (Tardis.dev, Binance's data dumps, your own CSV): ``botkit data import``, docs/data.md."""

from __future__ import annotations

from botkit.data.files import (
    JSONL_SUFFIXES,
    STORE_SUFFIXES,
    ConvertResult,
    SnapshotReader,
    convert,
    file_format,
    open_snapshots,
)
from botkit.data.generate import generate
from botkit.data.jsonl import JsonlReader, JsonlWriter
from botkit.data.store import StoreReader, StoreWriter

__all__ = [
    "JSONL_SUFFIXES",
    "STORE_SUFFIXES",
    "ConvertResult",
    "JsonlReader",
    "JsonlWriter",
    "SnapshotReader",
    "StoreReader",
    "StoreWriter",
    "convert",
    "file_format",
    "generate",
    "open_snapshots",
]
