"""Deposits, withdrawals and bitcoin sends: the money that enters and leaves the exchange.

A transaction starts ``pending``. A deposit is credited (``funded``) after the deposit delay; a
withdrawal or send holds its amount back at once (it counts as reserved) and leaves the account
when it completes (also reported as ``funded``, the contract's word for "done"). When the account
asks for confirmation, a withdrawal stays pending, unconfirmed, until it is confirmed; only then
does its delay start. Only a pending transaction can be canceled, which releases the hold.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botkit.core.times import iso_ms

DEPOSIT = "deposit"
WITHDRAWAL = "withdrawal"
TYPES = (DEPOSIT, WITHDRAWAL)

PENDING = "pending"
PROCESSING = "processing"
FUNDED = "funded"
CANCELED = "canceled"
FAILED = "failed"
STATUSES = (PENDING, PROCESSING, FUNDED, CANCELED, FAILED)

DEPOSIT_METHODS = ("wire",)
WITHDRAW_METHODS = ("check", "us_ach")
BITCOIN = "bitcoin"
"""The ``method`` shown for a bitcoin send."""

BANK = "External Customer Bank"


class Transaction:
    """One transaction and its events. Mutated only under the exchange lock."""

    __slots__ = (
        "amount",
        "confirmed",
        "created_ms",
        "currency",
        "destination",
        "due_ms",
        "events",
        "key",
        "kind",
        "method",
        "seq",
        "status",
        "transaction_id",
    )

    def __init__(
        self,
        transaction_id: str,
        key: str,
        kind: str,
        currency: str,
        amount: Decimal,
        method: str,
        created_ms: int,
        seq: int,
        destination: str = "",
        confirmed: bool = True,
    ) -> None:
        self.transaction_id = transaction_id
        self.key = key
        self.kind = kind
        self.currency = currency
        self.amount = amount
        self.method = method
        self.created_ms = created_ms
        self.seq = seq
        self.destination = destination
        self.confirmed = confirmed
        self.status = PENDING
        self.due_ms = 0
        """When a confirmed pending transaction completes."""
        self.events: list[tuple[str, int]] = [("created", created_ms)]

    @property
    def holds_funds(self) -> bool:
        """A pending withdrawal keeps its amount reserved until it completes or is canceled."""
        return self.kind == WITHDRAWAL and self.status == PENDING

    def view(self) -> dict[str, Any]:
        if self.kind == DEPOSIT:
            funding: dict[str, Any] = {"source": BANK}
        elif self.method == BITCOIN:
            funding = {"destination": self.destination}
        else:
            funding = {"destination": BANK}
        return {
            "transactionId": self.transaction_id,
            "transactionType": self.kind,
            "currency": self.currency,
            "amount": self.amount,
            "method": self.method,
            "status": self.status,
            "confirmed": self.confirmed,
            "fundingInfo": funding,
            "events": [{"eventType": kind, "eventDate": iso_ms(ts)} for kind, ts in self.events],
        }

    def state(self) -> dict[str, Any]:
        return {
            "transactionId": self.transaction_id,
            "key": self.key,
            "kind": self.kind,
            "currency": self.currency,
            "amount": str(self.amount),
            "method": self.method,
            "createdMs": self.created_ms,
            "seq": self.seq,
            "destination": self.destination,
            "confirmed": self.confirmed,
            "status": self.status,
            "dueMs": self.due_ms,
            "events": [[kind, ts] for kind, ts in self.events],
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> Transaction:
        tx = cls(
            transaction_id=data["transactionId"],
            key=data["key"],
            kind=data["kind"],
            currency=data["currency"],
            amount=Decimal(data["amount"]),
            method=data["method"],
            created_ms=int(data["createdMs"]),
            seq=int(data["seq"]),
            destination=data["destination"],
            confirmed=bool(data["confirmed"]),
        )
        tx.status = data["status"]
        tx.due_ms = int(data["dueMs"])
        tx.events = [(str(kind), int(ts)) for kind, ts in data["events"]]
        return tx
