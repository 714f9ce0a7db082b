"""The exchange's shared ground: its state, declared once for the desks that work on it (accounts,
orders, market data, transactions), the errors it answers with, and the change tracking its store
saves from."""

from __future__ import annotations

import os
import threading
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botkit.core.numbers import NumberError, exact_decimal
from botkit.sandbox import units
from botkit.sandbox.accounts import Account
from botkit.sandbox.book import MatchingBook
from botkit.sandbox.clock import Clock
from botkit.sandbox.errors import ApiError
from botkit.sandbox.fees import FeeSchedule
from botkit.sandbox.orders import (
    BTC_USD,
    LIMIT,
    USD_BTC,
    ExchangeOrder,
)
from botkit.sandbox.orders import (
    MARKET as MARKET_ORDER,
)
from botkit.sandbox.transactions import Transaction

MAKER = "maker"
TAKER = "taker"
SIDES = ("buy", "sell")
ORDER_TYPES = (LIMIT, MARKET_ORDER)
INSTRUMENTS = (BTC_USD, USD_BTC)

class ExchangeError(ApiError):
    """A request the exchange refuses: ``status`` and ``code`` are what the API answers."""


def new_order_id() -> str:
    """A random (version 4) UUID string, made without the cost of a :class:`uuid.UUID`."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def bad(code: str, message: str) -> ExchangeError:
    return ExchangeError(400, code, message)


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """A public trade print; ``taker_buy`` says which side took liquidity."""

    seq: int
    ts: int
    price: int
    quantity: int
    taker_buy: bool

    def view(self) -> dict[str, Any]:
        qty = units.btc(self.quantity)
        value = units.notional(self.price, self.quantity)
        if self.taker_buy:
            spent, spent_currency, earned, earned_currency = value, "USD", qty, "BTC"
        else:
            spent, spent_currency, earned, earned_currency = qty, "BTC", value, "USD"
        return {
            "spent": spent,
            "spentCurrency": spent_currency,
            "earned": earned,
            "earnedCurrency": earned_currency,
            "timestamp": self.ts,
        }


@dataclass
class Changes:
    """What changed since the store last saved (only tracked when a store is attached)."""

    accounts: set[str] = field(default_factory=set)
    orders: set[str] = field(default_factory=set)
    deleted_orders: set[str] = field(default_factory=set)
    transactions: set[str] = field(default_factory=set)
    trades: list[TradeRecord] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.accounts or self.orders or self.deleted_orders or self.transactions or self.trades)


@dataclass
class ChangeSet:
    """Rows to write, taken under the lock so that they are one consistent moment."""

    accounts: list[dict[str, Any]]
    orders: list[dict[str, Any]]
    deleted_orders: list[str]
    transactions: list[dict[str, Any]]
    trades: list[TradeRecord]
    meta: dict[str, str]

    @property
    def rows(self) -> int:
        """How many rows this set writes or deletes (the meta row aside)."""
        return (len(self.accounts) + len(self.orders) + len(self.deleted_orders) + len(self.transactions)
                + len(self.trades))

    def merged(self, newer: ChangeSet) -> ChangeSet:
        """This set followed by ``newer``: every row at its newest state.

        A save that failed keeps its set and merges what changed since into it; rows changed
        again were serialized under the exchange lock at the later moment and rows not changed
        since still hold their state, so the result is the exchange at ``newer``'s moment.
        """
        orders = {o["orderId"]: o for o in self.orders}
        deleted = set(self.deleted_orders)
        for row in newer.orders:
            orders[row["orderId"]] = row
            deleted.discard(row["orderId"])
        for order_id in newer.deleted_orders:
            orders.pop(order_id, None)
            deleted.add(order_id)
        trades = {t.seq: t for t in self.trades} | {t.seq: t for t in newer.trades}
        return ChangeSet(
            accounts=list(({a["key"]: a for a in self.accounts} | {a["key"]: a for a in newer.accounts}).values()),
            orders=list(orders.values()),
            deleted_orders=sorted(deleted),
            transactions=list(
                ({t["transactionId"]: t for t in self.transactions}
                 | {t["transactionId"]: t for t in newer.transactions}).values()
            ),
            trades=[trades[seq] for seq in sorted(trades)],
            meta=self.meta | newer.meta,
        )


class ExchangeBase:
    """The exchange's state (set up by ``Exchange.__init__``) and what every desk needs."""

    lock: threading.RLock
    fee_schedule: FeeSchedule
    now_ms: Clock
    deposit_delay_ms: int
    withdraw_delay_ms: int
    book: MatchingBook[ExchangeOrder]
    fees_collected: Decimal
    meta: dict[str, str]
    _accounts: dict[str, Account]
    _orders: dict[str, ExchangeOrder]
    _transactions: dict[str, Transaction]
    _due: list[tuple[int, str]]
    _trades: deque[TradeRecord]
    order_history: int
    _last_price: int
    _order_seq: int
    _tx_seq: int
    _trade_seq: int
    _changes: Changes | None

    def _account(self, key: str) -> Account:
        account = self._accounts.get(key)
        if account is None:
            raise ExchangeError(404, "unknown_account", f"no account with key {key!r}")
        return account

    def _touch_account(self, key: str) -> None:
        if self._changes is not None:
            self._changes.accounts.add(key)

    def _touch_order(self, order: ExchangeOrder) -> None:
        if self._changes is not None:
            self._changes.orders.add(order.order_id)

    def _touch_transaction(self, tx: Transaction) -> None:
        if self._changes is not None:
            self._changes.transactions.add(tx.transaction_id)


def amount_units(value: Decimal | str | int, places: int, what: str, maximum: int) -> int:
    """A positive amount given as a decimal string or a JSON number, in whole ``10**-places`` units.

    The number passes the gate for external numbers first (ASCII decimal notation, bounded digits
    and exponent), so no arithmetic ever sees ``1e-40000000`` or a padded or non-ASCII string.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        raise bad("invalid_" + what, f"{what} must be a decimal string, e.g. \"1.25\"")
    try:
        number = exact_decimal(value, what)
    except NumberError as exc:
        raise bad("invalid_" + what, str(exc)) from None
    if number <= 0:
        raise bad("invalid_" + what, f"{what} must be a positive number, not {value!r}")
    if number.adjusted() > 20:
        raise bad("invalid_" + what, f"{what} {value!r} is too large")
    count = units.count(number, places)
    if count is None:
        step = "0." + "0" * (places - 1) + "1"
        raise bad("invalid_" + what, f"{what} {value!r} must be a multiple of {step}")
    if count > maximum:
        raise bad("invalid_" + what, f"{what} {value!r} is too large")
    return count
