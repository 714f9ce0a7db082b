"""The journal: the durable record of every order, fill and decision of a bot.

Each method is one transaction committed before it returns, because the engine acts on what it
has journaled (an order is journaled as ``pending`` before it is sent, so a crash at any moment
leaves a row to reconcile). A backtest's journal is *batched* instead: the same methods write the
same rows on one connection and :meth:`Journal.flush` commits them every so many ticks, because
against a simulated venue there is nothing a crash could lose that a rerun would not redo. It also
keeps its append-only rows (order events, fills, risk rejections), and on SQLite its orders, in
memory and writes each table's with one executemany before anything reads them
(:meth:`Journal._drain`). SQLite
runs in WAL mode with a busy timeout. One daemon per SQLite file, or per bot id on PostgreSQL, is
enforced by :mod:`botkit.journal.lock`.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Connection,
    Engine,
    Insert,
    Row,
    Table,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import StaticPool

from botkit.core import jsonutil
from botkit.core.crashpoints import crashpoint
from botkit.core.errors import JournalError
from botkit.core.logs import Redactor
from botkit.core.urlmask import mask_in, mask_url
from botkit.journal import migrate
from botkit.journal.lock import JournalLock, PostgresAdvisoryLock, SqliteFileLock
from botkit.journal.tables import (
    BALANCE_SNAPSHOTS,
    BARS,
    FILLS,
    ORDER_EVENTS,
    ORDERS,
    RISK_REJECTIONS,
    RUNS,
    STRATEGY_HEALTH,
    STRATEGY_STATE,
)
from botkit.model import (
    LIVE_STATES,
    ZERO,
    Fill,
    Liquidity,
    Order,
    OrderFlag,
    OrderState,
    Side,
)
from botkit.strategy.bars import Bar, timeframe_ms
from botkit.strategy.health import StrategyHealth

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger("botkit.journal")

# Built once: SQLAlchemy then reuses their compiled form instead of rebuilding it per call, which
# costs more than the SQLite commit itself. An update's SET columns are the parameters' keys.
_PENDING = insert(ORDERS).returning(ORDERS.c.id)
_ORDER = insert(ORDERS)
"""A batched SQLite journal's order row, its id assigned by the journal (:meth:`Journal._new_order`)."""
_ORDER_COLUMNS = tuple(column.name for column in ORDERS.columns)
_LAST_ORDER_ID = select(func.max(ORDERS.c.id))
_UPDATE_ORDER = update(ORDERS).where(ORDERS.c.id == bindparam("row_id"))
_FILL_SEQS = select(FILLS.c.seq).where(FILLS.c.bot_id == bindparam("bot"),
                                       FILLS.c.exchange_order_id == bindparam("eid"))
_EVENT = insert(ORDER_EVENTS)
_FILL = insert(FILLS)
_REJECTION = insert(RISK_REJECTIONS)

_BUFFER_ROWS = 1000
"""Rows a batched journal keeps in memory before it writes them without waiting for a read or a
flush: an executemany of this many rows costs about as little per row as a longer one, and memory
stays flat however long the backtest."""

_LIVE = tuple(sorted(state.value for state in LIVE_STATES))
"""The ``orders.status`` words of the orders :meth:`Journal.live_orders` reads back."""


@dataclass(slots=True)
class OrderRecord:
    """The engine's in-memory copy of one journaled order that is not finished yet."""

    local_id: int
    strategy: str
    tag: str
    side: Side
    order_type: str
    price: Decimal | None
    quantity: Decimal
    status: OrderState
    exchange_order_id: str | None
    filled: Decimal
    fills_seen: int
    sent_at: int
    created_at: int
    average_price: Decimal | None = None
    fees: Decimal = ZERO
    cancel_sent_at: int | None = None

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def is_unresolved(self) -> bool:
        return self.status.is_unresolved

    @property
    def local_order_id(self) -> str:
        """botkit's own id of the order, ``local-N``: what a strategy knows it by before it is placed."""
        return f"local-{self.local_id}"

    @property
    def order_id(self) -> str:
        """The id a strategy knows the order by: the exchange's once placed, else :attr:`local_order_id`."""
        return self.exchange_order_id or self.local_order_id


