"""Every bot's state read from the journal, for ``botkit status``, the web dashboard and health
checks: another process reads what the daemon journaled (runs, open orders, strategy health, fills).

Each bot's latest run says what it is doing. A ``running`` run whose last tick (its heartbeat in
the ``runs`` row) is older than ``--stale-after`` is **stale**: its daemon died without closing
the run (kill -9, power loss, OOM killer) or hangs. A running bot that ticks but cannot trade as
configured is **degraded**: one of its strategies is paused (after ``max_strategy_failures``
consecutive failures) or its kill switch (the daily loss limit) has tripped. The daemon journals
each strategy's health and the kill switch as they change (``strategy_health``, ``runs``), and
this command, another process, reads them.

Exit status, so that a systemd timer, a container health check or a monitoring probe can run it
as is: 0 every bot shown is healthy (running or stopped), 1 one is stale or its last run crashed
(restarting it may help), 3 none is but one is degraded (a restart would not help: it would
forget the pause and the kill switch; an operator should look), 2 the config or the journal
cannot be read. It only reads: it never creates or migrates a journal.

Today's PnL is realized PnL minus fees of the fills since 00:00 UTC, by the average-cost method
over all the bot's fills in one book (the TOTAL row of ``botkit journal pnl``), so a position
carried over from yesterday keeps its cost. It leaves out the unrealized PnL of the open
position: that moves with the market, while this moves only with the bot's own trading.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from botkit.core.times import DAY_MS, iso_ms
from botkit.journal.pnl import PnL
from botkit.journal.schema import FillRow, OrderRow, Run, StrategyHealthRow
from botkit.model import LIVE_STATES, OPEN_STATES, UNRESOLVED_STATES, Side
from botkit.strategy.health import StrategyHealth

CELL_WIDTH = 60
MIN_STALE_AFTER_S = 30
"""The default threshold is 3 intervals but never less than this: one tick may legitimately wait
for the exchange's timeout (10 s per call by default) a few times."""

UNHEALTHY = ("stale", "crashed")
DEGRADED = "degraded"
EXIT_HEALTHY = 0
EXIT_DOWN = 1
"""A bot shown is stale or crashed."""
EXIT_DEGRADED = 3
"""No bot shown is stale or crashed, but a running one has a paused strategy or a tripped kill
switch. (2 is botkit's exit status for an error: here, a journal that cannot be read.)"""

@dataclass(frozen=True, slots=True)
class StrategyStatus:
    """One strategy of a bot's latest run, as the daemon last journaled it."""

    health: StrategyHealth
    since: int
    """When it was journaled (the last change: a failure, the end of a streak, a pause)."""

    @property
    def summary(self) -> str:
        """``name: state``, with the failure streak when there is one."""
        h = self.health
        streak = f" ({_failures(h.failures)})" if h.failures else ""
        return f"{h.strategy}: {h.state}{streak}"

    def as_row(self) -> dict[str, Any]:
        h = self.health
        return {"strategy": h.strategy, "state": h.state, "reason": h.reason, "consecutive_failures": h.failures,
                "last_error": h.last_error, "since": iso_ms(self.since)}


@dataclass(frozen=True, slots=True)
class BotStatus:
    """One bot as its latest run and its journal describe it."""

    bot: str
    state: str
    """running, stale (running but silent for too long), stopped or crashed."""
    run_id: int
    venue: str
    host: str | None
    pid: int | None
    started_at: int
    stopped_at: int | None
    last_tick_at: int | None
    last_tick_age: Decimal | None
    """Seconds since the last tick (ms precision); None before the first tick."""
    ticks: int
    position: Decimal | None
    equity: Decimal | None
    open_orders: int
    unresolved_orders: int
    fills_today: int
    pnl_today: Decimal
    last_error: str | None
    strategies: tuple[StrategyStatus, ...] = ()
    """The strategies of the latest run (none for a run of a botkit that did not journal them)."""
    kill_switch: str | None = None
    """Why new orders are halted, while the kill switch is tripped."""
    kill_switch_at: int | None = None
    """When the kill switch last tripped or reset."""

    @property
    def healthy(self) -> bool:
        """Not stale, not crashed (a degraded bot is healthy in this sense: it runs)."""
        return self.state not in UNHEALTHY

    @property
    def problems(self) -> list[str]:
        """One line for each paused or failing strategy and a tripped kill switch, with why."""
        lines = []
        for strategy in self.strategies:
            h = strategy.health
            if h.state == "active" and not h.failures:
                continue
            what = h.reason if h.reason else f"{h.state}, {_failures(h.failures, 'consecutive ')}"
            error = f"; last error: {h.last_error}" if h.last_error else ""
            lines.append(f"strategy {h.strategy} {what} (since {iso_ms(strategy.since)}){error}")
        if self.kill_switch is not None:
            since = "" if self.kill_switch_at is None else f" (since {iso_ms(self.kill_switch_at)})"
            lines.append(f"kill switch tripped{since}: {self.kill_switch}")
        return lines

    def as_row(self) -> dict[str, Any]:
        return {
            "bot": self.bot, "state": self.state, "run_id": self.run_id, "venue": self.venue, "host": self.host,
            "pid": self.pid, "started_at": iso_ms(self.started_at),
            "stopped_at": None if self.stopped_at is None else iso_ms(self.stopped_at),
            "last_tick_at": None if self.last_tick_at is None else iso_ms(self.last_tick_at),
            "last_tick_age_seconds": self.last_tick_age, "ticks": self.ticks, "position_btc": self.position,
            "equity_usd": self.equity, "open_orders": self.open_orders, "unresolved_orders": self.unresolved_orders,
            "fills_today": self.fills_today, "pnl_today_usd": self.pnl_today,
            "strategies": [s.as_row() for s in self.strategies],
            "kill_switch": "off" if self.kill_switch is None else "tripped", "kill_switch_reason": self.kill_switch,
            "kill_switch_at": None if self.kill_switch_at is None else iso_ms(self.kill_switch_at),
            "last_error": self.last_error,
        }

    def as_table_row(self) -> dict[str, Any]:
        return {
            "bot": self.bot, "state": self.state,
            "last_tick": "-" if self.last_tick_age is None else f"{_age(self.last_tick_age)} ago",
            "ticks": self.ticks, "position": self.position, "open_orders": self.open_orders,
            "pnl_today": self.pnl_today,
            "strategies": _cell(", ".join(s.summary for s in self.strategies) or "-"),
            "kill_switch": "off" if self.kill_switch is None else "tripped",
            "last_error": _cell(self.last_error or ""),
        }


