"""``botkit record``: market snapshots from the configured exchange to a file, on the daemon's loop
with no strategies (:func:`botkit.engine.assembly.build_recorder`) and the one recorder
(:class:`botkit.data.recorder.SnapshotRecorder`) that ``botkit run --record`` uses too."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from botkit.cli.options import config_option, fail_cleanly, load_config
from botkit.core.errors import ConfigError

if TYPE_CHECKING:
    from botkit.data.ccxt_source import CcxtMarketData

log = logging.getLogger("botkit.backtest")



@click.command()
@config_option
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Snapshot file to write (.jsonl, .jsonl.gz, or .bks: converted when the recording ends).")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.01),
              help="Seconds between snapshots.")
@click.option("--duration", type=click.FloatRange(min=0), help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--append", is_flag=True, help="Add to an existing JSON Lines file instead of replacing it.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.option("--source", metavar="ccxt:EXCHANGE:SYMBOL",
              help="Record this market through ccxt's public REST API (botkit[ccxt]) instead of the configured "
                   "exchange; ccxt:buttercoin:BTC/USD goes to the configured exchange through botkit.ccxt.")
@click.option("--depth", default=20, show_default=True, type=click.IntRange(min=1, max=1000),
              help="With --source: book levels a side.")
@fail_cleanly
def record(config_path: Path | None, out: Path, interval: float, duration: float | None, append: bool,
           progress: bool | None, source: str | None, depth: int) -> None:
    """Record market snapshots from the configured exchange (the embedded sandbox by default),
    or from any exchange ccxt speaks (``--source ccxt:EXCHANGE:SYMBOL``: docs/data.md).

    Each line is what the exchange returned (ticker, order book, trades) at that time, flushed as
    soon as written: killing the recorder loses at most the line being written. A failed fetch is
    logged as a gap and recording goes on.
    """
    from botkit.core import logs
    from botkit.data.files import convert, file_format

    cfg = load_config(config_path)
    logs.configure(cfg["log"]["format"], cfg["log"]["level"], cfg.secrets)
    target = out
    to_store = file_format(out) == "store"
    if to_store and append:
        raise ConfigError("--append", "a store cannot be appended to", "record to .jsonl(.gz) and convert")
    if to_store:
        target = out.with_name(out.name + ".partial.jsonl")
    written, gaps = record_snapshots(cfg, target, interval=interval, duration=duration, append=append,
                                     progress=progress, source=source, depth=depth)
    if to_store:
        convert(target, out)
        target.unlink()
    click.echo(f"recorded {written} snapshot(s) to {out} ({gaps} gap(s))", err=True)


def record_snapshots(cfg: Any, out: Path, *, interval: float, duration: float | None, append: bool = False,
                     progress: bool | None = None, source: str | None = None, depth: int = 20) -> tuple[int, int]:
    """Record every ``interval`` seconds until ``duration`` or a stop signal; (written, gaps)."""
    if source is None:
        return _record(cfg, out, interval, duration, append, progress, None)
    from botkit.data.ccxt_source import CcxtMarketData, parse_source
    from botkit.engine.assembly import connect

    exchange_id, symbol = parse_source(source)
    with ExitStack() as closers:
        rest_url = None
        if exchange_id == "buttercoin":  # through ccxt to the configured exchange (the embedded sandbox)
            _api, rest_url, _secret = connect(cfg, closers)
        feed = CcxtMarketData(exchange_id, symbol, depth=depth, rest_url=rest_url)
        closers.callback(feed.close)
        return _record(cfg, out, interval, duration, append, progress, feed)


def _record(cfg: Any, out: Path, interval: float, duration: float | None, append: bool, progress: bool | None,
            feed: CcxtMarketData | None) -> tuple[int, int]:
    from botkit.daemon.scheduler import Daemon
    from botkit.data.recorder import SnapshotRecorder, progress_bar
    from botkit.engine.assembly import build_recorder

    bot = build_recorder(cfg) if feed is None else build_recorder(cfg, feed=feed.fetch, where=feed.label)
    try:
        raw = bot.market_data if feed is None else feed
        assert raw is not None
        recorder = SnapshotRecorder(raw, out, append=append, progress=progress_bar(duration, interval, progress),
                                    instrument=None if feed is None else feed.instrument)
        try:
            daemon = Daemon(bot, interval, on_tick=recorder)
            daemon.run(duration)
        finally:
            recorder.close()
        return recorder.written, daemon.skipped
    finally:
        bot.close()