def _record(row: Row[Any], fills_seen: int) -> OrderRecord:
    return OrderRecord(
        local_id=row.id, strategy=row.strategy, tag=row.tag, side=Side(row.side), order_type=row.order_type,
        price=row.price, quantity=row.quantity, status=OrderState(row.status), exchange_order_id=row.exchange_order_id,
        filled=row.filled_quantity, fills_seen=fills_seen, sent_at=row.sent_at, created_at=row.created_at,
        average_price=row.average_price, fees=row.fees,
    )


class Journal:
    """All journal reads and writes of one bot (``bot_id``) on one database."""

    def __init__(self, url: str, bot_id: str = "default", *, auto_upgrade: bool = True, durable: bool = True,
                 exclusive: bool = False, secrets: Iterable[str] = (), batched: bool = False) -> None:
        """``exclusive`` (a daemon's journal) takes the one-daemon lock (:meth:`acquire`) before the
        database is read or migrated, so a refused second daemon has touched nothing. ``batched``
        (a backtest's) writes on one open transaction that :meth:`flush` commits."""
        self.url = url
        self.bot_id = bot_id
        self._redact = Redactor(secrets)
        """Applied to the error texts it keeps: a strategy's exception may quote anything."""
        self._lock: JournalLock | None = None
        self._run_id: int | None = None
        self.engine = self.make_engine(url, durable=durable)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        database = self.engine.url.database
        self.sqlite_path = Path(database) if self.is_sqlite and database and database != ":memory:" else None
        self.batched = batched
        self._batch: Connection | None = None
        self.order_revision = 0
        """Counts the changes this journal made to the :class:`OrderRecord` values it handed out
        (created, bound, moved to another state, filled): the only writer of their fields. The
        engine derives its reserves, counts and the strategies' order views from its unfinished
        orders, and recomputes them only when this (or the number of those orders) moved: a
        market maker's quotes rest for many ticks."""
        self._buffer: dict[Insert, list[dict[str, Any]]] | None = (
            {_ORDER: [], _EVENT: [], _FILL: [], _REJECTION: []} if batched else None)
        """A batched journal's rows not written yet, per statement in the order they were journaled
        (so each table's ids are those a write per row gives), orders first (the other rows refer
        to them); None: every row is written at once. Through SQLAlchemy one ``execute`` costs
        about 25 µs and an executemany about 3.6 µs a row, and a backtest order that is placed
        then cancelled writes four events."""
        self._unwritten: dict[int, dict[str, Any]] = {}
        """The buffered order rows by id: a change to an order not written yet (bound, cancelled,
        filled) is made to its row, so an order placed and cancelled between two reads is one
        row in one executemany instead of an insert and two updates."""
        self._next_order_id: int | None = None
        """The id the next buffered order takes; None until read from the table in the
        transaction (:meth:`_new_order`), and again at each transaction's start."""
        try:
            if exclusive:
                self.acquire()
            self._check_schema(auto_upgrade)
        except SQLAlchemyError as exc:
            self.close()
            raise JournalError(f"cannot open journal {self.safe_url}: {mask_in(_short(exc), url)}") from None
        except BaseException:
            self.close()
            raise

    def _check_schema(self, auto_upgrade: bool) -> None:
        have, want = migrate.current(self.engine), migrate.head()
        if have == want:
            return
        if not auto_upgrade:
            raise JournalError(
                f"journal {self.safe_url} has schema {have or 'none'}, this botkit needs {want}: "
                "run `botkit journal upgrade` (or set [journal] auto_upgrade = true)"
            )
        before, after = migrate.upgrade(self.engine)
        if before != after:
            log.info("journal %s upgraded from schema %s to %s", self.safe_url, before or "none", after)

    @staticmethod
    def make_engine(url: str, *, durable: bool = True) -> Engine:
        """A SQLAlchemy engine for a journal URL: SQLite in WAL mode with a busy timeout and real
        transactions, ``postgresql://`` on psycopg 3. ``durable=False`` (a backtest's throwaway
        journal) lets SQLite skip syncing to disk: nothing is lost that a rerun would not redo."""
        try:
            parsed = make_url(url)
        except Exception as exc:
            raise JournalError(f"journal.url {mask_url(url)!r} is not a SQLAlchemy URL: {mask_in(str(exc), url)}"
                               ) from None
        kwargs: dict[str, Any] = {}
        is_sqlite = parsed.get_backend_name() == "sqlite"
        if is_sqlite:
            database = parsed.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                _refuse_hard_links(Path(database))
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            if not database or database == ":memory:":
                # One connection for every thread: each new connection to sqlite:// would be a
                # new, empty database (the daemon ticks on the scheduler's threads).
                kwargs["poolclass"] = StaticPool
        elif parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            engine = create_engine(parsed, pool_pre_ping=not is_sqlite, **kwargs)
        except Exception as exc:
            raise JournalError(f"cannot use journal {mask_url(url)}: {mask_in(str(exc), url)}") from None
        if is_sqlite:
            event.listen(engine, "connect", _sqlite_pragmas if durable else _sqlite_pragmas_fast)
            event.listen(engine, "begin", _sqlite_begin)
        return engine

    @property
    def safe_url(self) -> str:
        """The URL with its password masked: the only form of it errors, logs and reprs show."""
        return mask_url(self.url)

    def __repr__(self) -> str:
        return f"Journal({self.safe_url!r}, bot_id={self.bot_id!r})"

    def session(self) -> Session:
        """An ORM session (:mod:`botkit.journal.schema`'s classes) for the readers that want
        objects; in a batched journal, on the batch's open transaction (its commit leaves that
        transaction to :meth:`flush`), with the buffered rows written first: a session reads, it
        does not journal. The journal's own methods use Core (:meth:`_connection`):
        a backtest then never loads the ORM."""
        from sqlalchemy.orm import Session

        if self.batched:
            self._drain()
            return Session(bind=self._batch_connection(), expire_on_commit=False,
                           join_transaction_mode="rollback_only")
        return Session(bind=self.engine, expire_on_commit=False)

    @contextmanager
    def _connection(self, *, commit: bool = True) -> Iterator[Connection]:
        """A connection in a transaction, committed on leaving (rolled back for a read, ``commit``
        false), or, batched, the batch's: committed at the next flush, and for a read with the
        buffered rows written first, so that it sees every row journaled before it."""
        if self.batched:
            if not commit:
                self._drain()
            yield self._batch_connection()
            return
        with self.engine.begin() if commit else self.engine.connect() as conn:
            yield conn

    def _batch_connection(self) -> Connection:
        if self._batch is None:
            self._batch = self.engine.connect()
        if not self._batch.in_transaction():
            self._batch.begin()
            self._next_order_id = None  # another process may have added orders between two transactions
        return self._batch

    def _insert(self, conn: Connection, statement: Insert, row: dict[str, Any]) -> None:
        """Write a row whose insert returns nothing (an append-only one, or an order whose id the
        journal gave): at once, or in a batched journal into the buffer (:attr:`_buffer`),
        written when it holds :data:`_BUFFER_ROWS` rows or something is about to read."""
        if self._buffer is None:
            conn.execute(statement, row)
            return
        rows = self._buffer[statement]
        rows.append(row)
        if len(rows) >= _BUFFER_ROWS:
            self._drain(statement)

    def _drain(self, *statements: Insert) -> None:
        """Write the buffered rows of these statements (none given: of all), one executemany each,
        on the batch's transaction, the orders' always first: the other rows refer to them. Every
        read of a batched journal comes here first; a row is taken out of the buffer before it is
        written, so a failed write never writes it twice."""
        if self._buffer is None:
            return
        for statement in (_ORDER, *statements) if statements else tuple(self._buffer):
            rows = self._buffer[statement]
            if rows:
                self._buffer[statement] = []
                if statement is _ORDER:
                    self._unwritten.clear()
                self._batch_connection().execute(statement, rows)

    def flush(self) -> None:
        """Write the buffered rows and commit what a batched journal wrote since the last flush
        (nothing to do otherwise)."""
        self._drain()
        if self._batch is not None and self._batch.in_transaction():
            self._batch.commit()

    def _new_order(self, conn: Connection, row: dict[str, Any]) -> int:
        """Write a new order row; its id.

        A batched journal on SQLite buffers the row under the id SQLite would give it (one more
        than the table's highest, read once a transaction): the transaction holds the database's
        write lock from its ``BEGIN IMMEDIATE`` to the flush that writes the row, so no other
        writer can take that id in between. Elsewhere the database assigns the id (a PostgreSQL
        sequence is shared with other bots' daemons)."""
        if self._buffer is None or not self.is_sqlite:
            local_id: int = conn.execute(_PENDING, row).scalar_one()
            return local_id
        if self._next_order_id is None:
            self._next_order_id = (conn.scalar(_LAST_ORDER_ID) or 0) + 1
        local_id = self._next_order_id
        self._next_order_id += 1
        full = dict.fromkeys(_ORDER_COLUMNS)
        full.update(row, id=local_id)
        self._unwritten[local_id] = full
        self._insert(conn, _ORDER, full)
        return local_id

    def _update_order(self, conn: Connection, local_id: int, values: dict[str, Any]) -> None:
        """Change an order's row: in the buffer while it is not written yet, else in the table."""
        row = self._unwritten.get(local_id)
        if row is not None:
            row.update(values)
        else:
            conn.execute(_UPDATE_ORDER, {"row_id": local_id, **values})

    # ------------------------------------------------------------------ exclusivity

    def acquire(self) -> None:
        """Refuse a second daemon for this journal (SQLite file) or this bot id (PostgreSQL)."""
        if self.sqlite_path is not None:
            sqlite_lock = SqliteFileLock(self.sqlite_path)
            sqlite_lock.acquire()
            self._lock = sqlite_lock
        elif self.engine.dialect.name == "postgresql":
            pg_lock = PostgresAdvisoryLock(self.engine, self.bot_id, self.safe_url, self._taken_over)
            pg_lock.acquire()
            self._lock = pg_lock

    def check_lock(self) -> None:
        """Raise :class:`~botkit.core.errors.JournalLockLost` if this daemon's lock (taken by
        :meth:`acquire`) is no longer its own; a journal never acquired has nothing to check."""
        if self._lock is not None:
            self._lock.check()

    def _taken_over(self) -> bool:
        """Whether another daemon started a run of this bot after this daemon's run began."""
        if self._run_id is None:
            return False
        with self._connection(commit=False) as conn:
            return conn.scalar(select(RUNS.c.id).where(RUNS.c.bot_id == self.bot_id, RUNS.c.id > self._run_id)
                               .limit(1)) is not None

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def close(self) -> None:
        if self._batch is not None:
            try:
                self.flush()
            finally:
                self._batch.close()
                self._batch = None
        self.release()
        self.engine.dispose()

    # ------------------------------------------------------------------ runs

    def begin_run(self, venue: str, now: int) -> int:
        with self._connection() as conn:
            # A run left 'running' by a killed daemon is marked crashed: nobody is running it now.
            conn.execute(update(RUNS).where(RUNS.c.bot_id == self.bot_id, RUNS.c.status == "running")
                         .values(status="crashed"))
            run_id: int = conn.execute(insert(RUNS).returning(RUNS.c.id), {
                "bot_id": self.bot_id, "venue": venue, "status": "running", "started_at": now, "ticks": 0,
                "pid": os.getpid(), "host": socket.gethostname()}).scalar_one()
            self._run_id = run_id
            return run_id

    def last_run(self) -> int | None:
        """The id of this bot's latest run; None when it has none."""
        with self._connection(commit=False) as conn:
            last: int | None = conn.scalar(select(func.max(RUNS.c.id)).where(RUNS.c.bot_id == self.bot_id))
            return last

    def heartbeat(self, run_id: int, now: int, ticks: int, equity: Decimal | None, position: Decimal,
                  error: str | None = None, start_equity: Decimal | None = None) -> None:
        values: dict[str, Any] = {"last_tick_at": now, "ticks": ticks, "last_equity": equity, "last_position": position}
        if error is not None:
            values["last_error"] = self._redact(error)
        if start_equity is not None:
            values["start_equity"] = start_equity
        with self._connection() as conn:
            conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values))

    def set_kill_switch(self, run_id: int, now: int, reason: str | None) -> None:
        """Record that the kill switch tripped (``reason``) or reset (None)."""
        with self._connection() as conn:
            conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(
                kill_switch=None if reason is None else self._redact(reason), kill_switch_at=now))

    def begin_health(self, run_id: int, now: int, strategies: Iterable[StrategyHealth]) -> None:
        """The strategies of a new run, replacing those of the bot's earlier runs."""
        rows = [self._health_row(run_id, now, health) for health in strategies]
        with self._connection() as conn:
            conn.execute(delete(STRATEGY_HEALTH).where(STRATEGY_HEALTH.c.bot_id == self.bot_id))
            if rows:
                conn.execute(insert(STRATEGY_HEALTH), rows)

    def set_health(self, run_id: int, now: int, health: StrategyHealth) -> None:
        """Record a change of one strategy's health."""
        with self._connection() as conn:
            _merge(conn, STRATEGY_HEALTH, self._health_row(run_id, now, health))

    def _health_row(self, run_id: int, now: int, health: StrategyHealth) -> dict[str, Any]:
        return {"bot_id": self.bot_id, "strategy": health.strategy, "run_id": run_id, "state": health.state,
                "reason": None if health.reason is None else self._redact(health.reason),
                "failures": health.failures,
                "last_error": None if health.last_error is None else self._redact(health.last_error),
                "updated_at": now}

    def end_run(self, run_id: int, now: int, status: str, summary: dict[str, Any]) -> None:
        with self._connection() as conn:
            conn.execute(update(RUNS).where(RUNS.c.id == run_id)
                         .values(status=status, stopped_at=now, summary=jsonutil.dumps(summary)))

    # ------------------------------------------------------------------ orders

    # The write paths below use SQLAlchemy Core on one connection per transaction: the ORM's
    # unit of work costs about a millisecond of CPU per commit, which would cap a backtest's
    # order rate far below what SQLite can write.

    def record_pending(self, run_id: int, venue: str, strategy: str, tag: str, side: Side, order_type: str,
                       price: Decimal | None, quantity: Decimal, now: int) -> OrderRecord:
        """Journal an order before it is sent: the write-ahead step of exactly-once placement."""
        with self._connection() as conn:
            local_id = self._new_order(conn, {
                "bot_id": self.bot_id, "run_id": run_id, "strategy": strategy, "tag": tag, "side": side.value,
                "order_type": order_type, "price": price, "quantity": quantity, "status": OrderState.PENDING.value,
                "filled_quantity": ZERO, "fees": ZERO, "created_at": now, "sent_at": now, "updated_at": now,
                "venue": venue})
            self._insert(conn, _EVENT, {"order_id": local_id, "ts": now, "event": OrderState.PENDING.value,
                                        "detail": None})
        self.order_revision += 1
        return OrderRecord(local_id=local_id, strategy=strategy, tag=tag, side=side, order_type=order_type,
                           price=price, quantity=quantity, status=OrderState.PENDING, exchange_order_id=None,
                           filled=ZERO, fills_seen=0, sent_at=now, created_at=now)

    def set_status(self, record: OrderRecord, status: OrderState, now: int, detail: str | None = None,
                   error: str | None = None) -> None:
        """Move an order to one of botkit's own states (unknown, rejected, not_placed, vanished);
        the exchange's states come with its view of the order, through :meth:`apply`."""
        values: dict[str, Any] = {"status": status.value, "updated_at": now}
        if error is not None:
            values["error"] = error
        with self._connection() as conn:
            self._update_order(conn, record.local_id, values)
            self._insert(conn, _EVENT, {"order_id": record.local_id, "ts": now, "event": status.value,
                                        "detail": detail})
        record.status = status
        self.order_revision += 1

    def bind(self, record: OrderRecord, exchange_order_id: str, now: int, *, flag: OrderFlag | None = None,
             detail: str | None = None) -> None:
        """Tie a journaled order to the exchange's id (from the 202 reply or a reconciliation)."""
        values: dict[str, Any] = {"exchange_order_id": exchange_order_id, "status": OrderState.OPENED.value,
                                  "updated_at": now}
        if flag is not None:
            values["flag"] = flag.value
        with self._connection() as conn:
            self._update_order(conn, record.local_id, values)
            self._insert(conn, _EVENT, {"order_id": record.local_id, "ts": now,
                                        "event": flag.value if flag else "placed",
                                        "detail": detail or exchange_order_id})
        record.exchange_order_id = exchange_order_id
        record.status = OrderState.OPENED
        self.order_revision += 1

    def apply(self, record: OrderRecord, order: Order, run_id: int, now: int) -> list[Fill]:
        """Bring a journaled order up to the exchange's view; return the fills not seen before.

        Status, filled quantity and the new fills are written in one transaction, and a fill
        already journaled (same order and sequence number) is never written twice.
        """
        new_fills = list(order.fills[record.fills_seen:])
        if not order.fills and order.filled > record.filled:
            # A venue without botkit's fills extension: one synthetic fill per observed increase.
            price = order.average_price if order.average_price is not None else (order.price or ZERO)
            new_fills = [Fill(order.order_id, price, order.filled - record.filled, ZERO,
                              _liquidity_guess(order), now, record.fills_seen)]
        state = OrderState.of(order.status)
        status_changed = state is not record.status
        if not new_fills and not status_changed and order.filled == record.filled:
            return []
        stored: list[Fill] = []
        with self._connection() as conn:
            if new_fills:
                self._drain(_FILL)  # the dedupe must see the fills still buffered
                seen = set(conn.scalars(_FILL_SEQS, {"bot": self.bot_id, "eid": order.order_id}))
                for fill in new_fills:
                    if fill.seq in seen:
                        continue
                    self._insert(conn, _FILL, {
                        "bot_id": self.bot_id, "order_id": record.local_id, "exchange_order_id": order.order_id,
                        "seq": fill.seq, "strategy": record.strategy, "side": record.side.value,
                        "price": fill.price, "quantity": fill.quantity, "fee": fill.fee,
                        "liquidity": fill.liquidity.value, "ts": fill.ts, "run_id": run_id})
                    crashpoint("fill.journal")
                    self._insert(conn, _EVENT, {
                        "order_id": record.local_id, "ts": now, "event": "fill",
                        "detail": f"{fill.quantity} @ {fill.price} fee {fill.fee} {fill.liquidity.value}"})
                    stored.append(fill)
            self._update_order(conn, record.local_id, {
                "status": state.value, "filled_quantity": order.filled, "average_price": order.average_price,
                "fees": order.fees, "exchange_created_at": order.created_ts or None, "updated_at": now})
            if status_changed and state is not OrderState.PARTIAL:
                self._insert(conn, _EVENT, {"order_id": record.local_id, "ts": now, "event": state.value,
                                            "detail": None})
        record.status = state
        record.filled = order.filled
        record.average_price = order.average_price
        record.fees = order.fees
        record.fills_seen = max(record.fills_seen + len(new_fills), len(order.fills))
        self.order_revision += 1
        return stored

    def adopt(self, run_id: int, venue: str, order: Order, now: int, strategy: str = "_adopted") -> OrderRecord:
        """Journal an exchange order botkit did not know (found at start-up)."""
        sent_at = order.created_ts or now
        with self._connection() as conn:
            local_id = self._new_order(conn, {
                "bot_id": self.bot_id, "run_id": run_id, "strategy": strategy, "tag": "", "side": order.side.value,
                "order_type": order.order_type.value, "price": order.price, "quantity": order.quantity,
                "exchange_order_id": order.order_id, "status": OrderState.OPENED.value, "filled_quantity": ZERO,
                "fees": ZERO, "created_at": now, "sent_at": sent_at, "exchange_created_at": order.created_ts or None,
                "updated_at": now, "venue": venue, "flag": OrderFlag.ADOPTED.value})
            self._insert(conn, _EVENT, {"order_id": local_id, "ts": now, "event": OrderFlag.ADOPTED.value,
                                        "detail": order.order_id})
        self.order_revision += 1
        return OrderRecord(local_id=local_id, strategy=strategy, tag="", side=order.side,
                           order_type=order.order_type.value, price=order.price, quantity=order.quantity,
                           status=OrderState.OPENED, exchange_order_id=order.order_id, filled=ZERO, fills_seen=0,
                           sent_at=sent_at, created_at=now)

    def note(self, record: OrderRecord, event_name: str, now: int, detail: str | None = None) -> None:
        with self._connection() as conn:
            self._insert(conn, _EVENT, {"order_id": record.local_id, "ts": now, "event": event_name,
                                        "detail": detail})

    def live_orders(self) -> list[OrderRecord]:
        """Orders not finished: open on the exchange, or of unresolved outcome."""
        with self._connection(commit=False) as conn:
            rows = conn.execute(select(ORDERS).where(ORDERS.c.bot_id == self.bot_id,
                                                     ORDERS.c.status.in_(_LIVE)).order_by(ORDERS.c.id)).all()
            counts = self._fill_counts(conn, [r.id for r in rows])
            return [_record(r, counts.get(r.id, 0)) for r in rows]

    def not_placed_since(self, since: int) -> list[OrderRecord]:
        """Orders declared not placed recently: one may still turn up on the exchange (late)."""
        with self._connection(commit=False) as conn:
            rows = conn.execute(select(ORDERS).where(
                ORDERS.c.bot_id == self.bot_id, ORDERS.c.status == OrderState.NOT_PLACED.value,
                ORDERS.c.sent_at >= since).order_by(ORDERS.c.id)).all()
            return [_record(r, 0) for r in rows]

    def known_exchange_ids(self, ids: Iterable[str]) -> set[str]:
        wanted = list(ids)
        if not wanted:
            return set()
        with self._connection(commit=False) as conn:
            found = conn.scalars(select(ORDERS.c.exchange_order_id).where(
                ORDERS.c.bot_id == self.bot_id, ORDERS.c.exchange_order_id.in_(wanted))).all()
            return {f for f in found if f is not None}

    @staticmethod
    def _fill_counts(conn: Connection, order_ids: Sequence[int]) -> dict[int, int]:
        if not order_ids:
            return {}
        counts: dict[int, int] = {}
        for oid in conn.scalars(select(FILLS.c.order_id).where(FILLS.c.order_id.in_(order_ids))):
            counts[oid] = counts.get(oid, 0) + 1
        return counts

    def positions(self) -> dict[str, Decimal]:
        """Net BTC per strategy over all this bot's fills (buys minus sells)."""
        result: dict[str, Decimal] = {}
        with self._connection(commit=False) as conn:
            for strategy, side, quantity in conn.execute(
                    select(FILLS.c.strategy, FILLS.c.side, FILLS.c.quantity).where(FILLS.c.bot_id == self.bot_id)):
                signed = quantity if side == Side.BUY.value else -quantity
                result[strategy] = result.get(strategy, ZERO) + signed
        return result

    # ------------------------------------------------------------------ other records

    def record_rejection(self, run_id: int, now: int, strategy: str, rule: str, reason: str, intent: str) -> None:
        with self._connection() as conn:  # Core, not the ORM: a strategy may be refused on every tick
            self._insert(conn, _REJECTION, {"run_id": run_id, "ts": now, "strategy": strategy, "rule": rule,
                                            "reason": reason, "intent": intent})

    def record_balances(self, run_id: int, now: int, balances: dict[str, Decimal]) -> None:
        if not balances:
            return
        with self._connection() as conn:
            conn.execute(insert(BALANCE_SNAPSHOTS), [{"run_id": run_id, "ts": now, "currency": currency,
                                                      "amount": amount}
                                                     for currency, amount in sorted(balances.items())])

    def load_state(self, strategy: str) -> dict[str, Any]:
        with self._connection(commit=False) as conn:
            rows = conn.execute(select(STRATEGY_STATE.c.key, STRATEGY_STATE.c.value).where(
                STRATEGY_STATE.c.bot_id == self.bot_id, STRATEGY_STATE.c.strategy == strategy)).all()
            return {key: jsonutil.loads(value) for key, value in rows}

    def save_state(self, strategy: str, changes: dict[str, Any]) -> None:
        if not changes:
            return
        with self._connection() as conn:
            for key, value in changes.items():
                if value is None:
                    conn.execute(delete(STRATEGY_STATE).where(
                        STRATEGY_STATE.c.bot_id == self.bot_id, STRATEGY_STATE.c.strategy == strategy,
                        STRATEGY_STATE.c.key == key))
                else:
                    _merge(conn, STRATEGY_STATE, {"bot_id": self.bot_id, "strategy": strategy, "key": key,
                                                  "value": jsonutil.dumps(value)})

    # ------------------------------------------------------------------ bars

    def save_bars(self, bars: Sequence[Bar], keep: Mapping[str, int]) -> None:
        """Keep closed bars (oldest first), and only the last ``keep[timeframe]`` of each
        timeframe: bars are contiguous, so those older are those starting before the newest's end
        minus that many bars."""
        if not bars:
            return
        newest: dict[str, Bar] = {}
        with self._connection() as conn:
            for bar in bars:
                _merge(conn, BARS, {
                    "bot_id": self.bot_id, "timeframe": bar.timeframe, "start_at": bar.start, "end_at": bar.end,
                    "open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close, "volume": bar.volume,
                    "quote_volume": bar.quote_volume, "trades": bar.trades, "vwap": bar.vwap,
                    "from_mid": bar.from_mid, "missing": bar.missing, "mid": bar.mid, "microprice": bar.microprice,
                    "spread": bar.spread, "imbalance": bar.imbalance})
                newest[bar.timeframe] = bar
            for timeframe, bar in newest.items():
                oldest_kept = bar.end - keep.get(timeframe, 1) * timeframe_ms(timeframe)
                conn.execute(delete(BARS).where(BARS.c.bot_id == self.bot_id, BARS.c.timeframe == timeframe,
                                                BARS.c.start_at < oldest_kept))

    def load_bars(self, keep: Mapping[str, int]) -> list[Bar]:
        """The kept bars of these timeframes, at most ``keep[timeframe]`` each, oldest first."""
        found: list[Bar] = []
        with self._connection(commit=False) as conn:
            for timeframe, bound in keep.items():
                rows = conn.execute(select(BARS).where(BARS.c.bot_id == self.bot_id, BARS.c.timeframe == timeframe)
                                    .order_by(BARS.c.start_at.desc()).limit(bound)).all()
                found.extend(Bar(row.timeframe, row.start_at, row.end_at, row.open, row.high, row.low, row.close,
                                 row.volume, row.quote_volume, row.trades, row.vwap, row.from_mid, row.missing,
                                 row.mid, row.microprice, row.spread, row.imbalance) for row in reversed(rows))
        return found


