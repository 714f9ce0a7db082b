"""Run strategies over a snapshot file with the live engine and the simulated venue.

The loop is the daemon's, minus the scheduler: for each recorded snapshot ``engine.tick(snapshot)``
(the engine calls ``venue.observe`` first, so resting orders fill before strategies decide), then
the account's equity is sampled for the metrics. The snapshot's ``ts`` is the only clock. The
journal is a private SQLite file in a temporary folder (on disk, so that memory stays flat however
many orders a strategy places) unless ``journal_url`` names one to keep. The engine is built
without wall-clock time limits or per-tick log lines, so the same inputs give the same report,
byte for byte.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence, Sized
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botkit.backtest.booksamples import BookSampler
from botkit.backtest.performance import Performance, PerformanceRecorder
from botkit.backtest.provenance import describe_run
from botkit.backtest.report import CsvLog, report_dict, table, write_json
from botkit.backtest.settings import BacktestSettings
from botkit.config import Config
from botkit.core.errors import ConfigError, DataFileError, JournalError
from botkit.data.files import file_instrument, open_snapshots
from botkit.instrument import BUTTERCOIN
from botkit.model import Snapshot
from botkit.strategy.history import BarHistory
from botkit.venues.simulated import SimulatedVenue

if TYPE_CHECKING:
    from botkit.engine.tick import Engine

log = logging.getLogger("botkit.backtest")


@dataclass
class BacktestResult:
    metrics: Performance
    recorder: PerformanceRecorder
    venue: SimulatedVenue
    summary: dict[str, Any]
    """The engine's run summary (placed, cancelled, rejected, ...)."""
    run: dict[str, Any]
    """Everything that decided the result (:func:`~botkit.backtest.provenance.describe_run`)."""
    bad_lines: int = 0
    book: BookSampler | None = None
    """The position and depth samples ``report.html`` draws (None when no report was asked for)."""
    bars: dict[str, BarHistory] = field(default_factory=dict)
    """Each declared timeframe's bars at the end of the run (as many as its strategies keep)."""

    def report(self) -> dict[str, Any]:
        return report_dict(self.metrics, self.run, {"rejected": self.summary.get("rejected", 0),
                                                    "strategy_failures": self.summary.get("strategy_failures", 0),
                                                    "bad_lines": self.bad_lines})

    @property
    def data_name(self) -> str:
        return Path(self.run["data"]["path"]).name

    def table(self) -> str:
        instrument = self.venue.instrument
        extra = [("market", f"{instrument.exchange} {instrument.symbol} (USD below means {instrument.quote}, "
                            f"BTC {instrument.base})")] if instrument != BUTTERCOIN else []
        extra += [("intents refused", str(self.summary.get("rejected", 0))),
                 ("strategy failures", str(self.summary.get("strategy_failures", 0)))]
        if self.bad_lines:
            extra.append(("unreadable lines skipped", str(self.bad_lines)))
        return table(self.metrics, f"backtest of {self.data_name}", extra)


