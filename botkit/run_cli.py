"""``botkit run``, ``botkit strategies`` and ``botkit journal``: the bot's own commands."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from botkit import logs
from botkit.cli_options import config_option, fail_cleanly, load_config
from botkit.config import Config
from botkit.errors import ConfigError, JournalError


@click.command()
@config_option
@click.option("--duration", type=click.FloatRange(min=0), help="Stop after this many seconds.")
@click.option("--dry-run", is_flag=True, help="Paper trading: live market data, simulated fills, nothing sent.")
@click.option("--log-format", type=click.Choice(["text", "json"]), help="Log as text or one JSON object a line.")
@click.option("--strategy-path", "strategy_paths", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="Another folder of strategy files (repeatable).")
@click.option("--metrics-port", type=click.IntRange(0, 65535),
              help="Serve Prometheus metrics at http://127.0.0.1:PORT/metrics ([metrics] port; 0: any free port).")
@click.option("--web-port", type=click.IntRange(0, 65535),
              help="Serve this bot's dashboard and control API at http://127.0.0.1:PORT/ ([web] port; 0: any free "
                   "port, logged); needs [web] token.")
@click.option("--record", "record_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write every tick's snapshot as the exchange sent it (JSON Lines, .gz to compress), "
                   "for replay with botkit backtest.")
@fail_cleanly
def run(config_path: Path | None, duration: float | None, dry_run: bool, log_format: str | None,
        strategy_paths: tuple[Path, ...], metrics_port: int | None, web_port: int | None,
        record_path: Path | None) -> None:
    """Run the bot as a daemon until SIGINT/SIGTERM (or --duration).

    With no config, or no [exchange] base_url, botkit starts its sandbox exchange in-process, with a
    simulated market and a demo account, and runs the example market maker against it.
    """
    import threading

    from botkit.bot import build_bot
    from botkit.breaker import CircuitBreaker
    from botkit.scheduler import Daemon, StopTimedOut, exit_now, guard_stop, install_stop_signals

    stopping = threading.Event()
    install_stop_signals(stopping)
    cfg = load_config(config_path)
    logs.configure(log_format or cfg["log"]["format"], cfg["log"]["level"], cfg.secrets)
    # From the stop request on, the process has stop_timeout_seconds to finish (start-up, the
    # tick in flight, the cancels, closing): an exchange that drips its answers cannot hold it.
    stop_timeout = float(cfg["engine"]["stop_timeout_seconds"])
    stopped = threading.Event()
    guard_stop(stopping, stop_timeout, stopped)
    bot = build_bot(cfg, dry_run=dry_run, extra_paths=strategy_paths)
    logs.configure(log_format or cfg["log"]["format"], cfg["log"]["level"], bot.secrets)
    notifier = None
    try:
        breaker = CircuitBreaker(cfg["engine"]["breaker_threshold"],
                                 max_cooldown=float(cfg["engine"]["breaker_max_cooldown_seconds"]))
        observer = _serve_metrics(cfg, metrics_port, bot, breaker)
        _serve_web(cfg, web_port, bot)
        notifier = _notifier(cfg, bot)
        if notifier is not None:
            from botkit.notify import NotifyObserver, Observers

            observer = Observers(observer, NotifyObserver(notifier, bot.engine.view, breaker,
                                                          fills=cfg["notify"]["fills"],
                                                          daily_summary=cfg["notify"]["daily_summary"]))
        daemon = Daemon(bot, float(cfg["engine"]["interval_seconds"]), observer=observer, breaker=breaker,
                        stopping=stopping, on_tick=_recorder(bot, record_path) if record_path else None,
                        stop_timeout=stop_timeout)
        summary = daemon.run(duration, install_signals=False)
        if notifier is not None:
            notifier.send("stop", "stopped", f"after {summary.get('ticks')} ticks, {summary.get('fills')} fills")
    except StopTimedOut as exc:
        if notifier is not None:
            notifier.send("crash", "stopped without the clean stop", str(exc), "failure")
            notifier.close()
        exit_now(str(exc))  # the tick's thread still runs: no clean close is possible
    except BaseException as exc:
        if notifier is not None:
            notifier.send("crash", "crashed", f"{type(exc).__name__}: {exc}", "failure")
        raise
    finally:
        bot.close()
        if notifier is not None:
            notifier.close()
    stopped.set()
    logging.getLogger("botkit").info("stopped after %s ticks", summary.get("ticks"))


def _recorder(bot: Any, path: Path) -> Any:
    """An ``on_tick`` that writes the bodies the engine's snapshot was built from, so that a replay
    of the file decides exactly as this run did."""
    from botkit.backtest.jsonl import JsonlWriter

    writer = JsonlWriter(path, append=path.exists())
    bot.closers.append(writer.close)

    def record(_snapshot: Any, _report: Any) -> None:
        raw = bot.market_data.last_raw
        writer.write_wire(raw["ts"], raw["ticker"], raw["orderbook"], raw.get("trades"))

    return record


def _serve_metrics(cfg: Config, port_option: int | None, bot: Any, breaker: Any) -> Any:
    """Serve /metrics when asked (--metrics-port, else [metrics] port); returns the daemon's tick
    observer, or None. The bot's closers stop the server."""
    port = port_option if port_option is not None else cfg["metrics"]["port"]
    if port is None:
        return None
    from botkit import metrics

    server = metrics.serve(cfg["metrics"]["host"], port,
                           source="--metrics-port" if port_option is not None else "metrics.port")
    bot.closers.append(server.close)
    return server.attach(bot, breaker)


