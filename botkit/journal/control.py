"""Operators' control actions, journaled: the web app writes a request, the daemon carries it out
at its next tick and writes what came of it; ``botkit status`` shows the recent ones.

The journal is the one channel between them, so a request reaches the daemon whichever process
took it (``botkit web`` or the daemon's own ``--web-port`` server), and every request is kept
with who made it and when, whether or not it was carried out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from botkit.core.times import iso_ms
from botkit.journal.schema import ControlAction

ACTIONS = ("pause", "resume", "trip_kill_switch", "reset_kill_switch", "cancel_all", "stop")
"""What an operator may ask of a running bot; ``pause`` and ``resume`` name a strategy."""

_PENDING = (select(ControlAction.id, ControlAction.action, ControlAction.strategy, ControlAction.who,
                   ControlAction.requested_at)
            .where(ControlAction.bot_id == bindparam("bot"), ControlAction.done_at.is_(None))
            .order_by(ControlAction.id))
"""Built once: the daemon runs it at every tick."""


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """A pending action, as the daemon reads it."""

    id: int
    action: str
    strategy: str | None
    who: str
    requested_at: int


def request(engine: Engine, bot_id: str, action: str, who: str, now: int, strategy: str | None = None) -> int:
    """Journal an operator's request; returns its id. The daemon of ``bot_id`` carries it out."""
    if action not in ACTIONS:
        raise ValueError(f"unknown control action {action!r}")
    with engine.begin() as conn:
        row = conn.execute(insert(ControlAction).returning(ControlAction.id).values(
            bot_id=bot_id, action=action, strategy=strategy, who=who[:128], requested_at=now))
        return int(row.scalar_one())


def pending(engine: Engine, bot_id: str) -> list[ControlRequest]:
    """The bot's requests not carried out yet, oldest first."""
    with engine.connect() as conn:
        return [ControlRequest(r.id, r.action, r.strategy, r.who, r.requested_at)
                for r in conn.execute(_PENDING, {"bot": bot_id})]


def finish(engine: Engine, action_id: int, now: int, outcome: str) -> None:
    """Record what became of a request (carried out, or why not)."""
    with engine.begin() as conn:
        conn.execute(update(ControlAction).where(ControlAction.id == action_id).values(done_at=now, outcome=outcome))


def recent(conn: Connection, bot_id: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The newest ``limit`` requests (of one bot, or of all), newest first, for people to read."""
    query = select(ControlAction).order_by(ControlAction.id.desc()).limit(limit)
    if bot_id is not None:
        query = query.where(ControlAction.bot_id == bot_id)
    return [{
        "id": r.id, "bot": r.bot_id, "action": r.action, "strategy": r.strategy, "who": r.who,
        "requested_at": iso_ms(r.requested_at), "done_at": None if r.done_at is None else iso_ms(r.done_at),
        "outcome": r.outcome if r.done_at is not None else "pending",
    } for r in conn.execute(query)]
