"""Accounts: who may trade, their balances and reserves, and the replay guard on their timestamps."""

from __future__ import annotations

from decimal import Decimal

from botkit.core import money
from botkit.sandbox.accounts import CURRENCIES, USER, Account, SandboxAccount
from botkit.sandbox.addresses import deposit_address
from botkit.sandbox.exchange.transactions import TransactionDesk


class AccountDesk(TransactionDesk):
    """Accounts and balances (read after the transactions that are due have settled)."""

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