def exit_status(statuses: Sequence[BotStatus]) -> int:
    """:data:`EXIT_DOWN` if a bot is stale or crashed, else :data:`EXIT_DEGRADED` if one is
    degraded, else :data:`EXIT_HEALTHY` (no bots at all included)."""
    if not all(s.healthy for s in statuses):
        return EXIT_DOWN
    if any(s.state == DEGRADED for s in statuses):
        return EXIT_DEGRADED
    return EXIT_HEALTHY


def read_status(engine: Engine, now_ms: int, stale_after_ms: int,
                bots: Collection[str] | None = None) -> list[BotStatus]:
    """The status of every bot in the journal (or of ``bots`` only), sorted by bot id, as of ``now_ms``."""
    day_start = now_ms - now_ms % DAY_MS
    with engine.connect() as conn:
        latest = select(func.max(Run.id)).group_by(Run.bot_id)
        if bots is not None:
            latest = latest.where(Run.bot_id.in_(sorted(bots)))
        runs = conn.execute(select(Run.__table__).where(Run.id.in_(latest)).order_by(Run.bot_id)).all()
        counts: dict[tuple[str, str], int] = {
            (row.bot_id, row.status): row.n for row in conn.execute(
                select(OrderRow.bot_id, OrderRow.status, func.count().label("n"))
                .where(OrderRow.status.in_(sorted(state.value for state in LIVE_STATES)))
                .group_by(OrderRow.bot_id, OrderRow.status))}
        today = {run.bot_id: _pnl_today(conn, run.bot_id, day_start) for run in runs}
        health: dict[int, list[StrategyStatus]] = {}
        for row in conn.execute(select(StrategyHealthRow.__table__).where(StrategyHealthRow.run_id.in_(latest))
                                .order_by(StrategyHealthRow.strategy)):
            health.setdefault(row.run_id, []).append(StrategyStatus(
                StrategyHealth(row.strategy, row.state, row.reason, row.failures, row.last_error), row.updated_at))
    result = []
    for run in runs:
        strategies = tuple(health.get(run.id, ()))
        state = run.status
        heard_from = run.last_tick_at if run.last_tick_at is not None else run.started_at
        if state == "running" and now_ms - heard_from > stale_after_ms:
            state = "stale"
        elif state == "running" and (run.kill_switch is not None
                                     or any(s.health.state == "paused" for s in strategies)):
            state = DEGRADED
        fills_today, pnl_today = today[run.bot_id]
        result.append(BotStatus(
            bot=run.bot_id, state=state, run_id=run.id, venue=run.venue, host=run.host, pid=run.pid,
            started_at=run.started_at, stopped_at=run.stopped_at, last_tick_at=run.last_tick_at,
            last_tick_age=None if run.last_tick_at is None else Decimal(now_ms - run.last_tick_at) / 1000,
            ticks=run.ticks, position=run.last_position, equity=run.last_equity,
            open_orders=sum(counts.get((run.bot_id, s.value), 0) for s in OPEN_STATES),
            unresolved_orders=sum(counts.get((run.bot_id, s.value), 0) for s in UNRESOLVED_STATES),
            fills_today=fills_today, pnl_today=pnl_today, last_error=run.last_error, strategies=strategies,
            kill_switch=run.kill_switch, kill_switch_at=run.kill_switch_at,
        ))
    return result


def _pnl_today(conn: Any, bot_id: str, day_start: int) -> tuple[int, Decimal]:
    """(fills since day_start, their realized PnL minus fees), costs carried from all earlier fills."""
    book = PnL()
    before: Decimal | None = None
    fills_before = 0
    rows = conn.execute(select(FillRow.side, FillRow.price, FillRow.quantity, FillRow.fee, FillRow.ts)
                        .where(FillRow.bot_id == bot_id).order_by(FillRow.ts, FillRow.id))
    for side, price, quantity, fee, ts in rows:
        if before is None and ts >= day_start:
            before, fills_before = book.net, book.fills
        book.add(Side(side), price, quantity, fee)
    if before is None:
        return 0, Decimal(0)
    return book.fills - fills_before, book.net - before


def default_stale_after(interval_seconds: Decimal) -> Decimal:
    """3 tick intervals, but at least :data:`MIN_STALE_AFTER_S` seconds."""
    return max(3 * interval_seconds, Decimal(MIN_STALE_AFTER_S))


def _failures(count: int, kind: str = "") -> str:
    return f"{count} {kind}failure{'' if count == 1 else 's'}"


def _cell(text: str) -> str:
    """A table cell of at most :data:`CELL_WIDTH` characters (the lines under the table have it all)."""
    return text if len(text) <= CELL_WIDTH else text[:CELL_WIDTH - 3] + "..."


def _age(seconds: Decimal) -> str:
    if seconds < 120:
        return f"{seconds.quantize(Decimal('0.1'))}s"
    if seconds < 7200:
        return f"{int(seconds // 60)}m"
    if seconds < 172800:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"