def _merge(conn: Connection, table: Table, row: Mapping[str, Any]) -> None:
    """Write ``row``: update the row of its primary key, or insert it where there is none (what
    the ORM's ``Session.merge`` did, without the ORM)."""
    key = [column.name for column in table.primary_key.columns]
    found = conn.execute(update(table).where(*(table.c[name] == row[name] for name in key))
                         .values({name: value for name, value in row.items() if name not in key}))
    if not found.rowcount:
        conn.execute(insert(table), dict(row))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # botkit issues BEGIN itself (_sqlite_begin) so that SQLite's transactions, DDL included,
    # are the ones SQLAlchemy thinks they are (the pysqlite recipe in SQLAlchemy's docs).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_pragmas_fast(dbapi_connection: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock before the first read, so the busy timeout applies; a deferred
    # transaction that reads, then writes after another process wrote, fails at once with
    # "database is locked" (SQLITE_BUSY_SNAPSHOT), whatever the timeout.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _refuse_hard_links(path: Path) -> None:
    """SQLite names its WAL after the path it opened: through two hard links, two WALs of one
    database each hide the other's commits, and a migration run through one corrupts it."""
    try:
        links = path.stat().st_nlink
    except FileNotFoundError:
        return
    if links > 1:
        raise JournalError(f"journal {path} has {links} hard links: SQLite would keep one write-ahead log per "
                           "name and corrupt it; use one path (a symlink is fine) and remove the other links")


def _liquidity_guess(order: Order) -> Liquidity:
    return Liquidity.TAKER if order.order_type.value == "market" else Liquidity.MAKER


def _short(exc: BaseException) -> str:
    text_ = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text_[:200]


__all__ = ["Journal", "OrderRecord"]
