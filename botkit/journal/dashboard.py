"""The journal's reads behind the web dashboard and its API: one bot's open orders, recent fills,
risk rejections, strategies, errors and its equity and position over time.

Each is one or two short queries on the indexes the daemon's own reads use, on the caller's
connection (one per dashboard call), so a dashboard polling every
few seconds costs the bot's database little (``benchmarks/bench_web.py`` measures it). Money stays
``Decimal``; times are ISO 8601 with their epoch milliseconds beside them for charts.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from botkit.core.times import iso_ms
from botkit.journal.schema import BalanceSnapshot, FillRow, OrderRow, RiskRejection, Run, StrategyHealthRow
from botkit.model import LIVE_STATES, ZERO, Side

EQUITY = "EQUITY"
"""The ``balance_snapshots.currency`` of the daemon's equity samples (USD at mid)."""
SERIES_POINTS = 500
"""The most points of a chart: the newest, enough for a screen's width."""
_LIVE = tuple(sorted(state.value for state in LIVE_STATES))


def open_orders(conn: Connection, bot_id: str) -> list[dict[str, Any]]:
    """The bot's orders that are open or of unknown outcome, oldest first."""
    query = (select(OrderRow.id, OrderRow.exchange_order_id, OrderRow.strategy, OrderRow.side, OrderRow.price,
                    OrderRow.quantity, OrderRow.filled_quantity, OrderRow.status, OrderRow.created_at)
             .where(OrderRow.bot_id == bot_id, OrderRow.status.in_(_LIVE)).order_by(OrderRow.id))
    return [{"id": r.id, "exchange_order_id": r.exchange_order_id, "strategy": r.strategy, "side": r.side,
             "price": r.price, "quantity": r.quantity, "filled_quantity": r.filled_quantity, "status": r.status,
             "created_at": iso_ms(r.created_at)} for r in conn.execute(query)]


def recent_fills(conn: Connection, bot_id: str, limit: int = 50) -> list[dict[str, Any]]:
    """The bot's newest fills, newest first."""
    query = (select(FillRow.exchange_order_id, FillRow.strategy, FillRow.side, FillRow.price, FillRow.quantity,
                    FillRow.fee, FillRow.liquidity, FillRow.ts)
             .where(FillRow.bot_id == bot_id).order_by(FillRow.id.desc()).limit(limit))
    return [{"exchange_order_id": r.exchange_order_id, "strategy": r.strategy, "side": r.side, "price": r.price,
             "quantity": r.quantity, "fee": r.fee, "liquidity": r.liquidity, "time": iso_ms(r.ts), "ts": r.ts}
            for r in conn.execute(query)]


def recent_rejections(conn: Connection, run_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """The run's newest risk rejections, newest first."""
    query = (select(RiskRejection).where(RiskRejection.run_id == run_id)
             .order_by(RiskRejection.id.desc()).limit(limit))
    return [{"strategy": r.strategy, "rule": r.rule, "reason": r.reason, "intent": r.intent,
             "time": iso_ms(r.ts)} for r in conn.execute(query)]


def strategies(conn: Connection, bot_id: str) -> list[dict[str, Any]]:
    """Each strategy of the bot's latest run as the daemon last journaled it."""
    query = select(StrategyHealthRow).where(StrategyHealthRow.bot_id == bot_id).order_by(StrategyHealthRow.strategy)
    return [{"strategy": r.strategy, "state": r.state, "reason": r.reason, "consecutive_failures": r.failures,
             "last_error": r.last_error, "since": iso_ms(r.updated_at)} for r in conn.execute(query)]


def last_errors(conn: Connection, bot_id: str, limit: int = 10) -> list[dict[str, Any]]:
    """The last error of each of the bot's newest runs, and of its strategies, newest first."""
    runs = conn.execute(select(Run.id, Run.last_error, Run.last_tick_at, Run.started_at)
                        .where(Run.bot_id == bot_id, Run.last_error.is_not(None))
                        .order_by(Run.id.desc()).limit(limit)).all()
    failing = conn.execute(select(StrategyHealthRow.strategy, StrategyHealthRow.last_error,
                                  StrategyHealthRow.updated_at)
                           .where(StrategyHealthRow.bot_id == bot_id,
                                  StrategyHealthRow.last_error.is_not(None))).all()
    found = [(r.last_tick_at or r.started_at, f"run {r.id}", r.last_error) for r in runs]
    found += [(r.updated_at, f"strategy {r.strategy}", r.last_error) for r in failing]
    found.sort(key=lambda item: item[0], reverse=True)
    return [{"time": iso_ms(ts), "where": where, "error": error} for ts, where, error in found[:limit]]


def equity_series(conn: Connection, run_id: int, points: int = SERIES_POINTS) -> list[dict[str, Any]]:
    """The run's equity samples (USD at mid), oldest first: the newest ``points``."""
    query = (select(BalanceSnapshot.ts, BalanceSnapshot.amount)
             .where(BalanceSnapshot.run_id == run_id, BalanceSnapshot.currency == EQUITY)
             .order_by(BalanceSnapshot.id.desc()).limit(points))
    rows = conn.execute(query).all()
    return [{"ts": ts, "value": amount} for ts, amount in reversed(rows)]


def position_series(conn: Connection, bot_id: str, points: int = SERIES_POINTS) -> list[dict[str, Any]]:
    """The bot's net BTC position after each of its newest ``points`` fills, oldest first (the
    fills before them give the starting position)."""
    rows = conn.execute(select(FillRow.id, FillRow.ts, FillRow.side, FillRow.quantity)
                        .where(FillRow.bot_id == bot_id).order_by(FillRow.id.desc()).limit(points)).all()
    if not rows:
        return []
    first = rows[-1].id
    older = conn.execute(select(FillRow.side, FillRow.quantity)
                         .where(FillRow.bot_id == bot_id, FillRow.id < first)).all()
    position = sum((_signed(side, quantity) for side, quantity in older), ZERO)
    series = []
    for row in reversed(rows):
        position += _signed(row.side, row.quantity)
        series.append({"ts": row.ts, "value": position})
    return series


def _signed(side: str, quantity: Decimal) -> Decimal:
    return quantity if side == Side.BUY.value else -quantity
