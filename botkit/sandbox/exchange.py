"""The exchange: accounts, the book, orders, fills, fees, trades and transactions, behind one lock.

Everything that changes state happens inside :attr:`Exchange.lock`, so HTTP worker threads,
the simulated market and tests calling in-process all see one consistent exchange. An order is
matched completely before :meth:`Exchange.submit_order` returns, which is why the API's 202
reply already reflects the fills.

Conservation is structural: every fill moves exactly ``notional`` USD and ``quantity`` BTC
between two accounts and moves the two fees into :attr:`Exchange.fees_collected`; all of it in
exact Decimal arithmetic that refuses to round (:data:`botkit.core.money.EXACT`). Reserves
are bookkeeping inside an account and never change its total.

Errors a caller can cause raise :class:`ExchangeError` with the HTTP status and error code the
API will answer with.
"""

from __future__ import annotations

import heapq
import os
import threading
import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botkit.core import money
from botkit.core.numbers import NumberError, exact_decimal
from botkit.model import Order
from botkit.sandbox import transactions, units
from botkit.sandbox.accounts import CURRENCIES, MARKET, USER, Account, SandboxAccount
from botkit.sandbox.addresses import deposit_address, network
from botkit.sandbox.book import MatchingBook
from botkit.sandbox.clock import Clock, wall_clock_ms
from botkit.sandbox.errors import ApiError
from botkit.sandbox.fees import FeeSchedule
from botkit.sandbox.orders import (
    BTC_USD,
    CANCELED,
    FILLED,
    LIMIT,
    OPEN_STATUSES,
    OPENED,
    PARTIAL,
    STATUSES,
    USD_BTC,
    ExchangeOrder,
    FillRecord,
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


def _bad(code: str, message: str) -> ExchangeError:
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


class Exchange:
    """The sandbox exchange's state and rules (thread-safe; see the module docstring)."""

    def __init__(
        self,
        fees: FeeSchedule | None = None,
        *,
        clock: Clock | None = None,
        deposit_delay_ms: int = 5000,
        withdraw_delay_ms: int = 5000,
        trade_history: int = 1000,
        order_history: int = 2000,
    ) -> None:
        self.lock = threading.RLock()
        self.fee_schedule = fees or FeeSchedule()
        self.now_ms: Clock = clock or wall_clock_ms
        self.deposit_delay_ms = deposit_delay_ms
        self.withdraw_delay_ms = withdraw_delay_ms
        self.book: MatchingBook[ExchangeOrder] = MatchingBook()
        self.fees_collected = money.ZERO
        self.meta: dict[str, str] = {}
        """Free-form persisted settings of other parts (the simulated market's state)."""
        self._accounts: dict[str, Account] = {}
        self._orders: dict[str, ExchangeOrder] = {}
        self._transactions: dict[str, Transaction] = {}
        self._due: list[tuple[int, str]] = []
        self._trades: deque[TradeRecord] = deque(maxlen=trade_history)
        self.order_history = order_history
        """Finished orders kept per account; older ones are forgotten, so that a long-running
        exchange (the embedded one inside ``botkit run``) does not grow without bound."""
        self._last_price = 0
        self._order_seq = 0
        self._tx_seq = 0
        self._trade_seq = 0
        self._changes: Changes | None = None

    # ================================================================== accounts

    def add_account(self, spec: SandboxAccount, *, kind: str = USER) -> bool:
        """Provision an account. An existing key keeps its balances and history (a restart with
        the same ``--account``) and only takes the new secret, permissions and settings.
        Returns True when the account is new."""
        with self.lock:
            existing = self._accounts.get(spec.key)
            if existing is not None:
                existing.secret = spec.secret
                existing.permissions = tuple(spec.permissions)
                existing.confirm_withdrawals = spec.confirm_withdrawals
                self._touch_account(existing.key)
                return False
            account = Account(
                key=spec.key,
                secret=spec.secret,
                permissions=tuple(spec.permissions),
                balances=dict(spec.balances),
                kind=kind,
                confirm_withdrawals=spec.confirm_withdrawals,
                deposit_address=deposit_address(spec.key),
            )
            self._accounts[spec.key] = account
            self._touch_account(spec.key)
            return True

    def has_account(self, key: str) -> bool:
        with self.lock:
            return key in self._accounts

    def account_keys(self, kind: str | None = None) -> list[str]:
        with self.lock:
            return [k for k, a in self._accounts.items() if kind is None or a.kind == kind]

    def credentials(self, key: str) -> tuple[str, tuple[str, ...]] | None:
        """``(secret, permissions)`` of an account reachable over HTTP, else None."""
        with self.lock:
            account = self._accounts.get(key)
            if account is None or account.kind != USER:
                return None
            return account.secret, account.permissions

    def accept_timestamp(self, key: str, timestamp: int) -> bool:
        """Record ``timestamp`` as the key's last accepted one if it is strictly greater."""
        with self.lock:
            account = self._accounts[key]
            if timestamp <= account.last_timestamp:
                return False
            account.last_timestamp = timestamp
            self._touch_account(key)
            return True

    def last_timestamp(self, key: str) -> int:
        with self.lock:
            return self._account(key).last_timestamp

    def permissions(self, key: str) -> tuple[str, ...]:
        with self.lock:
            return self._account(key).permissions

    def deposit_address(self, key: str) -> str:
        with self.lock:
            return self._account(key).deposit_address

    def balances(self, key: str) -> dict[str, Decimal]:
        """Total holdings, reserves included (what the balances endpoint reports)."""
        with self.lock:
            self.settle_due()
            return dict(self._account(key).balances)

    def reserved(self, key: str) -> dict[str, Decimal]:
        with self.lock:
            self.settle_due()
            return dict(self._account(key).reserved)

    def available(self, key: str) -> dict[str, Decimal]:
        with self.lock:
            self.settle_due()
            account = self._account(key)
            return {c: account.available(c) for c in CURRENCIES}

    def total(self, currency: str) -> Decimal:
        """Sum of every account's balance in ``currency`` (for conservation checks)."""
        with self.lock:
            result = money.ZERO
            for account in self._accounts.values():
                result = money.add(result, account.balances[currency])
            return result

    def _account(self, key: str) -> Account:
        account = self._accounts.get(key)
        if account is None:
            raise ExchangeError(404, "unknown_account", f"no account with key {key!r}")
        return account

    # ================================================================== orders

    def submit_order(
        self,
        key: str,
        side: str,
        order_type: str,
        price: Decimal | str | int | None,
        quantity: Decimal | str | int,
        instrument: str = BTC_USD,
    ) -> str:
        """Validate, reserve, match and (for a limit order) rest; return the new order's id.

        Raises :class:`ExchangeError` (400) for a malformed order or insufficient funds.
        """
        side = str(side)
        order_type = str(order_type)
        if instrument not in INSTRUMENTS:
            raise _bad("invalid_instrument", f"instrument must be one of {', '.join(INSTRUMENTS)}")
        if side not in SIDES:
            raise _bad("invalid_side", "side must be 'buy' or 'sell'")
        if order_type not in ORDER_TYPES:
            raise _bad("invalid_order_type", "orderType must be 'limit' or 'market'")
        if instrument == USD_BTC:
            if order_type != MARKET_ORDER or side != "sell":
                raise _bad(
                    "unsupported_order",
                    "USD_BTC supports only a market sell (spend a USD amount on bitcoin)",
                )
        elif order_type == MARKET_ORDER and side == "buy":
            raise _bad(
                "market_buy_not_supported",
                "a market buy of BTC_USD is not supported: send a USD_BTC market sell instead",
            )
        if order_type == LIMIT:
            if price is None:
                raise _bad("missing_price", "a limit order needs a price")
            cents = _units(price, money.USD_PLACES, "price", units.MAX_PRICE_CENTS)
        else:
            if price is not None:
                raise _bad("price_not_allowed", "a market order takes no price")
            cents = 0
        if instrument == USD_BTC:
            amount = _units(quantity, money.USD_PLACES, "quantity", units.MAX_USD_CENTS)
            qty_value = units.usd(amount)
            remaining = 0
        else:
            amount = _units(quantity, money.BTC_PLACES, "quantity", units.MAX_BTC_SATOSHIS)
            qty_value = units.btc(amount)
            remaining = amount
        is_buy = (side == "buy") == (instrument == BTC_USD)
        schedule = self.fee_schedule
        if instrument == USD_BTC:
            reserve = qty_value
        elif is_buy:
            value = units.notional(cents, amount)
            reserve = money.add(value, money.fee(value, schedule.reserve_bps))
        else:
            reserve = qty_value
        currency = "USD" if is_buy else "BTC"
        with self.lock:
            account = self._account(key)
            if account.available(currency) < reserve:
                raise _bad(
                    "insufficient_funds",
                    f"insufficient funds: the order needs {reserve} {currency}, "
                    f"{account.available(currency)} {currency} is available",
                )
            now = self.now_ms()
            self._order_seq += 1
            record = ExchangeOrder(
                order_id=new_order_id(),
                key=key,
                instrument=instrument,
                side=side,
                order_type=order_type,
                price=cents,
                quantity=qty_value,
                remaining=remaining,
                created_ms=now,
                seq=self._order_seq,
                reserved=reserve,
                reserve_bps=schedule.reserve_bps,
            )
            account.reserved[currency] = money.add(account.reserved[currency], reserve)
            self._orders[record.order_id] = record
            if account.kind == USER:
                account.order_ids.append(record.order_id)
            if instrument == USD_BTC:
                exhausted = self._spend_budget(record, now)
                complete = record.filled and (not exhausted or not record.reserved)
                self._close(record, FILLED if complete else CANCELED, now)
            else:
                fills = self.book.match(is_buy, cents if order_type == LIMIT else None, amount)
                if fills:
                    self._settle(record, fills, now)
                if not record.remaining:
                    self._close(record, FILLED, now)
                elif order_type == LIMIT:
                    self.book.add(record)
                    self._touch_order(record)
                else:
                    self._close(record, CANCELED, now)
            self._touch_account(key)
            return record.order_id

    def _spend_budget(self, record: ExchangeOrder, now: int) -> bool:
        """Walk the asks with a USD budget (fees included). True if the asks ran out first."""
        factor = money.add(Decimal(1), self.fee_schedule.taker_rate)
        asks = self.book.asks
        while True:
            level = asks.best()
            if level is None:
                return True
            # satoshis affordable at this price: budget / (cents/100 * 1e-8 * (1 + rate))
            budget = money.EXACT.scaleb(record.reserved, 10)
            affordable = int(money.FLOOR.divide_int(budget, money.mul(Decimal(level.price), factor)))
            if affordable <= 0:
                return False
            fills = self.book.match(True, level.price, min(affordable, level.total))
            self._settle(record, fills, now)

    def _settle(self, taker: ExchangeOrder, fills: list[tuple[ExchangeOrder, int]], now: int) -> None:
        schedule = self.fee_schedule
        accounts = self._accounts
        for maker, quantity in fills:
            price = maker.price
            value = units.notional(price, quantity)
            maker_fee = schedule.maker_fee(value)
            taker_fee = schedule.taker_fee(value)
            self._apply_fill(accounts[maker.key], maker, price, quantity, value, maker_fee, MAKER, now)
            taker.remaining -= quantity
            self._apply_fill(accounts[taker.key], taker, price, quantity, value, taker_fee, TAKER, now)
            self.fees_collected = money.add(self.fees_collected, money.add(maker_fee, taker_fee))
            self._trade_seq += 1
            trade = TradeRecord(self._trade_seq, now, price, quantity, taker.is_buy)
            self._trades.append(trade)
            if self._changes is not None:
                self._changes.trades.append(trade)
            self._last_price = price
            if maker.remaining:
                maker.status = PARTIAL
                self._touch_order(maker)
            else:
                self._close(maker, FILLED, now)
            if maker.key != taker.key:
                self._touch_account(maker.key)
        if taker.remaining or taker.instrument == USD_BTC:
            taker.status = PARTIAL

    def _apply_fill(
        self,
        account: Account,
        order: ExchangeOrder,
        price: int,
        quantity: int,
        value: Decimal,
        fee: Decimal,
        liquidity: str,
        now: int,
    ) -> None:
        balances = account.balances
        reserved = account.reserved
        amount = units.btc(quantity)
        if order.is_buy:
            cost = money.add(value, fee)
            balances["BTC"] = money.add(balances["BTC"], amount)
            balances["USD"] = money.sub(balances["USD"], cost)
            if order.instrument == USD_BTC:
                release = cost
                order.spent = money.add(order.spent, cost)
            else:
                at_limit = units.notional(order.price, quantity)
                release = money.add(at_limit, money.fee(at_limit, order.reserve_bps))
            order.reserved = money.sub(order.reserved, release)
            reserved["USD"] = money.sub(reserved["USD"], release)
        else:
            balances["BTC"] = money.sub(balances["BTC"], amount)
            balances["USD"] = money.add(balances["USD"], money.sub(value, fee))
            order.reserved = money.sub(order.reserved, amount)
            reserved["BTC"] = money.sub(reserved["BTC"], amount)
        order.filled += quantity
        order.fees = money.add(order.fees, fee)
        order.notional_units += price * quantity
        order.fills.append(FillRecord(price, quantity, fee, liquidity, now))

    def _close(self, order: ExchangeOrder, status: str, now: int) -> None:
        """End an order's life: release what it still reserves; forget a simulated one."""
        order.status = status
        order.closed_ms = now
        if order.reserved:
            account = self._accounts[order.key]
            currency = order.reserve_currency
            account.reserved[currency] = money.sub(account.reserved[currency], order.reserved)
            order.reserved = money.ZERO
        account_kind = self._accounts[order.key].kind
        if account_kind == MARKET:
            self._orders.pop(order.order_id, None)
            if self._changes is not None:
                self._changes.orders.discard(order.order_id)
                self._changes.deleted_orders.add(order.order_id)
        else:
            self._touch_order(order)
            self._remember_closed(self._accounts[order.key], order.order_id)

    def _remember_closed(self, account: Account, order_id: str) -> None:
        account.closed_ids.append(order_id)
        while len(account.closed_ids) > self.order_history:
            old = account.closed_ids.popleft()
            self._orders.pop(old, None)
            account.order_ids.remove(old)
            if self._changes is not None:
                self._changes.orders.discard(old)
                self._changes.deleted_orders.add(old)

    def cancel_order(self, key: str, order_id: str) -> None:
        """Cancel an open order of ``key``: 404 if it is not theirs, 400 if no longer open."""
        with self.lock:
            order = self._orders.get(order_id)
            if order is None or order.key != key:
                raise ExchangeError(404, "not_found", f"no order {order_id!r} for this account")
            if order.status not in OPEN_STATUSES:
                raise _bad("order_not_open", f"order {order_id} is {order.status}, not open: it cannot be canceled")
            self.book.cancel(order)
            self._close(order, CANCELED, self.now_ms())
            self._touch_account(key)

    def is_open(self, order_id: str) -> bool:
        with self.lock:
            order = self._orders.get(order_id)
            return order is not None and order.status in OPEN_STATUSES

    def open_orders_of(self, key: str) -> list[ExchangeOrder]:
        """Resting orders of one account, by price level (for the simulated market's restart)."""
        with self.lock:
            return [o for side in (self.book.bids, self.book.asks) for o in side.orders() if o.key == key]

    def _owned(self, key: str, order_id: str) -> ExchangeOrder:
        order = self._orders.get(order_id)
        if order is None or order.key != key:
            raise ExchangeError(404, "not_found", f"no order {order_id!r} for this account")
        return order

    def order(self, key: str, order_id: str) -> Order:
        with self.lock:
            return self._owned(key, order_id).to_model()

    def order_view(self, key: str, order_id: str) -> dict[str, Any]:
        with self.lock:
            return self._owned(key, order_id).view()

    def _select_orders(
        self,
        key: str,
        status: str | None,
        side: str | None,
        order_type: str | None,
        date_min: int | None,
        date_max: int | None,
    ) -> list[ExchangeOrder]:
        account = self._account(key)
        if status == "open":
            status = OPENED
        if status is not None and status not in STATUSES:
            raise _bad("invalid_status", f"status must be one of {', '.join(STATUSES)}")
        if side is not None and side not in SIDES:
            raise _bad("invalid_side", "side must be 'buy' or 'sell'")
        if order_type is not None and order_type not in ORDER_TYPES:
            raise _bad("invalid_order_type", "orderType must be 'limit' or 'market'")
        selected = []
        for order_id in reversed(account.order_ids):
            order = self._orders[order_id]
            if status is not None and order.status != status:
                continue
            if side is not None and order.side != side:
                continue
            if order_type is not None and order.order_type != order_type:
                continue
            if date_min is not None and order.created_ms < date_min:
                continue
            if date_max is not None and order.created_ms > date_max:
                continue
            selected.append(order)
        return selected

    def orders(
        self,
        key: str,
        status: str | None = None,
        side: str | None = None,
        order_type: str | None = None,
        date_min: int | None = None,
        date_max: int | None = None,
    ) -> list[Order]:
        """The account's orders matching the filters, newest first (dates: inclusive, epoch ms)."""
        with self.lock:
            return [o.to_model() for o in self._select_orders(key, status, side, order_type, date_min, date_max)]

    def order_views(
        self,
        key: str,
        status: str | None = None,
        side: str | None = None,
        order_type: str | None = None,
        date_min: int | None = None,
        date_max: int | None = None,
    ) -> list[dict[str, Any]]:
        with self.lock:
            return [o.view() for o in self._select_orders(key, status, side, order_type, date_min, date_max)]

    # ================================================================== market data

    def best_prices(self) -> tuple[int | None, int | None]:
        """Best bid and ask in cents (None for an empty side)."""
        with self.lock:
            return self.book.bids.best_price(), self.book.asks.best_price()

    def last_price(self) -> int:
        with self.lock:
            return self._last_price

    def ticker(self) -> dict[str, Any]:
        """An empty side or no trade yet shows as 0 (the contract's fields are numbers)."""
        with self.lock:
            bid, ask = self.book.bids.best_price(), self.book.asks.best_price()
            return {
                "currency": "USD",
                "last": units.usd(self._last_price),
                "bid": units.usd(bid or 0),
                "ask": units.usd(ask or 0),
            }

    def depth(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        with self.lock:
            return self.book.bids.depth(), self.book.asks.depth()

    def order_book_view(self) -> dict[str, Any]:
        bids, asks = self.depth()
        return {
            "bid": [{"price": units.usd(p), "quantity": units.btc(q)} for p, q in bids],
            "ask": [{"price": units.usd(p), "quantity": units.btc(q)} for p, q in asks],
            "price_currency": "USD",
            "quantity_currency": "BTC",
        }

    def trades(self, limit: int = 100) -> list[TradeRecord]:
        """The most recent public trades, newest first."""
        with self.lock:
            count = min(limit, len(self._trades))
            return [self._trades[-1 - i] for i in range(count)]

    def trades_view(self) -> list[dict[str, Any]]:
        return [t.view() for t in self.trades(100)]

    # ================================================================== transactions

    def deposit(self, key: str, method: str, currency: str, amount: Decimal | str | int) -> Transaction:
        """A wire deposit: pending, credited after the deposit delay."""
        if method not in transactions.DEPOSIT_METHODS:
            raise _bad("invalid_method", "a deposit's method must be 'wire'")
        if currency != "USD":
            raise _bad("invalid_currency", "deposits are in USD")
        value = units.usd(_units(amount, money.USD_PLACES, "amount", units.MAX_USD_CENTS))
        with self.lock:
            self._account(key)
            tx = self._new_transaction(key, transactions.DEPOSIT, "USD", value, method, "", confirmed=True)
            self._schedule(tx, self.deposit_delay_ms)
            return tx

    def withdraw(self, key: str, method: str, currency: str, amount: Decimal | str | int) -> Transaction:
        """A check or ACH withdrawal: holds the USD at once, leaves after the delay."""
        if method not in transactions.WITHDRAW_METHODS:
            methods = ", ".join(transactions.WITHDRAW_METHODS)
            raise _bad("invalid_method", f"a withdrawal's method must be one of {methods}")
        if currency != "USD":
            raise _bad("invalid_currency", "withdrawals are in USD (send bitcoin with /v1/transactions/send)")
        value = units.usd(_units(amount, money.USD_PLACES, "amount", units.MAX_USD_CENTS))
        return self._outgoing(key, "USD", value, method, "")

    def send_bitcoin(self, key: str, currency: str, amount: Decimal | str | int, destination: str) -> Transaction:
        """A bitcoin send to a Base58Check address of the main or test network."""
        if currency != "BTC":
            raise _bad("invalid_currency", "sends are in BTC")
        value = units.btc(_units(amount, money.BTC_PLACES, "amount", units.MAX_BTC_SATOSHIS))
        if network(destination) is None:
            raise _bad("invalid_address", f"{destination!r} is not a valid bitcoin address (Base58Check)")
        return self._outgoing(key, "BTC", value, transactions.BITCOIN, destination)

    def _outgoing(self, key: str, currency: str, value: Decimal, method: str, destination: str) -> Transaction:
        with self.lock:
            self.settle_due()
            account = self._account(key)
            if account.available(currency) < value:
                raise _bad(
                    "insufficient_funds",
                    f"insufficient funds: {value} {currency} needed, {account.available(currency)} available",
                )
            account.reserved[currency] = money.add(account.reserved[currency], value)
            self._touch_account(key)
            confirmed = not account.confirm_withdrawals
            tx = self._new_transaction(key, transactions.WITHDRAWAL, currency, value, method, destination, confirmed)
            if confirmed:
                self._schedule(tx, self.withdraw_delay_ms)
            return tx

    def _new_transaction(
        self, key: str, kind: str, currency: str, value: Decimal, method: str, destination: str, confirmed: bool
    ) -> Transaction:
        self._tx_seq += 1
        tx = Transaction(
            transaction_id=uuid.uuid4().hex[:24],
            key=key,
            kind=kind,
            currency=currency,
            amount=value,
            method=method,
            created_ms=self.now_ms(),
            seq=self._tx_seq,
            destination=destination,
            confirmed=confirmed,
        )
        self._transactions[tx.transaction_id] = tx
        self._accounts[key].transaction_ids.append(tx.transaction_id)
        self._touch_transaction(tx)
        return tx

    def _schedule(self, tx: Transaction, delay_ms: int) -> None:
        tx.due_ms = self.now_ms() + max(0, delay_ms)
        heapq.heappush(self._due, (tx.due_ms, tx.transaction_id))
        self.settle_due()

    def confirm_transaction(self, transaction_id: str) -> None:
        """The e-mail confirmation of the original service: a held withdrawal may now proceed."""
        with self.lock:
            tx = self._transactions.get(transaction_id)
            if tx is None:
                raise ExchangeError(404, "not_found", f"no transaction {transaction_id!r}")
            if tx.status != transactions.PENDING or tx.confirmed:
                raise _bad(
                    "transaction_not_awaiting_confirmation", f"transaction {transaction_id} needs no confirmation"
                )
            tx.confirmed = True
            tx.events.append(("confirmed", self.now_ms()))
            self._touch_transaction(tx)
            self._schedule(tx, self.withdraw_delay_ms)

    def cancel_transaction(self, key: str, transaction_id: str) -> None:
        with self.lock:
            self.settle_due()
            tx = self._transactions.get(transaction_id)
            if tx is None or tx.key != key:
                raise ExchangeError(404, "not_found", f"no transaction {transaction_id!r} for this account")
            if tx.status != transactions.PENDING:
                raise _bad(
                    "transaction_not_pending",
                    f"transaction {transaction_id} is {tx.status}: only pending ones can be canceled",
                )
            if tx.holds_funds:
                account = self._accounts[key]
                account.reserved[tx.currency] = money.sub(account.reserved[tx.currency], tx.amount)
                self._touch_account(key)
            tx.status = transactions.CANCELED
            tx.events.append(("canceled", self.now_ms()))
            self._touch_transaction(tx)

    def settle_due(self, now_ms: int | None = None) -> int:
        """Complete every confirmed pending transaction whose time has come; returns how many.

        Called before every read of balances or transactions, so nothing needs a timer thread;
        a test passes a later ``now_ms`` to skip the wait.
        """
        with self.lock:
            due = self._due
            if not due:
                return 0
            now = self.now_ms() if now_ms is None else now_ms
            done = 0
            while due and due[0][0] <= now:
                _, transaction_id = heapq.heappop(due)
                tx = self._transactions.get(transaction_id)
                if tx is None or tx.status != transactions.PENDING:
                    continue
                account = self._accounts[tx.key]
                balances = account.balances
                if tx.kind == transactions.DEPOSIT:
                    balances[tx.currency] = money.add(balances[tx.currency], tx.amount)
                else:
                    balances[tx.currency] = money.sub(balances[tx.currency], tx.amount)
                    account.reserved[tx.currency] = money.sub(account.reserved[tx.currency], tx.amount)
                tx.status = transactions.FUNDED
                tx.events.append((transactions.FUNDED, max(now, tx.due_ms)))
                self._touch_transaction(tx)
                self._touch_account(tx.key)
                done += 1
            return done

    def transaction_view(self, key: str, transaction_id: str) -> dict[str, Any]:
        with self.lock:
            self.settle_due()
            tx = self._transactions.get(transaction_id)
            if tx is None or tx.key != key:
                raise ExchangeError(404, "not_found", f"no transaction {transaction_id!r} for this account")
            return tx.view()

    def transaction_views(
        self,
        key: str,
        status: str | None = None,
        kind: str | None = None,
        date_min: int | None = None,
        date_max: int | None = None,
    ) -> list[dict[str, Any]]:
        """The account's transactions matching the filters, newest first."""
        if status is not None and status not in transactions.STATUSES:
            raise _bad("invalid_status", f"status must be one of {', '.join(transactions.STATUSES)}")
        if kind is not None and kind not in transactions.TYPES:
            raise _bad("invalid_transaction_type", "transactionType must be 'deposit' or 'withdrawal'")
        with self.lock:
            self.settle_due()
            result = []
            for transaction_id in reversed(self._account(key).transaction_ids):
                tx = self._transactions[transaction_id]
                if status is not None and tx.status != status:
                    continue
                if kind is not None and tx.kind != kind:
                    continue
                if date_min is not None and tx.created_ms < date_min:
                    continue
                if date_max is not None and tx.created_ms > date_max:
                    continue
                result.append(tx.view())
            return result

    # ================================================================== persistence

    def _touch_account(self, key: str) -> None:
        if self._changes is not None:
            self._changes.accounts.add(key)

    def _touch_order(self, order: ExchangeOrder) -> None:
        if self._changes is not None:
            self._changes.orders.add(order.order_id)

    def _touch_transaction(self, tx: Transaction) -> None:
        if self._changes is not None:
            self._changes.transactions.add(tx.transaction_id)

    def track_changes(self, *, everything: bool = False) -> None:
        """Start recording what changes, for a store (``everything``: count all as changed)."""
        with self.lock:
            self._changes = Changes()
            if everything:
                self._changes = Changes(
                    accounts=set(self._accounts),
                    orders=set(self._orders),
                    transactions=set(self._transactions),
                    trades=list(self._trades),
                )

    def take_changes(self) -> ChangeSet:
        """The rows changed since the last call, serialized under the lock."""
        with self.lock:
            changes = self._changes or Changes()
            if self._changes is not None:
                self._changes = Changes()
            return ChangeSet(
                accounts=[self._account_state(self._accounts[k]) for k in changes.accounts if k in self._accounts],
                orders=[self._orders[i].state() for i in changes.orders if i in self._orders],
                deleted_orders=sorted(changes.deleted_orders),
                transactions=[self._transactions[i].state() for i in changes.transactions],
                trades=list(changes.trades),
                meta=self._meta_state(),
            )

    def _meta_state(self) -> dict[str, str]:
        meta = dict(self.meta)
        meta.update({
            "fees_collected": str(self.fees_collected),
            "order_seq": str(self._order_seq),
            "tx_seq": str(self._tx_seq),
            "trade_seq": str(self._trade_seq),
            "last_price": str(self._last_price),
        })
        return meta

    @staticmethod
    def _account_state(account: Account) -> dict[str, Any]:
        return {
            "key": account.key,
            "secret": account.secret,
            "permissions": list(account.permissions),
            "kind": account.kind,
            "confirmWithdrawals": account.confirm_withdrawals,
            "depositAddress": account.deposit_address,
            "lastTimestamp": account.last_timestamp,
            "balances": {c: str(v) for c, v in account.balances.items()},
        }

    def restore(
        self,
        accounts: Iterable[dict[str, Any]],
        orders: Iterable[dict[str, Any]],
        transactions_: Iterable[dict[str, Any]],
        trades: Iterable[TradeRecord],
        meta: dict[str, str],
    ) -> None:
        """Rebuild from saved rows. Open orders rest again in their original time priority and
        reserves are recomputed from what the open orders and pending withdrawals hold."""
        with self.lock:
            for row in accounts:
                account = Account(
                    key=row["key"],
                    secret=row["secret"],
                    permissions=tuple(row["permissions"]),
                    balances={c: Decimal(v) for c, v in row["balances"].items()},
                    kind=row["kind"],
                    confirm_withdrawals=bool(row["confirmWithdrawals"]),
                    deposit_address=row["depositAddress"],
                    last_timestamp=int(row["lastTimestamp"]),
                )
                self._accounts[account.key] = account
            for row in sorted(orders, key=lambda r: int(r["seq"])):
                order = ExchangeOrder.from_state(row)
                self._orders[order.order_id] = order
                account = self._accounts[order.key]
                if account.kind == USER:
                    account.order_ids.append(order.order_id)
                    if order.status not in OPEN_STATUSES:
                        account.closed_ids.append(order.order_id)
                if order.status in OPEN_STATUSES:
                    currency = order.reserve_currency
                    account.reserved[currency] = money.add(account.reserved[currency], order.reserved)
                    if order.order_type == LIMIT and order.remaining:
                        self.book.add(order)
            for row in sorted(transactions_, key=lambda r: int(r["seq"])):
                tx = Transaction.from_state(row)
                self._transactions[tx.transaction_id] = tx
                account = self._accounts[tx.key]
                account.transaction_ids.append(tx.transaction_id)
                if tx.holds_funds:
                    account.reserved[tx.currency] = money.add(account.reserved[tx.currency], tx.amount)
                if tx.status == transactions.PENDING and tx.confirmed:
                    heapq.heappush(self._due, (tx.due_ms, tx.transaction_id))
            for trade in sorted(trades, key=lambda t: t.seq):
                self._trades.append(trade)
            self.fees_collected = Decimal(meta.pop("fees_collected", "0"))
            self._order_seq = int(meta.pop("order_seq", "0"))
            self._tx_seq = int(meta.pop("tx_seq", "0"))
            self._trade_seq = int(meta.pop("trade_seq", "0"))
            self._last_price = int(meta.pop("last_price", "0"))
            self.meta.update(meta)


def _units(value: Decimal | str | int, places: int, what: str, maximum: int) -> int:
    """A positive amount given as a decimal string or a JSON number, in whole ``10**-places`` units.

    The number passes the gate for external numbers first (ASCII decimal notation, bounded digits
    and exponent), so no arithmetic ever sees ``1e-40000000`` or a padded or non-ASCII string.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | str | int):
        raise _bad("invalid_" + what, f"{what} must be a decimal string, e.g. \"1.25\"")
    try:
        number = exact_decimal(value, what)
    except NumberError as exc:
        raise _bad("invalid_" + what, str(exc)) from None
    if number <= 0:
        raise _bad("invalid_" + what, f"{what} must be a positive number, not {value!r}")
    if number.adjusted() > 20:
        raise _bad("invalid_" + what, f"{what} {value!r} is too large")
    count = units.count(number, places)
    if count is None:
        step = "0." + "0" * (places - 1) + "1"
        raise _bad("invalid_" + what, f"{what} {value!r} must be a multiple of {step}")
    if count > maximum:
        raise _bad("invalid_" + what, f"{what} {value!r} is too large")
    return count
