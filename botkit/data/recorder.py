"""The one recorder: writes what the exchange returned for each tick's snapshot (ticker, order book,
trades: the bodies the engine's snapshot was built from) to a JSON Lines file, so a replay of the
file decides exactly as the recorded run did. ``botkit run --record`` and ``botkit record`` both
hang it on the daemon's loop (the latter with no strategies), so both share one timer, one
circuit breaker, one stop signal handling and one way to write."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Protocol

from botkit.data.jsonl import JsonlWriter
from botkit.instrument import Instrument


class RawSource(Protocol):
    """Where the last snapshot's wire bodies are kept (``ButtercoinMarketData``)."""

    @property
    def last_raw(self) -> dict[str, Any] | None: ...


class SnapshotRecorder:
    """A daemon ``on_tick`` observer appending each tick's snapshot to ``path``; a line is flushed
    as soon as written, so killing the process loses at most the line being written."""

    def __init__(self, source: RawSource, path: Path, *, append: bool = False, progress: Any = None,
                 instrument: Instrument | None = None) -> None:
        """``instrument``: the market recorded, written as the file's header (None: Buttercoin's,
        no header, as every Buttercoin recording)."""
        self.source = source
        self.writer = JsonlWriter(path, append=append, instrument=instrument)
        self.progress = progress
        self.written = 0

    def __call__(self, _snapshot: Any, _report: Any) -> None:
        raw = self.source.last_raw
        if raw is None:
            return
        trades = raw.get("trades")
        self.writer.write_wire(raw["ts"], raw["ticker"], raw["orderbook"], trades if isinstance(trades, list) else None)
        self.written += 1
        if self.progress is not None:
            self.progress.update(1)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()
        self.writer.close()


def progress_bar(duration: float | None, interval: float, enabled: bool | None) -> Any:
    """A tqdm bar counting snapshots (default: when stderr is a terminal), or None."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm import tqdm

    total = None if duration is None else int(duration / interval)
    return tqdm(total=total, unit="snap", file=sys.stderr, mininterval=0.5)
