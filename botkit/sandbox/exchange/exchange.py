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
import threading
from collections import deque
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from botkit.core import money
from botkit.sandbox import transactions
from botkit.sandbox.accounts import USER, Account
from botkit.sandbox.book import MatchingBook
from botkit.sandbox.clock import Clock, wall_clock_ms
from botkit.sandbox.exchange.accounts import AccountDesk
from botkit.sandbox.exchange.base import Changes, ChangeSet, TradeRecord
from botkit.sandbox.exchange.market_data import MarketDataDesk
from botkit.sandbox.exchange.orders import OrderDesk
from botkit.sandbox.exchange.transactions import TransactionDesk
from botkit.sandbox.fees import FeeSchedule
from botkit.sandbox.orders import (
    LIMIT,
    OPEN_STATUSES,
    ExchangeOrder,
)
from botkit.sandbox.transactions import Transaction


class Exchange(AccountDesk, OrderDesk, MarketDataDesk, TransactionDesk):
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
