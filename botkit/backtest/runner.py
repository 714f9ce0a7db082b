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
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botkit.backtest.performance import DEFAULT_BAR_MS, Performance, PerformanceRecorder
from botkit.backtest.provenance import describe_run
from botkit.backtest.report import CsvLog, report_dict, table, write_json
from botkit.config import Config, default
from botkit.core.errors import ConfigError, DataFileError
from botkit.data.files import open_snapshots
from botkit.model import Snapshot
from botkit.venues.simulated import SimulatedVenue

if TYPE_CHECKING:
    from botkit.engine.tick import Engine

log = logging.getLogger("botkit.backtest")


DEFAULT_MAKER_FEE_BPS: Decimal = default("paper", "maker_fee_bps")
DEFAULT_TAKER_FEE_BPS: Decimal = default("paper", "taker_fee_bps")
DEFAULT_LATENCY_MS: int = default("backtest", "latency_ms")


def _initial(usd: Decimal, btc: Decimal) -> dict[str, Decimal]:
    return {"USD": usd, "BTC": btc}


@dataclass(frozen=True)
class BacktestSettings:
    """Everything about a backtest that is not the config: data, money, fees, latency.

    The defaults are the config's (:data:`botkit.config.SCHEMA`: ``[backtest]`` and the
    ``[paper]`` fees), the one place they are written; :meth:`options` resolves a run's values
    (command-line option, else the config file, else that default) for single runs and sweeps alike.
    """

    data: Path
    initial: Mapping[str, Decimal] = field(default_factory=lambda: _initial(
        default("backtest", "initial_usd"), default("backtest", "initial_btc")))
    maker_fee_bps: Decimal = DEFAULT_MAKER_FEE_BPS
    taker_fee_bps: Decimal = DEFAULT_TAKER_FEE_BPS
    latency_ms: int = DEFAULT_LATENCY_MS
    strategies: tuple[str, ...] = ()
    """Only these strategies (default: the config's enabled ones)."""
    strategy_paths: tuple[Path, ...] = ()
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """``{strategy: {key: value}}`` overriding the config's strategy tables."""
    strict: bool = False
    bar_ms: int = DEFAULT_BAR_MS
    limit: int | None = None
    """Stop after this many snapshots (None: the whole file)."""
    journal_url: str | None = None
    """Keep the run's journal here (None: a temporary SQLite file, deleted afterwards)."""
    warmup_bars: int = 0
    """Build this many bars of each declared timeframe from the first snapshots before any
    strategy is asked (they are in ``ctx.history`` at ``botkit_on_start``); nothing trades then."""

    @staticmethod
    def options(config: Config, *, initial: Mapping[str, Decimal] | None = None,
                maker_fee_bps: Decimal | None = None, taker_fee_bps: Decimal | None = None,
                latency_ms: int | None = None, bar_seconds: int | None = None) -> dict[str, Any]:
        """The money, fee and timing keywords of a run: each one given (not None) wins, else the
        config's value (which is the built-in default when the file does not set it)."""
        section, paper = config["backtest"], config["paper"]
        configured = _initial(section["initial_usd"], section["initial_btc"])
        return {
            "initial": configured if initial is None else dict(initial),
            "maker_fee_bps": paper["maker_fee_bps"] if maker_fee_bps is None else maker_fee_bps,
            "taker_fee_bps": paper["taker_fee_bps"] if taker_fee_bps is None else taker_fee_bps,
            "latency_ms": section["latency_ms"] if latency_ms is None else latency_ms,
            "bar_ms": (section["bar_seconds"] if bar_seconds is None else bar_seconds) * 1000,
        }


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

    def report(self) -> dict[str, Any]:
        return report_dict(self.metrics, self.run, {"rejected": self.summary.get("rejected", 0),
                                                    "strategy_failures": self.summary.get("strategy_failures", 0),
                                                    "bad_lines": self.bad_lines})

    @property
    def data_name(self) -> str:
        return Path(self.run["data"]["path"]).name

    def table(self) -> str:
        extra = [("intents refused", str(self.summary.get("rejected", 0))),
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


def _limited(snapshots: Iterable[Snapshot], limit: int | None) -> Iterator[Snapshot]:
    for index, snapshot in enumerate(snapshots):
        if limit is not None and index >= limit:
            return
        yield snapshot


def run_backtest(
    config: Config,
    settings: BacktestSettings,
    *,
    report_dir: str | os.PathLike[str] | None = None,
    progress: bool | None = False,
    command: Sequence[str] = (),
) -> BacktestResult:
    """Replay ``settings.data`` through the configured strategies; write the report if asked.

    ``command`` is the command line that asked for the run, recorded in the report.
    """
    from botkit.engine.assembly import plan_engine
    from botkit.journal import Journal

    plan = plan_engine(config, extra_paths=settings.strategy_paths, only=settings.strategies,
                       params=settings.params, live=False)
    venue = SimulatedVenue(settings.initial, settings.maker_fee_bps, settings.taker_fee_bps,
                           latency_ms=settings.latency_ms, name="backtest")
    recorder = PerformanceRecorder(bar_ms=settings.bar_ms)
    venue.listeners.append(recorder)
    out = Path(report_dir) if report_dir is not None else None
    csv_log = CsvLog(out) if out is not None else None
    if csv_log is not None:
        venue.listeners.append(csv_log)
    reader = open_snapshots(settings.data, strict=settings.strict)
    total = len(reader) if isinstance(reader, Sized) else None  # the store knows its length
    if settings.limit is not None and total is not None:
        total = min(total, settings.limit)
    scratch = tempfile.TemporaryDirectory(prefix="botkit-backtest-")
    url = settings.journal_url or f"sqlite:///{Path(scratch.name) / 'journal.sqlite'}"
    journal = Journal(url, bot_id="backtest", durable=settings.journal_url is not None)
    try:
        engine = plan.build(venue, journal)
        snapshots = iter(_progress(_limited(reader, settings.limit), total, progress))
        first = next(snapshots, None)
        if first is not None and settings.warmup_bars:
            first = _warm_up(engine, first, snapshots, settings)
        if first is None:
            raise DataFileError(f"{settings.data}: no readable snapshot")
        engine.start(first.ts)
        recorder.begin(first.ts, first.mid, venue.usd, venue.btc)
        tick = engine.tick
        sample = recorder.sample
        unreadable = 0
        last = first
        for snapshot in _chain(first, snapshots):
            try:
                tick(snapshot)
            except DataFileError as exc:
                # A part of the line checked only when first built (a deeper level, the ticker, the
                # trades) is unreadable: the line is skipped like one the reader refused.
                if settings.strict:
                    raise
                unreadable += 1
                log.warning("skipped unreadable line: %s", exc)
                continue
            sample(snapshot.ts, snapshot.mid, venue.usd, venue.btc)
            last = snapshot
        # Cancelling at the end (on_shutdown) frees reserved funds but changes no total: the last
        # equity sample stands.
        summary = engine.stop(last.ts, status="finished")
    finally:
        journal.close()
        scratch.cleanup()
        if csv_log is not None:
            csv_log.finish(venue.open_orders())
    metrics = recorder.result(venue.orders_placed)
    run = describe_run(config, settings, plan.hosts, first_ts=first.ts, last_ts=last.ts,
                       snapshots=recorder.snapshots, command=command)
    result = BacktestResult(metrics, recorder, venue, summary, run, reader.bad_lines + unreadable)
    if out is not None:
        write_report(result, out)
    return result


def _warm_up(engine: Engine, first: Snapshot, rest: Iterator[Snapshot], settings: BacktestSettings) -> Snapshot:
    """Feed the first snapshots to the bars only; the first snapshot after the warm-up."""
    bars = engine.bars
    if not bars.active:
        raise ConfigError("--warmup", "no strategy of this run declares TIMEFRAMES, so there are no bars to warm up",
                          "declare TIMEFRAMES in the strategy, or leave --warmup out")
    shortest = min(bars.market.keep.values())
    if settings.warmup_bars > shortest:
        raise ConfigError("--warmup", f"{settings.warmup_bars} bars is more than the strategies keep ({shortest}, "
                                      "their HISTORY)", f"use at most {shortest} or raise HISTORY")
    after = bars.warm_up(first, rest, settings.warmup_bars)
    if after is None:
        raise DataFileError(f"{settings.data}: the data ran out during the warm-up of {settings.warmup_bars} bars")
    return after


def _chain(first: Snapshot, rest: Iterator[Snapshot]) -> Iterator[Snapshot]:
    yield first
    yield from rest


def write_report(result: BacktestResult, directory: Path) -> None:
    """``report.json`` and ``equity.png`` (the CSVs were written during the run)."""
    from botkit.backtest.plots import plot_equity

    directory.mkdir(parents=True, exist_ok=True)
    write_json(directory / "report.json", result.report())
    plot_equity(result.recorder, directory / "equity.png", title=f"backtest of {result.data_name}")
