"""Accounts: who may call, with which permissions, and what they hold.

:class:`SandboxAccount` is how a caller asks for an account (CLI ``--account``, the embedding
API); :class:`Account` is the exchange's live state for it. Balances are *totals*, reserves
included, as the balances endpoint reports them; ``reserved`` is what open orders and pending
withdrawals hold back, so ``available = balance - reserved``.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from botkit.core import money
from botkit.core.numbers import exact_decimal

CURRENCIES = ("BTC", "USD")

ORDER_PERMISSIONS = ("get-account", "create-buy", "create-sell", "cancel-order")
"""The contract's original key permissions."""
TRANSACTION_PERMISSIONS = ("deposit", "withdraw", "send-bitcoin", "cancel-transaction")
"""botkit's additions for the transaction endpoints."""
ALL_PERMISSIONS = ORDER_PERMISSIONS + TRANSACTION_PERMISSIONS

USER = "user"
MARKET = "market"
"""Kind of the simulated participants' accounts: no secret (not reachable over HTTP) and no
order history kept once an order is done, so a long-running simulation does not grow."""


@dataclass
class SandboxAccount:
    """An account to provision: key, secret, balances, permissions and settings.

    ``confirm_withdrawals`` makes withdrawals and bitcoin sends answer 201 and wait for a
    confirmation (the original service's e-mail step) before they proceed.
    """

    key: str
    secret: str
    balances: dict[str, Decimal] = field(default_factory=dict)
    permissions: tuple[str, ...] = ALL_PERMISSIONS
    confirm_withdrawals: bool = False

    def __post_init__(self) -> None:
        if not self.key or not self.secret:
            raise ValueError("an account needs a non-empty key and secret")
        if not all(isinstance(p, str) for p in self.permissions):
            raise ValueError(f"permissions is a list of strings, some of {list(ALL_PERMISSIONS)}")
        unknown = set(self.permissions) - set(ALL_PERMISSIONS)
        if unknown:
            raise ValueError(f"unknown permissions {sorted(unknown)}; known: {list(ALL_PERMISSIONS)}")
        clean: dict[str, Decimal] = {}
        for currency, amount in self.balances.items():
            if currency not in CURRENCIES:
                raise ValueError(f"unknown currency {currency!r}; the sandbox holds {list(CURRENCIES)}")
            value = exact_decimal(amount, f"balance {currency}")  # ValueError (NumberError) when hostile
            if value < 0:
                raise ValueError(f"balance {currency}={amount} must be a non-negative number")
            clean[currency] = value
        self.balances = clean

    @classmethod
    def random(cls, balances: dict[str, Decimal] | None = None) -> SandboxAccount:
        """A fresh account with unguessable credentials (the demo account)."""
        return cls(
            key=secrets.token_hex(16),
            secret=secrets.token_urlsafe(32),
            balances=dict(balances or {}),
        )

    def __repr__(self) -> str:
        return (
            f"SandboxAccount(key={self.key!r}, secret=<hidden>, balances={self.balances!r}, "
            f"permissions={self.permissions!r}, confirm_withdrawals={self.confirm_withdrawals!r})"
        )


class Account:
    """The exchange's state for one account (mutated only under the exchange lock)."""

    __slots__ = (
        "balances",
        "closed_ids",
        "confirm_withdrawals",
        "deposit_address",
        "key",
        "kind",
        "last_timestamp",
        "order_ids",
        "permissions",
        "reserved",
        "secret",
        "transaction_ids",
    )

    def __init__(
        self,
        key: str,
        secret: str,
        permissions: tuple[str, ...],
        balances: dict[str, Decimal],
        kind: str = USER,
        confirm_withdrawals: bool = False,
        deposit_address: str = "",
        last_timestamp: int = 0,
    ) -> None:
        self.key = key
        self.secret = secret
        self.permissions = permissions
        self.kind = kind
        self.confirm_withdrawals = confirm_withdrawals
        self.balances = {c: balances.get(c, money.ZERO) for c in CURRENCIES}
        self.reserved = dict.fromkeys(CURRENCIES, money.ZERO)
        self.deposit_address = deposit_address
        self.last_timestamp = last_timestamp
        self.order_ids: list[str] = []
        """Creation order; the API shows them newest first."""
        self.closed_ids: deque[str] = deque()
        """Finished orders, oldest first: the history the exchange forgets from the front."""
        self.transaction_ids: list[str] = []

    def available(self, currency: str) -> Decimal:
        return money.sub(self.balances[currency], self.reserved[currency])
