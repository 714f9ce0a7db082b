"""``botkit run``: the bot as a daemon on the configured exchange, paper trading with --dry-run."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from botkit.cli.options import config_option, fail_cleanly, load_config
from botkit.config import Config
from botkit.core import logs


@click.command()
@config_option
@click.option("--duration", type=click.FloatRange(min=0), help="Stop after this many seconds.")
@click.option("--dry-run", is_flag=True, help="Paper trading: live market data, simulated fills, nothing sent.")
@click.option("--log-format", type=click.Choice(["text", "json"]), help="Log as text or one JSON object a line.")
@click.option("--strategy-path", "strategy_paths", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="Another folder of strategy files (repeatable).")
@click.option("--metrics-port", type=click.IntRange(0, 65535),
              help="Serve Prometheus metrics at http://127.0.0.1:PORT/metrics ([metrics] port; 0: any free port).")
@click.option("--record", "record_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write every tick's snapshot as the exchange sent it (JSON Lines, .gz to compress), "
                   "for replay with botkit backtest.")
@click.option("--warmup", "warmup_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A recording (botkit run --record) whose snapshots build the strategies' bars before the "
                   "first tick, after the bars the journal kept.")
@fail_cleanly
def run(config_path: Path | None, duration: float | None, dry_run: bool, log_format: str | None,
        strategy_paths: tuple[Path, ...], metrics_port: int | None, record_path: Path | None,
        warmup_path: Path | None) -> None:
    """Run the bot as a daemon until SIGINT/SIGTERM (or --duration).

    With no config, or no [exchange] base_url, botkit starts its sandbox exchange in-process, with a
    simulated market and a demo account, and runs the example market maker against it.
    """
    import threading

    from botkit.daemon.breaker import CircuitBreaker
    from botkit.daemon.scheduler import Daemon, StopTimedOut, exit_now, guard_stop, install_stop_signals
    from botkit.engine.assembly import build_bot

    stopping = threading.Event()
    install_stop_signals(stopping)
    cfg = load_config(config_path)
    logs.configure(log_format or cfg["log"]["format"], cfg["log"]["level"], cfg.secrets)
    # From the stop request on, the process has stop_timeout_seconds to finish (start-up, the
    # tick in flight, the cancels, closing): an exchange that drips its answers cannot hold it.
    stop_timeout = float(cfg["engine"]["stop_timeout_seconds"])
    stopped = threading.Event()
    guard_stop(stopping, stop_timeout, stopped)
    bot = build_bot(cfg, dry_run=dry_run, extra_paths=strategy_paths, warmup=warmup_path)
    logs.configure(log_format or cfg["log"]["format"], cfg["log"]["level"], bot.secrets)
    try:
        breaker = CircuitBreaker(cfg["engine"]["breaker_threshold"],
                                 max_cooldown=float(cfg["engine"]["breaker_max_cooldown_seconds"]))
        observer = _serve_metrics(cfg, metrics_port, bot, breaker)
        daemon = Daemon(bot, float(cfg["engine"]["interval_seconds"]), observer=observer, breaker=breaker,
                        stopping=stopping, on_tick=_recorder(bot, record_path) if record_path else None,
                        stop_timeout=stop_timeout)
        summary = daemon.run(duration, install_signals=False)
    except StopTimedOut as exc:
        exit_now(str(exc))  # the tick's thread still runs: no clean close is possible
    finally:
        bot.close()
    stopped.set()
    logging.getLogger("botkit").info("stopped after %s ticks", summary.get("ticks"))


def _recorder(bot: Any, path: Path) -> Any:
    """The one recorder as an ``on_tick``: a replay of the file decides exactly as this run did."""
    from botkit.data.recorder import SnapshotRecorder

    recorder = SnapshotRecorder(bot.market_data, path, append=path.exists())
    bot.on_close(recorder.close)
    return recorder


def _serve_metrics(cfg: Config, port_option: int | None, bot: Any, breaker: Any) -> Any:
    """Serve /metrics when asked (--metrics-port, else [metrics] port); returns the daemon's tick
    observer, or None. The bot's closers stop the server."""
    port = port_option if port_option is not None else cfg["metrics"]["port"]
    if port is None:
        return None
    from botkit.daemon import metrics

    server = metrics.serve(cfg["metrics"]["host"], port,
                           source="--metrics-port" if port_option is not None else "metrics.port")
    bot.on_close(server.close)
    return server.attach(bot, breaker)
