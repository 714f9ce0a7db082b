"""The journal's tables as ORM classes (SQLAlchemy 2.x declarative), for the readers that want
objects: ``botkit status``, the dashboard, ``botkit compare``, tests.

The tables themselves are :mod:`botkit.journal.tables` (Core), the one definition of the schema;
each class here is mapped onto its table, and its annotations only type its attributes. The
journal itself writes and reads with Core, so a backtest never loads the ORM.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import DeclarativeBase, Mapped, relationship

from botkit.journal.tables import (
    BALANCE_SNAPSHOTS,
    BARS,
    CONTROL_ACTIONS,
    FILLS,
    METADATA,
    ORDER_EVENTS,
    ORDERS,
    RISK_REJECTIONS,
    RUNS,
    STRATEGY_HEALTH,
    STRATEGY_STATE,
    DecimalText,
)


class Base(DeclarativeBase):
    metadata = METADATA


class Run(Base):
    """One start-to-stop of a bot (live, paper or backtest)."""

    __table__ = RUNS
    id: Mapped[int]
    bot_id: Mapped[str]
    venue: Mapped[str]
    status: Mapped[str]  # running | stopped | crashed
    started_at: Mapped[int]
    stopped_at: Mapped[int | None]
    last_tick_at: Mapped[int | None]
    ticks: Mapped[int]
    pid: Mapped[int | None]
    host: Mapped[str | None]
    last_error: Mapped[str | None]
    start_equity: Mapped[Decimal | None]
    last_equity: Mapped[Decimal | None]
    last_position: Mapped[Decimal | None]
    summary: Mapped[str | None]
    kill_switch: Mapped[str | None]
    """Why the daily loss limit halts new orders, while it does; None when it does not."""
    kill_switch_at: Mapped[int | None]
    """When the kill switch last tripped or reset."""


class OrderRow(Base):
    """Every order a strategy asked for, from the moment before it was sent.

    ``status`` is the exchange's word once known (opened, partial-filled, filled, canceled), or
    botkit's own before that: ``pending`` (journaled, maybe not sent), ``unknown`` (sent, reply
    lost), ``rejected`` (the exchange refused it), ``not_placed`` (certainly never created);
    ``vanished`` marks a placed order the exchange later said it does not know (404). Each word
    is a value of :class:`botkit.model.OrderState` (``flag``'s of :class:`botkit.model.OrderFlag`),
    which the code uses; the column keeps the plain words.
    """

    __table__ = ORDERS
    id: Mapped[int]
    bot_id: Mapped[str]
    run_id: Mapped[int]
    strategy: Mapped[str]
    tag: Mapped[str]
    side: Mapped[str]
    order_type: Mapped[str]
    price: Mapped[Decimal | None]
    quantity: Mapped[Decimal]
    exchange_order_id: Mapped[str | None]
    status: Mapped[str]
    filled_quantity: Mapped[Decimal]
    average_price: Mapped[Decimal | None]
    fees: Mapped[Decimal]
    created_at: Mapped[int]
    sent_at: Mapped[int]
    exchange_created_at: Mapped[int | None]
    updated_at: Mapped[int]
    venue: Mapped[str]
    flag: Mapped[str | None]  # adopted | late
    error: Mapped[str | None]
    events: Mapped[list[OrderEvent]] = relationship(back_populates="order", order_by="OrderEvent.id")


class OrderEvent(Base):
    """The life of an order as botkit saw it, one row per step (for audits)."""

    __table__ = ORDER_EVENTS
    id: Mapped[int]
    order_id: Mapped[int]
    ts: Mapped[int]
    event: Mapped[str]
    detail: Mapped[str | None]
    order: Mapped[OrderRow] = relationship(back_populates="events")


class FillRow(Base):
    """One execution; ``(bot_id, exchange_order_id, seq)`` is unique, so a fill is kept once."""

    __table__ = FILLS
    id: Mapped[int]
    bot_id: Mapped[str]
    order_id: Mapped[int]
    exchange_order_id: Mapped[str]
    seq: Mapped[int]
    strategy: Mapped[str]
    side: Mapped[str]
    price: Mapped[Decimal]
    quantity: Mapped[Decimal]
    fee: Mapped[Decimal]
    liquidity: Mapped[str]
    ts: Mapped[int]
    run_id: Mapped[int]


class BalanceSnapshot(Base):
    """A sample of the account for the dashboard's chart, taken by the daemon every
    ``EQUITY_SAMPLE_MS``: ``currency`` ``EQUITY`` is the account's value in USD at mid."""

    __table__ = BALANCE_SNAPSHOTS
    id: Mapped[int]
    run_id: Mapped[int]
    ts: Mapped[int]
    currency: Mapped[str]
    amount: Mapped[Decimal]


class StrategyStateRow(Base):
    __table__ = STRATEGY_STATE
    bot_id: Mapped[str]
    strategy: Mapped[str]
    key: Mapped[str]
    value: Mapped[str]


class StrategyHealthRow(Base):
    """Each strategy of a bot's latest run: active or paused, and why, for ``botkit status``.

    Written by the daemon when a strategy's health changes (a failure, the end of a failure
    streak, a pause) and for every strategy at the start of a run; read by other processes.
    """

    __table__ = STRATEGY_HEALTH
    bot_id: Mapped[str]
    strategy: Mapped[str]
    run_id: Mapped[int]
    state: Mapped[str]  # active | paused
    reason: Mapped[str | None]
    """Why it is paused (None while active)."""
    failures: Mapped[int]
    """Consecutive failures: the streak that pauses the strategy at ``max_strategy_failures``."""
    last_error: Mapped[str | None]
    """The latest failure, secrets redacted."""
    updated_at: Mapped[int]


class BarRow(Base):
    """A closed bar the bot built, kept so that a restarted bot has its history before its first
    decision; bounded per bot and timeframe by the longest lookback its strategies declare."""

    __table__ = BARS
    bot_id: Mapped[str]
    timeframe: Mapped[str]
    start_at: Mapped[int]
    end_at: Mapped[int]
    open: Mapped[Decimal | None]
    high: Mapped[Decimal | None]
    low: Mapped[Decimal | None]
    close: Mapped[Decimal | None]
    volume: Mapped[Decimal]
    quote_volume: Mapped[Decimal]
    trades: Mapped[int]
    vwap: Mapped[Decimal | None]
    from_mid: Mapped[bool]
    missing: Mapped[bool]
    mid: Mapped[Decimal | None]
    microprice: Mapped[Decimal | None]
    spread: Mapped[Decimal | None]
    imbalance: Mapped[float | None]


class RiskRejection(Base):
    __table__ = RISK_REJECTIONS
    id: Mapped[int]
    run_id: Mapped[int]
    ts: Mapped[int]
    strategy: Mapped[str]
    rule: Mapped[str]
    reason: Mapped[str]
    intent: Mapped[str]


class ControlAction(Base):
    """An operator's request to a running bot (from the web dashboard or its API): who asked for
    what and when, and what became of it. The daemon carries out the pending ones at its next tick
    and records ``done_at`` and ``outcome``."""

    __table__ = CONTROL_ACTIONS
    id: Mapped[int]
    bot_id: Mapped[str]
    action: Mapped[str]
    """pause | resume | trip_kill_switch | reset_kill_switch | cancel_all | stop"""
    strategy: Mapped[str | None]
    who: Mapped[str]
    requested_at: Mapped[int]
    done_at: Mapped[int | None]
    outcome: Mapped[str | None]


__all__ = [
    "BalanceSnapshot",
    "BarRow",
    "Base",
    "ControlAction",
    "DecimalText",
    "FillRow",
    "OrderEvent",
    "OrderRow",
    "RiskRejection",
    "Run",
    "StrategyHealthRow",
    "StrategyStateRow",
]