def _notifier(cfg: Config, bot: Any) -> Any:
    """The bot's notifier when [notify] urls has any (its start, or restart after a crash, is the
    first message), else None."""
    urls = cfg["notify"]["urls"]
    if not urls:
        return None
    from botkit.journal.queries import runs
    from botkit.notify import Notifier

    notifier = Notifier(urls, bot.journal.bot_id, min_interval=float(cfg["notify"]["min_interval_seconds"]),
                        secrets=bot.secrets)
    earlier = runs(bot.journal)
    if earlier and earlier[-1].status in ("running", "crashed"):
        notifier.send("start", "restarted after a crash", f"its run {earlier[-1].id} did not stop cleanly", "warning")
    else:
        notifier.send("start", "started", f"strategies: {', '.join(cfg.enabled_strategies()) or 'none'}")
    return notifier


def _serve_web(cfg: Config, port_option: int | None, bot: Any) -> None:
    """Serve this bot's dashboard when asked (--web-port, else [web] port); the bot's closers stop it."""
    port = port_option if port_option is not None else cfg["web"]["port"]
    if port is None:
        return
    source = "--web-port" if port_option is not None else "web.port"
    try:
        from botkit.web.server import serve_bot
    except ModuleNotFoundError as exc:
        raise ConfigError(source, f"the dashboard needs the web extra ({exc.name} is not installed)",
                          'pip install "botkit[web]"') from None

    server = serve_bot(cfg, port, source, bot.journal.engine, bot.journal.bot_id)
    bot.closers.append(server.close)


@click.command()
@config_option
@click.option("--strategy-path", "strategy_paths", multiple=True, type=click.Path(path_type=Path, file_okay=False))
@fail_cleanly
def strategies(config_path: Path | None, strategy_paths: tuple[Path, ...]) -> None:
    """List the strategies botkit can find, with their source, parameters and description."""
    from botkit.plugins import discover

    cfg = load_config(config_path)
    found = discover([*cfg.strategy_paths, *strategy_paths])
    enabled = cfg.enabled_strategies()
    if not found:
        click.echo("no strategies found")
    for name, spec in sorted(found.items()):
        mark = "enabled" if name in enabled else "available"
        click.echo(f"{name}  ({mark})\n  source: {spec.source}")
        if spec.defaults:
            params = ", ".join(f"{k}={v}" for k, v in spec.defaults.items())
            click.echo(f"  params: {params}")
        if spec.doc:
            click.echo("  " + spec.doc.splitlines()[0])


@click.command()
@click.argument("what", type=click.Choice(["orders", "fills", "pnl", "upgrade"]))
@config_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--run", "run_id", type=int, help="Only this run's records.")
@click.option("--bot", "bot_id", metavar="ID",
              help="Another bot's records: default [bot] id; paper runs are ID.paper, backtests kept with "
                   "--journal are 'backtest'.")
@click.option("--paper", is_flag=True, help="This bot's paper (--dry-run) sessions.")
@click.option("--strategy", metavar="NAME", help="Only this strategy's records.")
@click.option("--since", "since", metavar="WHEN",
              help="Only records from WHEN on: an ISO 8601 UTC date or time (2026-12-01, 2026-12-01T09:30), "
                   "or a span back from now (90m, 12h, 7d).")
@click.option("--limit", type=click.IntRange(1), metavar="N", help="Only the newest N orders or fills.")
@fail_cleanly
def journal(what: str, config_path: Path | None, fmt: str, run_id: int | None, bot_id: str | None,
            paper: bool, strategy: str | None, since: str | None, limit: int | None) -> None:
    """Show the journal's orders, fills or PnL, or apply pending schema migrations (upgrade).

    Reading never creates or migrates a journal: where none exists, it says so (exit 2)."""
    from botkit.journal import Journal, queries
    from botkit.journal.queries import open_journal
    from botkit.output import render

    cfg = load_config(config_path)
    if what == "upgrade":
        from sqlalchemy.exc import SQLAlchemyError

        from botkit.journal import migrate
        from botkit.urlmask import mask_in, mask_url

        url = cfg["journal"]["url"]
        engine = Journal.make_engine(url)
        try:
            before, after = migrate.upgrade(engine)
        except SQLAlchemyError as exc:
            reason = mask_in(str(exc).splitlines()[0][:200], url)
            raise JournalError(f"cannot upgrade journal {mask_url(url)}: {reason}") from None
        finally:
            engine.dispose()
        click.echo(f"journal schema: {before or 'none'} -> {after}" if before != after
                   else f"journal schema is up to date ({after})")
        return
    from botkit.bot import paper_bot_id
    from botkit.times import since_ms

    where = queries.Filter(run_id, strategy, None if since is None else since_ms(since, "--since"), limit)
    open_journal(cfg["journal"]["url"]).dispose()  # refuses a journal that is not there, or is out of date
    bot = bot_id or cfg["bot"]["id"]
    store = Journal(cfg["journal"]["url"], bot_id=paper_bot_id(bot) if paper else bot, auto_upgrade=False)
    def show(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
        click.echo(render(rows, fmt, columns, units=queries.UNITS, machine_only=queries.EPOCH_COLUMNS))

    try:
        if what == "orders":
            show(queries.orders(store, where=where), queries.ORDER_COLUMNS)
        elif what == "fills":
            show(queries.fills(store, where=where), queries.FILL_COLUMNS)
        else:
            show(queries.pnl(store, where=where), queries.PNL_COLUMNS)
    finally:
        store.close()
