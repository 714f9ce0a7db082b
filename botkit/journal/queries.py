"""Read-only views of the journal for ``botkit journal`` and ``botkit status``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from botkit.core.errors import JournalError
from botkit.core.times import iso_ms
from botkit.core.urlmask import mask_in, mask_url
from botkit.journal import migrate
from botkit.journal.journal import Journal
from botkit.journal.pnl import PnL
from botkit.journal.schema import FillRow, OrderRow, Run
from botkit.model import Side

ORDER_COLUMNS = ("id", "exchange_order_id", "strategy", "side", "order_type", "price", "quantity",
                 "filled_quantity", "average_price", "fees", "status", "flag", "created_at", "created_ts", "run_id")
FILL_COLUMNS = ("exchange_order_id", "strategy", "side", "price", "quantity", "fee", "liquidity", "time", "ts",
                "run_id")
DISPLAY_STEP = Decimal("0.00000001")
PNL_COLUMNS = ("strategy", "fills", "position", "average_cost", "volume", "realized_pnl", "fees", "net_pnl")
EPOCH_COLUMNS = frozenset({"ts", "created_ts"})
"""Epoch milliseconds: for JSON and CSV, next to their ISO time; tables show only the ISO time."""
UNITS = {"price": "USD", "average_price": "USD", "average_cost": "USD", "fees": "USD", "fee": "USD",
         "realized_pnl": "USD", "net_pnl": "USD", "volume": "USD", "quantity": "BTC", "filled_quantity": "BTC",
         "position": "BTC"}
"""The unit of each money column, for :func:`botkit.core.output.render`'s tables."""


@dataclass(frozen=True, slots=True)
class Filter:
    """Which rows to show: one run, one strategy, since a moment, the newest ``limit``."""

    run_id: int | None = None
    strategy: str | None = None
    since_ms: int | None = None
    limit: int | None = None


ALL = Filter()


def _narrowed(query: Select[Any], table: type[OrderRow] | type[FillRow], moment: Any, run_id: int | None,
              where: Filter) -> Select[Any]:
    """``query`` (newest first) cut to one run, one strategy, rows from ``where.since_ms`` on (by
    the ``moment`` column) and the newest ``where.limit``."""
    if run_id is not None:
        query = query.where(table.run_id == run_id)
    if where.strategy is not None:
        query = query.where(table.strategy == where.strategy)
    if where.since_ms is not None:
        query = query.where(moment >= where.since_ms)
    return query if where.limit is None else query.limit(where.limit)


def orders(journal: Journal, run_id: int | None = None, *, where: Filter = ALL) -> list[dict[str, Any]]:
    run_id = run_id if run_id is not None else where.run_id
    with journal.session() as s:
        query = _narrowed(select(OrderRow).where(OrderRow.bot_id == journal.bot_id).order_by(OrderRow.id.desc()),
                          OrderRow, OrderRow.created_at, run_id, where)
        return [{
            "id": o.id, "exchange_order_id": o.exchange_order_id, "strategy": o.strategy, "side": o.side,
            "order_type": o.order_type, "price": o.price, "quantity": o.quantity,
            "filled_quantity": o.filled_quantity, "average_price": o.average_price, "fees": o.fees,
            "status": o.status, "flag": o.flag, "created_at": iso_ms(o.created_at), "created_ts": o.created_at,
            "run_id": o.run_id,
        } for o in reversed(s.scalars(query).all())]


def fills(journal: Journal, run_id: int | None = None, *, where: Filter = ALL) -> list[dict[str, Any]]:
    run_id = run_id if run_id is not None else where.run_id
    with journal.session() as s:
        query = _narrowed(select(FillRow).where(FillRow.bot_id == journal.bot_id)
                          .order_by(FillRow.ts.desc(), FillRow.id.desc()), FillRow, FillRow.ts, run_id, where)
        return [{
            "exchange_order_id": f.exchange_order_id, "strategy": f.strategy, "side": f.side, "price": f.price,
            "quantity": f.quantity, "fee": f.fee, "liquidity": f.liquidity, "time": iso_ms(f.ts), "ts": f.ts,
            "run_id": f.run_id,
        } for f in reversed(s.scalars(query).all())]


def pnl(journal: Journal, run_id: int | None = None, *, where: Filter = ALL) -> list[dict[str, Any]]:
    """Average-cost PnL per strategy, and a TOTAL row, from the journaled fills (``where.limit``
    does not apply: PnL needs every fill)."""
    books: dict[str, PnL] = {}
    total = PnL()
    for f in fills(journal, run_id, where=Filter(where.run_id, where.strategy, where.since_ms)):
        side = Side(f["side"])
        books.setdefault(f["strategy"], PnL()).add(side, f["price"], f["quantity"], f["fee"])
        total.add(side, f["price"], f["quantity"], f["fee"])
    rows = [_pnl_row(name, book) for name, book in sorted(books.items())]
    if len(rows) != 1:
        rows.append(_pnl_row("TOTAL", total))
    return rows


def _pnl_row(name: str, book: PnL) -> dict[str, Any]:
    # Average cost is a ratio (up to 28 digits) and a partial close's share of the cost is rounded to
    # 1e-20 (botkit.journal.pnl): shown to 1e-8 USD (a hundred-millionth of a cent is far below any fee),
    # fills and fees stay exact.
    return {"strategy": name, "fills": book.fills, "position": book.position,
            "average_cost": _display(book.average_cost), "volume": book.volume,
            "realized_pnl": _display(book.realized), "fees": book.fees, "net_pnl": _display(book.net)}


def _display(value: Decimal) -> Decimal:
    return value.quantize(DISPLAY_STEP).normalize() if value else value


def runs(journal: Journal) -> list[Run]:
    with journal.session() as s:
        return list(s.scalars(select(Run).where(Run.bot_id == journal.bot_id).order_by(Run.id)))


def open_journal(url: str) -> Engine:
    """An engine on an existing, up-to-date journal; refuses rather than creating or migrating one."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise JournalError(f"journal.url {mask_url(url)!r} is not a SQLAlchemy URL: {mask_in(str(exc), url)}") from None
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database not in ("", ":memory:") and not Path(database).is_file():
        raise JournalError(f"no journal at {database} (no bot has run with this journal.url yet)")
    engine = Journal.make_engine(url)
    safe = mask_url(url)
    try:
        have = migrate.current(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise JournalError(f"cannot open journal {safe}: {mask_in(str(exc).splitlines()[0][:200], url)}") from None
    if have is None:
        engine.dispose()
        raise JournalError(f"{safe} holds no botkit journal (no bot has run with this journal.url yet)")
    if have != migrate.head():
        engine.dispose()
        raise JournalError(f"journal {safe} has schema {have}, this botkit reads {migrate.head()}: "
                           "run `botkit journal upgrade`")
    return engine