def _progress(snapshots: Iterable[Snapshot], total: int | None, enabled: bool | None) -> Iterable[Snapshot]:
    """A tqdm bar on stderr when it is a terminal (or when asked)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return snapshots
    from tqdm import tqdm

    bar: Iterable[Snapshot] = tqdm(snapshots, total=total, unit="snap", unit_scale=True, mininterval=0.5,
                                   file=sys.stderr)
    return bar


def _limited(snapshots: Iterable[Snapshot], limit: int | None, from_ts: int | None = None,
             to_ts: int | None = None) -> Iterable[Snapshot]:
    """The snapshots in ``[from_ts, to_ts)``, at most ``limit`` of them: a file's ts never go back
    (the readers refuse it), so the first one at or past ``to_ts`` ends the span. All of them, with
    no generator in between, when nothing limits them."""
    if limit is None and from_ts is None and to_ts is None:
        return snapshots
    return _within(snapshots, limit, from_ts, to_ts)


def _within(snapshots: Iterable[Snapshot], limit: int | None, from_ts: int | None,
            to_ts: int | None) -> Iterator[Snapshot]:
    index = 0
    for snapshot in snapshots:
        if from_ts is not None and snapshot.ts < from_ts:
            continue
        if (to_ts is not None and snapshot.ts >= to_ts) or (limit is not None and index >= limit):
            return
        index += 1
        yield snapshot


def run_backtest(
    config: Config,
    settings: BacktestSettings,
    *,
    report_dir: str | os.PathLike[str] | None = None,
    progress: bool | None = False,
    command: Sequence[str] = (),
    keep_trades: bool = False,
) -> BacktestResult:
    """Replay ``settings.data`` through the configured strategies; write the report if asked.

    ``command`` is the command line that asked for the run, recorded in the report.
    ``keep_trades`` keeps each fill's net PnL and each bar's return in the recorder (the input of
    a Monte Carlo, :mod:`botkit.backtest.optimizer.robustness`); memory then grows with the run.
    """
    from botkit.engine.assembly import plan_engine
    from botkit.journal import Journal

    plan = plan_engine(config, extra_paths=settings.strategy_paths, only=settings.strategies,
                       params=settings.params, wall_clock=False)
    instrument = file_instrument(settings.data)
    venue = SimulatedVenue(settings.initial, settings.maker_fee_bps, settings.taker_fee_bps,
                           latency_ms=settings.latency_ms, name="backtest", instrument=instrument)
    recorder = PerformanceRecorder(bar_ms=settings.bar_ms, keep_trades=keep_trades)
    venue.listeners.append(recorder)
    out = Path(report_dir) if report_dir is not None else None
    csv_log = CsvLog(out) if out is not None else None
    book = BookSampler() if out is not None else None
    if csv_log is not None:
        venue.listeners.append(csv_log)
    reader = open_snapshots(settings.data, strict=settings.strict)
    total = len(reader) if isinstance(reader, Sized) else None  # the store knows its length
    if settings.limit is not None and total is not None:
        total = min(total, settings.limit)
    scratch = tempfile.TemporaryDirectory(prefix="botkit-backtest-")
    url = settings.journal_url or f"sqlite:///{Path(scratch.name) / 'journal.sqlite'}"
    journal = Journal(url, bot_id="backtest", durable=settings.journal_url is not None, batched=True)
    try:
        if settings.journal_url is not None and (earlier := journal.last_run()) is not None:
            # The simulated venue's order ids start again at sim-000001: they would collide with
            # the earlier run's, and `botkit journal pnl` would mix the two runs' fills.
            raise JournalError(f"{journal.safe_url} already holds a backtest (run {earlier}): a kept journal holds "
                               "one, so that `botkit journal pnl` on it is the report's; give --journal a new "
                               "database, or delete that one")
        snapshots = _limited(reader, settings.limit, settings.from_ts, settings.to_ts)
        engine = plan.build(venue, journal)
        replayed = replay(engine, venue, recorder, _progress(snapshots, total, progress),
                          strict=settings.strict, warmup_bars=settings.warmup_bars, book=book)
    finally:
        journal.close()
        scratch.cleanup()
        if csv_log is not None:
            csv_log.finish(venue.open_orders())
    if replayed is None:
        raise DataFileError(f"{settings.data}: no readable snapshot")
    first, last, summary, unreadable = replayed
    # The engine's tick totals miss a strategy that raised in on_start (a refused parameter): the
    # hosts count every hook's failures.
    summary["strategy_failures"] = max(int(summary.get("strategy_failures", 0)),
                                       sum(host.total_failures for host in plan.hosts))
    metrics = recorder.result(venue.orders_placed)
    run = describe_run(config, settings, plan.hosts, first_ts=first.ts, last_ts=last.ts,
                       snapshots=recorder.snapshots, command=command)
    if book is not None:
        book.finish(last, venue.btc)
    market = engine.bars.market
    bars = {timeframe: market.history(timeframe, keep) for timeframe, keep in market.keep.items()}
    result = BacktestResult(metrics, recorder, venue, summary, run, reader.bad_lines + unreadable, book, bars)
    if out is not None:
        write_report(result, out)
    return result


FLUSH_EVERY = 1000
"""Ticks between commits of a backtest's batched journal: the same rows as a commit per write, at
a fraction of the cost, and a kept ``--journal`` is readable while a long run goes on."""


def replay(engine: Engine, venue: SimulatedVenue, recorder: PerformanceRecorder, snapshots: Iterable[Snapshot],
           *, strict: bool = False, warmup_bars: int = 0,
           book: BookSampler | None = None) -> tuple[Snapshot, Snapshot, dict[str, Any], int] | None:
    """The backtest's loop, for ``botkit backtest`` and :mod:`botkit.testing` alike: start the
    engine at the first snapshot, tick it on each (sampling equity after each tick), stop it at
    the last. Returns (first, last, the engine's summary, lines found unreadable as they were
    built), or None when there was no snapshot at all. With ``warmup_bars``, the first snapshots
    only build that many bars of each declared timeframe; the engine starts after them. ``book``
    samples the position and the depth after each tick, for ``report.html``."""
    iterator = iter(snapshots)
    first = next(iterator, None)
    if first is None:
        return None
    if warmup_bars:
        first = _warm_up(engine, first, iterator, warmup_bars)
    engine.start(first.ts)
    recorder.begin(first.ts, first.mid, venue.usd, venue.btc)
    tick = engine.tick
    sample = recorder.sample
    observe = book.observe if book is not None else None
    flush = engine.journal.flush
    unreadable = 0
    last = first
    for count, snapshot in enumerate(chain((first,), iterator), 1):
        if not count % FLUSH_EVERY:
            flush()
        try:
            tick(snapshot)
        except DataFileError as exc:
            # A part of the line checked only when first built (a deeper level, the ticker, the
            # trades) is unreadable: the line is skipped like one the reader refused.
            if strict:
                raise
            unreadable += 1
            log.warning("skipped unreadable line: %s", exc)
            continue
        sample(snapshot.ts, snapshot.mid, venue.usd, venue.btc)
        if observe is not None:
            try:
                observe(snapshot, venue.btc)
            except DataFileError as exc:
                # The report's depth is the first to read this line's deeper levels, which are
                # unreadable: the tick is done, the line counts as unreadable, its depth is not drawn.
                if strict:
                    raise
                unreadable += 1
                log.warning("unreadable line (its depth is left out of the report): %s", exc)
        last = snapshot
    # Cancelling at the end (on_shutdown) frees reserved funds but changes no total: the last
    # equity sample stands.
    return first, last, engine.stop(last.ts, status="finished"), unreadable


def _warm_up(engine: Engine, first: Snapshot, rest: Iterator[Snapshot], warmup_bars: int) -> Snapshot:
    """Feed the first snapshots to the bars only; the first snapshot after the warm-up."""
    bars = engine.bars
    if not bars.active:
        raise ConfigError("--warmup", "no strategy of this run declares TIMEFRAMES, so there are no bars to warm up",
                          "declare TIMEFRAMES in the strategy, or leave --warmup out")
    shortest = min(bars.market.keep.values())
    if warmup_bars > shortest:
        raise ConfigError("--warmup", f"{warmup_bars} bars is more than the strategies keep ({shortest}, "
                                      "their HISTORY)", f"use at most {shortest} or raise HISTORY")
    after = bars.warm_up(first, rest, warmup_bars)
    if after is None:
        raise ConfigError("--warmup", f"the data ran out during the warm-up of {warmup_bars} bars",
                          "use a smaller --warmup, or more data")
    return after


def write_report(result: BacktestResult, directory: Path) -> None:
    """``report.json``, ``equity.png`` and ``report.html`` (the CSVs were written during the run)."""
    from botkit.backtest.htmlreport import write_html_report
    from botkit.backtest.plots import plot_equity

    directory.mkdir(parents=True, exist_ok=True)
    write_json(directory / "report.json", result.report())
    title = f"backtest of {result.data_name}"
    plot_equity(result.recorder, directory / "equity.png", title=title)
    write_html_report(result.recorder, result.book, directory / "report.html", title=title)
