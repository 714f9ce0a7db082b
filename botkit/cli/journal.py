"""``botkit journal``: the journal's orders, fills and PnL, and its schema upgrade."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from botkit.cli.options import config_option, fail_cleanly, load_config
from botkit.core.errors import JournalError


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
    from botkit.core.output import render
    from botkit.journal import Journal, queries
    from botkit.journal.queries import open_journal

    cfg = load_config(config_path)
    if what == "upgrade":
        from sqlalchemy.exc import SQLAlchemyError

        from botkit.core.urlmask import mask_in, mask_url
        from botkit.journal import migrate

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
    from botkit.core.times import since_ms
    from botkit.engine.assembly import paper_bot_id

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
