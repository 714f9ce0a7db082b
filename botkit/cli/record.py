"""``botkit record``: market snapshots from the configured exchange to a file, on the daemon's loop
with no strategies (:func:`botkit.engine.assembly.build_recorder`) and the one recorder
(:class:`botkit.data.recorder.SnapshotRecorder`) that ``botkit run --record`` uses too."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from botkit.cli.options import config_option, fail_cleanly, load_config
from botkit.core.errors import ConfigError

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
@fail_cleanly
def record(config_path: Path | None, out: Path, interval: float, duration: float | None, append: bool,
           progress: bool | None) -> None:
    """Record market snapshots from the configured exchange (the embedded sandbox by default).

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
                                     progress=progress)
    if to_store:
        convert(target, out)
        target.unlink()
    click.echo(f"recorded {written} snapshot(s) to {out} ({gaps} gap(s))", err=True)


def record_snapshots(cfg: Any, out: Path, *, interval: float, duration: float | None, append: bool = False,
                     progress: bool | None = None) -> tuple[int, int]:
    """Record every ``interval`` seconds until ``duration`` or a stop signal; (written, gaps)."""
    from botkit.daemon.scheduler import Daemon
    from botkit.data.recorder import SnapshotRecorder, progress_bar
    from botkit.engine.assembly import build_recorder

    bot = build_recorder(cfg)
    try:
        assert bot.market_data is not None
        recorder = SnapshotRecorder(bot.market_data, out, append=append,
                                    progress=progress_bar(duration, interval, progress))
        try:
            daemon = Daemon(bot, interval, on_tick=recorder, control=False)
            daemon.run(duration)
        finally:
            recorder.close()
        return recorder.written, daemon.skipped
    finally:
        bot.close()
