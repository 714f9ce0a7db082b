"""The exchange's order record, and its two faces: the wire JSON and the domain :class:`Order`.

An :class:`ExchangeOrder` is a :class:`~botkit.sandbox.book.BookOrder` (so the book can rest it
directly, with no second object to keep in step) plus everything the API reports: the fills with
their fees and liquidity, the reserve still held, the timestamps.

In the record, prices are integer cents and bitcoin amounts integer satoshis. A ``USD_BTC``
market sell is stored as what it is economically, a buy of bitcoin (``is_buy``), whose
``quantity`` is the USD amount to spend; its fills, like every fill, are in ``BTC_USD`` terms.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botkit.core import money
from botkit.core.times import iso_ms
from botkit.model import Fill, Liquidity, Order, OrderStatus, OrderType, Side
from botkit.sandbox import units
from botkit.sandbox.book import BookOrder

OPENED = "opened"
PARTIAL = "partial-filled"
FILLED = "filled"
CANCELED = "canceled"
STATUSES = (OPENED, PARTIAL, FILLED, CANCELED)
OPEN_STATUSES = (OPENED, PARTIAL)

BTC_USD = "BTC_USD"
USD_BTC = "USD_BTC"
LIMIT = "limit"
MARKET = "market"

FILL_EVENT = "fill"
"""The eventType of one execution in an order's ``events`` (botkit's choice of name)."""


class FillRecord:
    """One execution of one order: cents, satoshis, the USD fee, maker or taker."""

    __slots__ = ("fee", "liquidity", "price", "quantity", "ts")

    def __init__(self, price: int, quantity: int, fee: Decimal, liquidity: str, ts: int) -> None:
        self.price = price
        self.quantity = quantity
        self.fee = fee
        self.liquidity = liquidity
        self.ts = ts


class ExchangeOrder(BookOrder):
    """One order and its whole life. Mutated only under the exchange lock."""

    __slots__ = (
        "closed_ms",
        "created_ms",
        "fees",
        "filled",
        "fills",
        "instrument",
        "key",
        "notional_units",
        "order_type",
        "quantity",
        "reserve_bps",
        "reserved",
        "seq",
        "side",
        "spent",
        "status",
    )

    def __init__(
        self,
        order_id: str,
        key: str,
        instrument: str,
        side: str,
        order_type: str,
        price: int,
        quantity: Decimal,
        remaining: int,
        created_ms: int,
        seq: int,
        reserved: Decimal,
        reserve_bps: Decimal,
    ) -> None:
        is_buy = (side == "buy") == (instrument == BTC_USD)
        super().__init__(order_id, is_buy, price, remaining)
        self.key = key
        self.instrument = instrument
        self.side = side
        self.order_type = order_type
        self.quantity = quantity
        self.created_ms = created_ms
        self.closed_ms = 0
        self.seq = seq
        self.status = OPENED
        self.filled = 0
        """Satoshis bought or sold so far."""
        self.spent = money.ZERO
        """USD spent, fees included (the ``quantityFilled`` of a USD_BTC order)."""
        self.fees = money.ZERO
        self.notional_units = 0
        """Sum of cents × satoshis over the fills, for the average price."""
        self.fills: list[FillRecord] = []
        self.reserved = reserved
        """USD (buys) or BTC (sells) still held back for this order."""
        self.reserve_bps = reserve_bps

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def reserve_currency(self) -> str:
        return "USD" if self.is_buy else "BTC"

    def quantity_filled(self) -> Decimal:
        return self.spent if self.instrument == USD_BTC else units.btc(self.filled)

    def average_price(self) -> Decimal | None:
        if not self.filled:
            return None
        return units.average_price(self.notional_units, self.filled)

    # ------------------------------------------------------------------ the wire

    def view(self) -> dict[str, Any]:
        """The order object of the contract, with botkit's extras."""
        view: dict[str, Any] = {
            "orderId": self.order_id,
            "instrument": self.instrument,
            "side": self.side,
            "orderType": self.order_type,
            "status": self.status,
        }
        if self.order_type == LIMIT:
            view["price"] = units.usd(self.price)
        view["priceCurrency"] = "USD"
        view["quantity"] = self.quantity
        view["quantityCurrency"] = "BTC" if self.instrument == BTC_USD else "USD"
        view["quantityFilled"] = self.quantity_filled()
        view["averagePrice"] = self.average_price()
        view["fees"] = self.fees
        fills = []
        events: list[dict[str, Any]] = [{"eventType": "created", "eventDate": iso_ms(self.created_ms)}]
        for fill in self.fills:
            when = iso_ms(fill.ts)
            quantity = units.btc(fill.quantity)
            price = units.usd(fill.price)
            fills.append({
                "quantity": quantity,
                "price": price,
                "fee": fill.fee,
                "feeCurrency": "USD",
                "liquidity": fill.liquidity,
                "eventDate": when,
            })
            events.append({"eventType": FILL_EVENT, "eventDate": when, "quantity": quantity, "price": price})
        if self.status == CANCELED:
            events.append({"eventType": "canceled", "eventDate": iso_ms(self.closed_ms)})
        view["fills"] = fills
        view["events"] = events
        return view

    def to_model(self) -> Order:
        """The same order as :mod:`botkit.client.parse` would build from :meth:`view`."""
        return Order(
            order_id=self.order_id,
            side=Side(self.side),
            order_type=OrderType(self.order_type),
            status=OrderStatus(self.status),
            price=units.usd(self.price) if self.order_type == LIMIT else None,
            quantity=self.quantity,
            filled=self.quantity_filled(),
            created_ts=self.created_ms,
            average_price=self.average_price(),
            fees=self.fees,
            fills=tuple(
                Fill(
                    order_id=self.order_id,
                    price=units.usd(f.price),
                    quantity=units.btc(f.quantity),
                    fee=f.fee,
                    liquidity=Liquidity(f.liquidity),
                    ts=f.ts,
                    seq=seq,
                )
                for seq, f in enumerate(self.fills)
            ),
            instrument=self.instrument,
        )

    # ------------------------------------------------------------------ the store

    def state(self) -> dict[str, Any]:
        """Everything needed to rebuild the record exactly (decimals as strings)."""
        return {
            "orderId": self.order_id,
            "key": self.key,
            "instrument": self.instrument,
            "side": self.side,
            "orderType": self.order_type,
            "price": self.price,
            "quantity": str(self.quantity),
            "remaining": self.remaining,
            "createdMs": self.created_ms,
            "closedMs": self.closed_ms,
            "seq": self.seq,
            "status": self.status,
            "filled": self.filled,
            "spent": str(self.spent),
            "fees": str(self.fees),
            "notionalUnits": self.notional_units,
            "reserved": str(self.reserved),
            "reserveBps": str(self.reserve_bps),
            "fills": [[f.price, f.quantity, str(f.fee), f.liquidity, f.ts] for f in self.fills],
        }

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> ExchangeOrder:
        record = cls(
            order_id=data["orderId"],
            key=data["key"],
            instrument=data["instrument"],
            side=data["side"],
            order_type=data["orderType"],
            price=int(data["price"]),
            quantity=Decimal(data["quantity"]),
            remaining=int(data["remaining"]),
            created_ms=int(data["createdMs"]),
            seq=int(data["seq"]),
            reserved=Decimal(data["reserved"]),
            reserve_bps=Decimal(data["reserveBps"]),
        )
        record.closed_ms = int(data["closedMs"])
        record.status = data["status"]
        record.filled = int(data["filled"])
        record.spent = Decimal(data["spent"])
        record.fees = Decimal(data["fees"])
        record.notional_units = int(data["notionalUnits"])
        record.fills = [FillRecord(int(p), int(q), Decimal(fee), liq, int(ts)) for p, q, fee, liq, ts in data["fills"]]
        return record
