"""``botkit status``: every bot in the journal at a glance, and an exit status for health checks.

The states and exit statuses are defined with the reads in :mod:`botkit.journal.status`; this
module shows them as a table or JSON. It only reads: it never creates or migrates a journal.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from botkit.cli.options import config_option, fail_cleanly, load_config
from botkit.core.errors import JournalError
from botkit.core.urlmask import mask_in
from botkit.journal import control
from botkit.journal.queries import open_journal
from botkit.journal.status import (
    EXIT_DEGRADED,
    EXIT_DOWN,
    EXIT_HEALTHY,
    BotStatus,
    StrategyStatus,
    default_stale_after,
    exit_status,
    read_status,
)

TABLE_COLUMNS = ("bot", "state", "last_tick", "ticks", "position", "open_orders", "pnl_today", "strategies",
                 "kill_switch", "last_error")
RECENT_ACTIONS = 5
"""Control actions shown per bot (the newest; `botkit web` and its API list more)."""
JSON_COLUMNS = ("bot", "state", "run_id", "venue", "host", "pid", "started_at", "stopped_at", "last_tick_at",
                "last_tick_age_seconds", "ticks", "position_btc", "equity_usd", "open_orders", "unresolved_orders",
                "fills_today", "pnl_today_usd", "strategies", "kill_switch", "kill_switch_reason", "kill_switch_at",
                "last_error")


def render_status(statuses: Sequence[BotStatus], fmt: str,
                  actions: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> str:
    """The statuses as a table (with a line for each problem and each recent control action
    under it) or as JSON (``recent_actions`` in each row when ``actions`` is given)."""
    from botkit.core.output import render

    actions = actions or {}
    if fmt == "json":
        rows = [s.as_row() for s in statuses]
        columns: tuple[str, ...] = JSON_COLUMNS
        if actions:
            columns = (*JSON_COLUMNS, "recent_actions")
            for row in rows:
                row["recent_actions"] = list(actions.get(row["bot"], ()))
        return render(rows, "json", columns)
    if not statuses:
        return "(no bots in the journal)"
    table = render([s.as_table_row() for s in statuses], "table", TABLE_COLUMNS,
                   units={"position": "BTC", "pnl_today": "USD"})
    problems = [f"{s.bot}: {line}" for s in statuses for line in s.problems]
    done = [f"{s.bot}: {_action_line(a)}" for s in statuses for a in actions.get(s.bot, ())]
    blocks = [table, *(["\n".join(problems)] if problems else []),
              *(["recent control actions:\n" + "\n".join(done)] if done else [])]
    return "\n\n".join(blocks)


def _action_line(action: Mapping[str, Any]) -> str:
    what = str(action["action"]).replace("_", " ") + (f" {action['strategy']}" if action["strategy"] else "")
    return f"{action['requested_at']} {action['who']} asked to {what}: {action['outcome']}"


@click.command()
@config_option
@click.option("--stale-after", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="A running bot silent for longer is stale (default: 3 x [engine] interval_seconds, at least 30).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--bot", "bots", multiple=True, metavar="ID",
              help="Only this bot (repeatable; default: every bot in the journal), e.g. for its own health check.")
@fail_cleanly
def status(config_path: Path | None, stale_after: float | None, fmt: str, bots: tuple[str, ...]) -> None:
    """Show every bot in the journal: running, degraded, stale, stopped or crashed; last tick,
    position, open orders, today's PnL, each strategy (active or paused, and why), the kill switch,
    last error.

    Exit status (for health checks): 0 healthy, 1 a bot shown is stale or crashed, 3 a running bot
    is degraded (a strategy paused or the kill switch tripped), 2 the config or the journal cannot
    be read."""
    cfg = load_config(config_path)
    threshold = (Decimal(str(stale_after)) if stale_after is not None
                 else default_stale_after(cfg["engine"]["interval_seconds"]))
    engine = open_journal(cfg["journal"]["url"])
    try:
        statuses = read_status(engine, time.time_ns() // 1_000_000, int(threshold * 1000))
        with engine.connect() as conn:
            actions = {s.bot: control.recent(conn, s.bot, limit=RECENT_ACTIONS) for s in statuses
                       if not bots or s.bot in bots}
    except SQLAlchemyError as exc:
        reason = mask_in(str(exc).splitlines()[0][:200], cfg["journal"]["url"])
        raise JournalError(f"cannot read the journal: {reason}") from None
    finally:
        engine.dispose()
    if bots:
        missing = sorted(set(bots) - {s.bot for s in statuses})
        if missing:
            raise JournalError(f"no bot {', '.join(map(repr, missing))} in the journal")
        statuses = [s for s in statuses if s.bot in bots]
    click.echo(render_status(statuses, fmt, {bot: found for bot, found in actions.items() if found}))
    sys.exit(exit_status(statuses))


__all__ = ["EXIT_DEGRADED", "EXIT_DOWN", "EXIT_HEALTHY", "BotStatus", "StrategyStatus", "default_stale_after",
           "exit_status", "open_journal", "read_status", "render_status", "status"]
