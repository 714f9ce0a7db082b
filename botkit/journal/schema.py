"""The journal's tables (SQLAlchemy 2.x declarative).

Money is stored as text holding the exact decimal (:class:`DecimalText`): SQLite has no decimal
type and ``Numeric`` would pass through binary floats there. Times are integer epoch milliseconds.
Every table that belongs to one bot carries ``bot_id`` so that several bots can share a database.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class DecimalText(TypeDecorator[Decimal]):
    """An exact decimal kept as its text (no float on any database)."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money columns take Decimal, not {type(value).__name__}")
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


class Base(DeclarativeBase):
    pass


class Run(Base):
    """One start-to-stop of a bot (live, paper or backtest)."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(64), index=True)
    venue: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # running | stopped | crashed
    started_at: Mapped[int] = mapped_column(BigInteger)
    stopped_at: Mapped[int | None] = mapped_column(BigInteger)
    last_tick_at: Mapped[int | None] = mapped_column(BigInteger)
    ticks: Mapped[int] = mapped_column(Integer, default=0)
    pid: Mapped[int | None] = mapped_column(Integer)
    host: Mapped[str | None] = mapped_column(String(255))
    last_error: Mapped[str | None] = mapped_column(Text)
    start_equity: Mapped[Decimal | None] = mapped_column(DecimalText)
    last_equity: Mapped[Decimal | None] = mapped_column(DecimalText)
    last_position: Mapped[Decimal | None] = mapped_column(DecimalText)
    summary: Mapped[str | None] = mapped_column(Text)
    kill_switch: Mapped[str | None] = mapped_column(Text)
    """Why the daily loss limit halts new orders, while it does; None when it does not."""
    kill_switch_at: Mapped[int | None] = mapped_column(BigInteger)
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

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("bot_id", "exchange_order_id", name="uq_orders_bot_exchange_id"),
        Index("ix_orders_bot_status", "bot_id", "status"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    strategy: Mapped[str] = mapped_column(String(64))
    tag: Mapped[str] = mapped_column(String(64), default="")
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(8))
    price: Mapped[Decimal | None] = mapped_column(DecimalText)
    quantity: Mapped[Decimal] = mapped_column(DecimalText)
    exchange_order_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    filled_quantity: Mapped[Decimal] = mapped_column(DecimalText)
    average_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    fees: Mapped[Decimal] = mapped_column(DecimalText)
    created_at: Mapped[int] = mapped_column(BigInteger)
    sent_at: Mapped[int] = mapped_column(BigInteger)
    exchange_created_at: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    venue: Mapped[str] = mapped_column(String(16))
    flag: Mapped[str | None] = mapped_column(String(32))  # adopted | late
    error: Mapped[str | None] = mapped_column(Text)
    events: Mapped[list[OrderEvent]] = relationship(back_populates="order", order_by="OrderEvent.id")


class OrderEvent(Base):
    """The life of an order as botkit saw it, one row per step (for audits)."""

    __tablename__ = "order_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    ts: Mapped[int] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    order: Mapped[OrderRow] = relationship(back_populates="events")


class FillRow(Base):
    """One execution; ``(bot_id, exchange_order_id, seq)`` is unique, so a fill is kept once."""

    __tablename__ = "fills"
    __table_args__ = (UniqueConstraint("bot_id", "exchange_order_id", "seq", name="uq_fills_bot_order_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(64), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    exchange_order_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    strategy: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[Decimal] = mapped_column(DecimalText)
    quantity: Mapped[Decimal] = mapped_column(DecimalText)
    fee: Mapped[Decimal] = mapped_column(DecimalText)
    liquidity: Mapped[str] = mapped_column(String(8))
    ts: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))


class BalanceSnapshot(Base):
    __tablename__ = "balance_snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    ts: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal] = mapped_column(DecimalText)


class StrategyStateRow(Base):
    __tablename__ = "strategy_state"
    bot_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class StrategyHealthRow(Base):
    """Each strategy of a bot's latest run: active or paused, and why, for ``botkit status``.

    Written by the daemon when a strategy's health changes (a failure, the end of a failure
    streak, a pause) and for every strategy at the start of a run; read by other processes.
    """

    __tablename__ = "strategy_health"
    bot_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    strategy: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    state: Mapped[str] = mapped_column(String(16))  # active | paused
    reason: Mapped[str | None] = mapped_column(Text)
    """Why it is paused (None while active)."""
    failures: Mapped[int] = mapped_column(Integer)
    """Consecutive failures: the streak that pauses the strategy at ``max_strategy_failures``."""
    last_error: Mapped[str | None] = mapped_column(Text)
    """The latest failure, secrets redacted."""
    updated_at: Mapped[int] = mapped_column(BigInteger)


class BarRow(Base):
    """A closed bar the bot built, kept so that a restarted bot has its history before its first
    decision; bounded per bot and timeframe by the longest lookback its strategies declare."""

    __tablename__ = "bars"
    bot_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    timeframe: Mapped[str] = mapped_column(String(16), primary_key=True)
    start_at: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    end_at: Mapped[int] = mapped_column(BigInteger)
    open: Mapped[Decimal | None] = mapped_column(DecimalText)
    high: Mapped[Decimal | None] = mapped_column(DecimalText)
    low: Mapped[Decimal | None] = mapped_column(DecimalText)
    close: Mapped[Decimal | None] = mapped_column(DecimalText)
    volume: Mapped[Decimal] = mapped_column(DecimalText)
    quote_volume: Mapped[Decimal] = mapped_column(DecimalText)
    trades: Mapped[int] = mapped_column(Integer)
    vwap: Mapped[Decimal | None] = mapped_column(DecimalText)
    from_mid: Mapped[bool] = mapped_column(Boolean)
    missing: Mapped[bool] = mapped_column(Boolean)
    mid: Mapped[Decimal | None] = mapped_column(DecimalText)
    microprice: Mapped[Decimal | None] = mapped_column(DecimalText)
    spread: Mapped[Decimal | None] = mapped_column(DecimalText)
    imbalance: Mapped[float | None] = mapped_column(Float)


class RiskRejection(Base):
    __tablename__ = "risk_rejections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    ts: Mapped[int] = mapped_column(BigInteger)
    strategy: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    intent: Mapped[str] = mapped_column(Text)


__all__ = [
    "BalanceSnapshot",
    "BarRow",
    "Base",
    "DecimalText",
    "FillRow",
    "OrderEvent",
    "OrderRow",
    "RiskRejection",
    "Run",
    "StrategyHealthRow",
    "StrategyStateRow",
]
