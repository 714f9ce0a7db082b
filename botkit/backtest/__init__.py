"""Backtesting: snapshot files, the simulated venue, metrics and reports.

The same engine, strategies, risk checks and journal as live trading; only the venue differs:
:class:`~botkit.venues.simulated.SimulatedVenue` fills orders against recorded (or, for paper
trading, live) snapshots with the fill model documented in ``docs/backtesting.md``.
"""

from __future__ import annotations

from botkit.backtest.files import (
    JSONL_SUFFIXES,
    STORE_SUFFIXES,
    ConvertResult,
    SnapshotReader,
    convert,
    file_format,
    open_snapshots,
)
from botkit.backtest.generate import generate
from botkit.backtest.jsonl import JsonlReader, JsonlWriter
from botkit.backtest.performance import Performance, PerformanceRecorder
from botkit.backtest.runner import BacktestResult, BacktestSettings, run_backtest
from botkit.backtest.sample import SAMPLE
from botkit.backtest.store import StoreReader, StoreWriter
from botkit.venues.simulated import SimulatedVenue

__all__ = [
    "JSONL_SUFFIXES",
    "SAMPLE",
    "STORE_SUFFIXES",
    "BacktestResult",
    "BacktestSettings",
    "ConvertResult",
    "JsonlReader",
    "JsonlWriter",
    "Performance",
    "PerformanceRecorder",
    "SimulatedVenue",
    "SnapshotReader",
    "StoreReader",
    "StoreWriter",
    "convert",
    "file_format",
    "generate",
    "open_snapshots",
    "run_backtest",
]
