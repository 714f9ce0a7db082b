"""The journal's tables, in SQLAlchemy Core: the one definition of its schema.

The journal reads and writes them with Core alone, so a process that only journals (every
backtest) never loads the ORM; :mod:`botkit.journal.schema` maps classes onto these same tables
for the readers that want objects (``botkit status``, the dashboard, ``botkit compare``), and
describes each table. A change here is a change of schema: it needs a migration in
``migrations/versions`` (``tests/journal/test_migrations.py`` holds the two equal).

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
    Column,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)


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


METADATA = MetaData()

RUNS = Table(
    "runs", METADATA,
    Column("id", Integer, primary_key=True),
    Column("bot_id", String(64), nullable=False, index=True),
    Column("venue", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("stopped_at", BigInteger),
    Column("last_tick_at", BigInteger),
    Column("ticks", Integer, nullable=False, default=0),
    Column("pid", Integer),
    Column("host", String(255)),
    Column("last_error", Text),
    Column("start_equity", DecimalText()),
    Column("last_equity", DecimalText()),
    Column("last_position", DecimalText()),
    Column("summary", Text),
    Column("kill_switch", Text),
    Column("kill_switch_at", BigInteger),
)

ORDERS = Table(
    "orders", METADATA,
    Column("id", Integer, primary_key=True),
    Column("bot_id", String(64), nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("tag", String(64), nullable=False, default=""),
    Column("side", String(4), nullable=False),
    Column("order_type", String(8), nullable=False),
    Column("price", DecimalText()),
    Column("quantity", DecimalText(), nullable=False),
    Column("exchange_order_id", String(64)),
    Column("status", String(16), nullable=False),
    Column("filled_quantity", DecimalText(), nullable=False),
    Column("average_price", DecimalText()),
    Column("fees", DecimalText(), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("sent_at", BigInteger, nullable=False),
    Column("exchange_created_at", BigInteger),
    Column("updated_at", BigInteger, nullable=False),
    Column("venue", String(16), nullable=False),
    Column("flag", String(32)),
    Column("error", Text),
    UniqueConstraint("bot_id", "exchange_order_id", name="uq_orders_bot_exchange_id"),
    Index("ix_orders_bot_status", "bot_id", "status"),
)

ORDER_EVENTS = Table(
    "order_events", METADATA,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("ts", BigInteger, nullable=False),
    Column("event", String(32), nullable=False),
    Column("detail", Text),
)

FILLS = Table(
    "fills", METADATA,
    Column("id", Integer, primary_key=True),
    Column("bot_id", String(64), nullable=False, index=True),
    Column("order_id", Integer, ForeignKey("orders.id"), nullable=False, index=True),
    Column("exchange_order_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("side", String(4), nullable=False),
    Column("price", DecimalText(), nullable=False),
    Column("quantity", DecimalText(), nullable=False),
    Column("fee", DecimalText(), nullable=False),
    Column("liquidity", String(8), nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    UniqueConstraint("bot_id", "exchange_order_id", "seq", name="uq_fills_bot_order_seq"),
)

BALANCE_SNAPSHOTS = Table(
    "balance_snapshots", METADATA,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False, index=True),
    Column("ts", BigInteger, nullable=False),
    Column("currency", String(8), nullable=False),
    Column("amount", DecimalText(), nullable=False),
)

STRATEGY_STATE = Table(
    "strategy_state", METADATA,
    Column("bot_id", String(64), primary_key=True),
    Column("strategy", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)

STRATEGY_HEALTH = Table(
    "strategy_health", METADATA,
    Column("bot_id", String(64), primary_key=True),
    Column("strategy", String(64), primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text),
    Column("failures", Integer, nullable=False),
    Column("last_error", Text),
    Column("updated_at", BigInteger, nullable=False),
)

BARS = Table(
    "bars", METADATA,
    Column("bot_id", String(64), primary_key=True),
    Column("timeframe", String(16), primary_key=True),
    Column("start_at", BigInteger, primary_key=True),
    Column("end_at", BigInteger, nullable=False),
    Column("open", DecimalText()),
    Column("high", DecimalText()),
    Column("low", DecimalText()),
    Column("close", DecimalText()),
    Column("volume", DecimalText(), nullable=False),
    Column("quote_volume", DecimalText(), nullable=False),
    Column("trades", Integer, nullable=False),
    Column("vwap", DecimalText()),
    Column("from_mid", Boolean, nullable=False),
    Column("missing", Boolean, nullable=False),
    Column("mid", DecimalText()),
    Column("microprice", DecimalText()),
    Column("spread", DecimalText()),
    Column("imbalance", Float),
)

RISK_REJECTIONS = Table(
    "risk_rejections", METADATA,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), nullable=False, index=True),
    Column("ts", BigInteger, nullable=False),
    Column("strategy", String(64), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("intent", Text, nullable=False),
)

CONTROL_ACTIONS = Table(
    "control_actions", METADATA,
    Column("id", Integer, primary_key=True),
    Column("bot_id", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("strategy", String(64)),
    Column("who", String(128), nullable=False),
    Column("requested_at", BigInteger, nullable=False),
    Column("done_at", BigInteger),
    Column("outcome", Text),
    Index("ix_control_actions_bot_done", "bot_id", "done_at"),
)

__all__ = [
    "BALANCE_SNAPSHOTS",
    "BARS",
    "CONTROL_ACTIONS",
    "FILLS",
    "METADATA",
    "ORDERS",
    "ORDER_EVENTS",
    "RISK_REJECTIONS",
    "RUNS",
    "STRATEGY_HEALTH",
    "STRATEGY_STATE",
    "DecimalText",
]
