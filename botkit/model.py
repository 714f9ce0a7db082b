"""The domain types every part of botkit speaks: market data, orders, fills, balances, intents.

All money is :class:`decimal.Decimal`. These are plain frozen dataclasses so that a snapshot handed
to several strategies cannot be changed by one of them under the feet of the next, and so that
the live venue, the paper venue and the backtester produce values that compare equal.

Prices are USD per BTC and quantities are BTC throughout (the ``BTC_USD`` instrument); the only
place the flipped ``USD_BTC`` instrument appears is the wire.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from botkit.core.money import BTC_PLACES, EXACT, USD_PLACES, USD_STEP, units_to_decimal
from botkit.core.money import ZERO as ZERO  # noqa: PLC0414 - re-exported: the domain types' users take it from here

USD_TICK = USD_STEP
"""Smallest price increment of BTC_USD, one cent (botkit's validation rule for limit prices)."""
MIN_QUANTITY = Decimal("0.0001")
"""Smallest order quantity in BTC that the engine lets through (botkit's rule)."""


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class OrderStatus(StrEnum):
    """Exchange order states, spelled as the wire's filter words."""

    OPENED = "opened"
    PARTIAL = "partial-filled"
    FILLED = "filled"
    CANCELED = "canceled"

    @property
    def is_open(self) -> bool:
        return self in (OrderStatus.OPENED, OrderStatus.PARTIAL)

    @classmethod
    def parse(cls, text: str) -> OrderStatus:
        """Read a wire status; the original documentation's ``open`` means ``opened``."""
        return cls.OPENED if text == "open" else cls(text)


class OrderState(StrEnum):
    """Where an order stands in botkit's lifecycle: the journal's ``orders.status``, one member each.

    The exchange knows four states (:class:`OrderStatus`); botkit journals an order before the
    exchange has heard of it, so its lifecycle has more. Before the exchange's answer:
    ``PENDING`` (journaled, maybe not sent: the write-ahead step), ``UNKNOWN`` (sent, the reply
    lost: resolved from the exchange's orders, never re-sent); ``REJECTED`` (the exchange refused
    it) and ``NOT_PLACED`` (certainly never created) end it there. Once placed, the state is the
    exchange's own word (``OPENED``, ``PARTIAL``, ``FILLED``, ``CANCELED``: the same values as
    :class:`OrderStatus`, so :meth:`of` maps one onto the other), and ``VANISHED`` ends a placed
    order the exchange later said it does not know.

    One enum rather than botkit's states beside the exchange's, because the journal keeps one
    column and the engine asks one question of it (open? unresolved? placed?). The values are the
    strings the journal has always stored, so a journal written by any botkit reads the same.
    Which events befell an order besides (adopted at start-up, bound late) is :class:`OrderFlag`.
    """

    PENDING = "pending"
    UNKNOWN = "unknown"
    REJECTED = "rejected"
    NOT_PLACED = "not_placed"
    OPENED = "opened"
    PARTIAL = "partial-filled"
    FILLED = "filled"
    CANCELED = "canceled"
    VANISHED = "vanished"

    @classmethod
    def of(cls, status: OrderStatus) -> OrderState:
        """The state of an order the exchange reports as ``status``."""
        return _FROM_EXCHANGE[status]

    @property
    def is_open(self) -> bool:
        """On the exchange's book: it can still fill and be cancelled."""
        return self in OPEN_STATES

    @property
    def is_unresolved(self) -> bool:
        """Maybe sent, the exchange's answer not known yet: pending or unknown."""
        return self in UNRESOLVED_STATES

    @property
    def is_live(self) -> bool:
        """Not finished: open, or of unresolved outcome (the orders the engine tracks)."""
        return self in LIVE_STATES

    @property
    def is_placed(self) -> bool:
        """The exchange has (or had) this order under its own id."""
        return self in PLACED_STATES


_FROM_EXCHANGE = {status: OrderState(status.value) for status in OrderStatus}
OPEN_STATES = frozenset({OrderState.OPENED, OrderState.PARTIAL})
UNRESOLVED_STATES = frozenset({OrderState.PENDING, OrderState.UNKNOWN})
LIVE_STATES = OPEN_STATES | UNRESOLVED_STATES
PLACED_STATES = frozenset({*_FROM_EXCHANGE.values(), OrderState.VANISHED})


class OrderFlag(StrEnum):
    """What the journal's ``orders.flag`` marks: how botkit came to know an order, when not by
    its own placement's reply. A flag is not a state: an adopted order is opened, filled..."""

    ADOPTED = "adopted"
    """Found open on the exchange at start-up, unknown to the journal, and kept (``unknown_orders = "adopt"``)."""
    LATE = "late"
    """Declared not placed, then found on the exchange after all, and bound to its journal row."""


class Liquidity(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


@dataclass(frozen=True, slots=True)
class Ticker:
    last: Decimal
    bid: Decimal
    ask: Decimal
    currency: str = "USD"


@dataclass(frozen=True, slots=True)
class BookLevel:
    price: Decimal
    quantity: Decimal


class BookUnits(NamedTuple):
    """A book's levels as exact integers, best first: a price is ``units × 10**-price_decimals``
    USD, a quantity ``units × 10**-quantity_decimals`` BTC.

    What a strategy that reads every level on every snapshot works with: integer arithmetic is
    exact and several times faster than ``Decimal``, and a book read from the fast store is handed
    over from its own integers, no number built. Turn a result back into money once, at the end::

        u = snapshot.book.units()
        notional = sum(map(operator.mul, u.bid_prices, u.bid_quantities))   # exact, in 10**-10 USD
        usd = u.decimal(notional, u.price_decimals + u.quantity_decimals)
    """

    bid_prices: list[int]
    bid_quantities: list[int]
    ask_prices: list[int]
    ask_quantities: list[int]
    price_decimals: int = USD_PLACES
    quantity_decimals: int = BTC_PLACES

    @staticmethod
    def decimal(units: int, decimals: int) -> Decimal:
        """``units × 10**-decimals`` as an exact Decimal, written as the levels' own numbers are
        (:func:`botkit.core.money.units_to_decimal`)."""
        return units_to_decimal(units, decimals)


def _decimals_of(values: Iterator[Decimal], least: int) -> int:
    """The fewest decimal places that hold every value exactly, at least ``least``."""
    places = least
    for value in values:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            places = -exponent
    return places


def _units_of(value: Decimal, decimals: int) -> int:
    return int(value.scaleb(decimals, EXACT))


@dataclass(frozen=True, slots=True)
class OrderBook:
    """Both sides of the book, best first: bids descending, asks ascending."""

    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]

    def units(self) -> BookUnits:
        """Every level as exact integers (:class:`BookUnits`): in cents and satoshis, or in finer
        units when a price or quantity has more decimals than those."""
        levels = self.bids + self.asks
        pd = _decimals_of((level.price for level in levels), USD_PLACES)
        qd = _decimals_of((level.quantity for level in levels), BTC_PLACES)
        return BookUnits(
            [_units_of(level.price, pd) for level in self.bids],
            [_units_of(level.quantity, qd) for level in self.bids],
            [_units_of(level.price, pd) for level in self.asks],
            [_units_of(level.quantity, qd) for level in self.asks],
            pd, qd,
        )

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None

    @property
    def is_crossed(self) -> bool:
        bid, ask = self.best_bid, self.best_ask
        return bid is not None and ask is not None and bid >= ask


@dataclass(frozen=True, slots=True)
class Trade:
    """A public trade print: price in USD, quantity in BTC, and which side took liquidity."""

    ts: int
    price: Decimal
    quantity: Decimal
    taker_side: Side


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a strategy sees each tick: the ticker, the order book and recent trades at ``ts``.

    ``ts`` is integer milliseconds since the Unix epoch: wall time live, recorded time in a
    backtest. Strategies must use it (or ``ctx.now``) rather than the system clock.
    """

    ts: int
    ticker: Ticker
    book: OrderBook
    trades: tuple[Trade, ...] = ()

    @property
    def best_bid(self) -> Decimal | None:
        return self.book.best_bid

    @property
    def best_ask(self) -> Decimal | None:
        return self.book.best_ask

    @property
    def mid(self) -> Decimal | None:
        bid, ask = self.book.best_bid, self.book.best_ask
        if bid is None or ask is None:
            return None
        return (bid + ask) / 2

    @property
    def spread(self) -> Decimal | None:
        bid, ask = self.book.best_bid, self.book.best_ask
        if bid is None or ask is None:
            return None
        return ask - bid

    def iter_trades(self, since: int = -1) -> Iterator[Trade]:
        """The trades newest first (as the exchange lists them), down to the first one older than
        ``since``. A snapshot read lazily from a file builds only those."""
        for trade in self.trades:
            if trade.ts < since:
                return
            yield trade


class TradeCursor:
    """Which of a snapshot's trades are new: the exchange lists its recent trades newest first,
    without ids, and successive lists overlap. The cursor keeps the newest trade time seen and
    how many trades had that time, so each trade is taken once (the simulated venue's fills and
    the bars both read trades through one)."""

    __slots__ = ("mark_count", "mark_ts")

    def __init__(self) -> None:
        self.mark_ts = -1
        self.mark_count = 0

    def new_trades(self, snapshot: Snapshot) -> list[Trade]:
        """Trades not seen in an earlier snapshot, oldest first."""
        listed = list(snapshot.iter_trades(self.mark_ts))
        fresh = [listed[i] for i in self.advance([trade.ts for trade in listed])]
        fresh.reverse()
        return fresh

    def advance(self, stamps: Iterable[int]) -> list[int]:
        """The positions of the new trades in a list given by their times, newest first (the
        exchange's order), and move the mark past them. What :meth:`new_trades` does with
        ``Trade`` values, for readers that hold trades as plain numbers (the store's integers).
        Read only down to the first trade older than the mark: a lazy iterable is not drawn
        further (a polled list repeats many old trades)."""
        mark_ts, mark_count = self.mark_ts, self.mark_count
        fresh: list[int] = []
        at_mark: list[int] = []
        newest_ts = -1
        newest_count = 0
        for i, t in enumerate(stamps):
            if newest_ts < 0:
                newest_ts = t
            if t == newest_ts:
                newest_count += 1
            if t > mark_ts:
                fresh.append(i)
            elif t == mark_ts:
                at_mark.append(i)
            else:
                break
        if newest_ts < 0 or newest_ts < mark_ts:
            return []
        # Of the trades sharing the mark's time, the list's first (newest) ones are the new ones.
        fresh.extend(at_mark[: max(0, len(at_mark) - mark_count)])
        if newest_ts == mark_ts:
            newest_count = max(newest_count, mark_count)
        self.mark_ts, self.mark_count = newest_ts, newest_count
        return fresh


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one order, as the exchange reported it (fee in USD)."""

    order_id: str
    price: Decimal
    quantity: Decimal
    fee: Decimal
    liquidity: Liquidity
    ts: int
    seq: int = 0
    """Position of this fill within its order's fills: with ``order_id`` it identifies the fill."""
    fee_currency: str = "USD"

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity

    @property
    def key(self) -> tuple[str, int]:
        return (self.order_id, self.seq)


@dataclass(frozen=True, slots=True)
class Order:
    """An exchange order as the venue knows it. ``price`` is None for market orders."""

    order_id: str
    side: Side
    order_type: OrderType
    status: OrderStatus
    price: Decimal | None
    quantity: Decimal
    filled: Decimal
    created_ts: int
    average_price: Decimal | None = None
    fees: Decimal = ZERO
    fills: tuple[Fill, ...] = ()
    instrument: str = "BTC_USD"
    tag: str = ""
    """The strategy's tag for this order (botkit's, never sent to the exchange)."""
    is_placed: bool = True
    """Whether the exchange has this order. False for one of ``ctx.open_orders`` journaled but
    not confirmed yet (its outcome being resolved): it has no exchange id, its ``order_id`` is
    botkit's ``local-N``, its ``status`` reads ``opened``, and it cannot be cancelled yet."""

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def is_open(self) -> bool:
        return self.status.is_open


@dataclass(frozen=True, slots=True)
class Balances(Mapping[str, Decimal]):
    """Total holdings per currency (including funds reserved by open orders).

    ``amounts`` is a read-only copy: every strategy's ``ctx.balances`` is the engine's one
    object, so a writable dict would let one strategy change what the next one sees.
    """

    amounts: Mapping[str, Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "amounts", MappingProxyType(dict(self.amounts)))

    @property
    def usd(self) -> Decimal:
        return self.amounts.get("USD", ZERO)

    @property
    def btc(self) -> Decimal:
        return self.amounts.get("BTC", ZERO)

    def __getitem__(self, currency: str) -> Decimal:
        return self.amounts.get(currency, ZERO)

    def __iter__(self) -> Iterator[str]:
        return iter(self.amounts)

    def __len__(self) -> int:
        return len(self.amounts)


# --------------------------------------------------------------------------- intents


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    """A strategy's wish to place an order. ``price`` None means a market order."""

    side: Side
    quantity: Decimal
    price: Decimal | None = None
    tag: str = ""

    @property
    def order_type(self) -> OrderType:
        return OrderType.MARKET if self.price is None else OrderType.LIMIT


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Cancel one of the strategy's own orders, by exchange id or by botkit's local id."""

    order_id: str


@dataclass(frozen=True, slots=True)
class CancelAll:
    """Cancel every open order of the strategy, optionally only one side of them."""

    side: Side | None = None


Intent = PlaceOrder | CancelOrder | CancelAll


def _exact(value: Decimal | int | str, what: str) -> Decimal:
    if isinstance(value, float):
        raise TypeError(f"{what} must be a Decimal, int or str, not float ({value!r}): money is exact")
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"{what} must be a Decimal, int or str, not {type(value).__name__}")
    return Decimal(value)


def buy(quantity: Decimal | int | str, price: Decimal | int | str | None = None, *, tag: str = "") -> PlaceOrder:
    """Intent to buy ``quantity`` BTC at ``price`` USD (a limit order), or at market when None."""
    return PlaceOrder(
        Side.BUY, _exact(quantity, "quantity"), None if price is None else _exact(price, "price"), tag
    )


def sell(quantity: Decimal | int | str, price: Decimal | int | str | None = None, *, tag: str = "") -> PlaceOrder:
    """Intent to sell ``quantity`` BTC at ``price`` USD (a limit order), or at market when None."""
    return PlaceOrder(
        Side.SELL, _exact(quantity, "quantity"), None if price is None else _exact(price, "price"), tag
    )


def cancel(order_id: str) -> CancelOrder:
    """Intent to cancel one of the strategy's own orders."""
    return CancelOrder(order_id)


def cancel_all(side: Side | str | None = None) -> CancelAll:
    """Intent to cancel all the strategy's open orders (or those of one side)."""
    return CancelAll(None if side is None else Side(side))
