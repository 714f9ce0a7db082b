"""Transactions: deposits, withdrawals and bitcoin sends, settled when due."""

from __future__ import annotations

import heapq
import uuid
from decimal import Decimal
from typing import Any

from botkit.core import money
from botkit.sandbox import transactions, units
from botkit.sandbox.addresses import network
from botkit.sandbox.exchange.base import ExchangeBase, ExchangeError, amount_units, bad
from botkit.sandbox.transactions import Transaction


class TransactionDesk(ExchangeBase):
    """Deposits, withdrawals and sends."""

    def deposit(self, key: str, method: str, currency: str, amount: Decimal | str | int) -> Transaction:
        """A wire deposit: pending, credited after the deposit delay."""
        if method not in transactions.DEPOSIT_METHODS:
            raise bad("invalid_method", "a deposit's method must be 'wire'")
        if currency != "USD":
            raise bad("invalid_currency", "deposits are in USD")
        value = units.usd(amount_units(amount, money.USD_PLACES, "amount", units.MAX_USD_CENTS))
        with self.lock:
            self._account(key)
            tx = self._new_transaction(key, transactions.DEPOSIT, "USD", value, method, "", confirmed=True)
            self._schedule(tx, self.deposit_delay_ms)
            return tx

    def withdraw(self, key: str, method: str, currency: str, amount: Decimal | str | int) -> Transaction:
        """A check or ACH withdrawal: holds the USD at once, leaves after the delay."""
        if method not in transactions.WITHDRAW_METHODS:
            methods = ", ".join(transactions.WITHDRAW_METHODS)
            raise bad("invalid_method", f"a withdrawal's method must be one of {methods}")
        if currency != "USD":
            raise bad("invalid_currency", "withdrawals are in USD (send bitcoin with /v1/transactions/send)")
        value = units.usd(amount_units(amount, money.USD_PLACES, "amount", units.MAX_USD_CENTS))
        return self._outgoing(key, "USD", value, method, "")

    def send_bitcoin(self, key: str, currency: str, amount: Decimal | str | int, destination: str) -> Transaction:
        """A bitcoin send to a Base58Check address of the main or test network."""
        if currency != "BTC":
            raise bad("invalid_currency", "sends are in BTC")
        value = units.btc(amount_units(amount, money.BTC_PLACES, "amount", units.MAX_BTC_SATOSHIS))
        if network(destination) is None:
            raise bad("invalid_address", f"{destination!r} is not a valid bitcoin address (Base58Check)")
        return self._outgoing(key, "BTC", value, transactions.BITCOIN, destination)

    def _outgoing(self, key: str, currency: str, value: Decimal, method: str, destination: str) -> Transaction:
        with self.lock:
            self.settle_due()
            account = self._account(key)
            if account.available(currency) < value:
                raise bad(
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
                raise bad(
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
                raise bad(
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
            raise bad("invalid_status", f"status must be one of {', '.join(transactions.STATUSES)}")
        if kind is not None and kind not in transactions.TYPES:
            raise bad("invalid_transaction_type", "transactionType must be 'deposit' or 'withdrawal'")
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
