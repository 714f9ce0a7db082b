"""The end-of-scenario check: the journal and the exchange tell the same story."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botkit.client import Buttercoin
from botkit.journal import Journal, queries


@dataclass
class Comparison:
    exchange_orders: int
    journal_orders: int
    duplicates: int
    """Exchange orders bound to more than one journal row."""
    orphans: int
    """Exchange orders of the account that no journal row holds."""
    mismatches: int
    """Orders whose status or filled quantity differ, plus fills missing or doubled."""
    fills: int
    details: list[str]

    def as_figures(self) -> dict[str, int]:
        return {"exchange_orders": self.exchange_orders, "journal_orders": self.journal_orders,
                "duplicates": self.duplicates, "orphans": self.orphans, "mismatches": self.mismatches,
                "fills": self.fills}

    def assert_clean(self) -> None:
        assert (self.duplicates, self.orphans, self.mismatches) == (0, 0, 0), self.details[:20]


def compare(journal: Journal, api: Buttercoin) -> Comparison:
    """Every exchange order of the account once in the journal with the same status and filled
    quantity; every fill once."""
    exchange = {o.order_id: o for o in api.orders()}
    rows = queries.orders(journal)
    bound = [r for r in rows if r["exchange_order_id"]]
    details: list[str] = []
    seen: dict[str, int] = {}
    for row in bound:
        seen[row["exchange_order_id"]] = seen.get(row["exchange_order_id"], 0) + 1
    duplicates = sum(1 for n in seen.values() if n > 1)
    orphans = [oid for oid in exchange if oid not in seen]
    details += [f"orphan: {oid} {exchange[oid].side.value} {exchange[oid].status.value}" for oid in orphans]
    mismatches = 0
    for row in bound:
        order = exchange.get(row["exchange_order_id"])
        if order is None:
            mismatches += 1
            details.append(f"journal row {row['id']} bound to {row['exchange_order_id']}, unknown to the exchange")
            continue
        if row["status"] != order.status.value or row["filled_quantity"] != order.filled:
            mismatches += 1
            details.append(f"row {row['id']}: journal {row['status']} {row['filled_quantity']}, "
                           f"exchange {order.status.value} {order.filled}")
    journal_fills: dict[tuple[str, Any, Any, Any], int] = {}
    for f in queries.fills(journal):
        key = (f["exchange_order_id"], f["quantity"], f["price"], f["fee"])
        journal_fills[key] = journal_fills.get(key, 0) + 1
    exchange_fills: dict[tuple[str, Any, Any, Any], int] = {}
    for order in exchange.values():
        for fill in order.fills:
            key = (order.order_id, fill.quantity, fill.price, fill.fee)
            exchange_fills[key] = exchange_fills.get(key, 0) + 1
    for key in set(journal_fills) | set(exchange_fills):
        if journal_fills.get(key, 0) != exchange_fills.get(key, 0):
            mismatches += 1
            details.append(f"fill {key}: journal {journal_fills.get(key, 0)}, exchange {exchange_fills.get(key, 0)}")
    return Comparison(len(exchange), len(rows), duplicates, len(orphans), mismatches,
                      sum(exchange_fills.values()), details)


def journal_state(journal: Journal) -> list[tuple[Any, ...]]:
    """Everything reconciliation could change, to prove a second pass changes nothing."""
    orders = [(r["id"], r["exchange_order_id"], r["status"], r["filled_quantity"]) for r in queries.orders(journal)]
    fills = [(f["exchange_order_id"], f["quantity"], f["price"]) for f in queries.fills(journal)]
    return [*orders, *fills]
