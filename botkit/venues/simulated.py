"""The simulated exchange port: fills orders against recorded (or live) snapshots.

:class:`SimulatedVenue` implements :class:`botkit.venues.port.Venue`. A backtest feeds it recorded
snapshots; paper trading (``botkit run --dry-run``) feeds it live ones. The engine cannot tell it
from the live venue: it places, cancels and reads orders and balances the same way.

The fill model (arrival, taking, resting, no reuse of taken liquidity) is in
:mod:`botkit.venues.fill_model` and ``docs/backtesting.md``; settlement here:

* **Fees.** Each fill pays ``notional × bps / 10000`` USD (:func:`botkit.core.money.fee`, the
  sandbox's rule too), maker rate for resting fills and taker rate for crossing ones, exact (never
  rounded), as the contract says.
* **Grid.** An order off the instrument's price or size grid, or below its minimum size, is
  refused with :class:`~botkit.errors.OrderRejected` (code ``invalid``), as the exchange's 400
  would be; the instrument is the data's (:class:`botkit.instrument.Instrument`, Buttercoin's
  BTC_USD by default).
* **Funds.** Open orders reserve funds: a buy its limit price × quantity plus the larger fee, a
  sell its BTC. An order that the available (unreserved) funds cannot cover is refused with
  :class:`~botkit.core.errors.OrderRejected`, as the exchange's 400 would. A market buy is checked
  against the book it would meet now, and fills only what the funds cover when it arrives.
  Cancelling an order that is not open raises ``OrderRejected``.
* Simulated orders never trade with each other, and the recorded market never reacts to them.

Money is exact: every amount is a :class:`~decimal.Decimal` computed in
:data:`botkit.core.money.EXACT`, which raises on any rounding. Order ids are deterministic (``sim-000001``, ...).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from botkit.core.errors import OrderRejected
from botkit.core.money import EXACT, fee
from botkit.core.numbers import exact_decimal
from botkit.instrument import BUTTERCOIN, Instrument
from botkit.model import (
    ZERO,
    Balances,
    Fill,
    Liquidity,
    Order,
    OrderStatus,
    OrderType,
    Side,
    Snapshot,
    TradeCursor,
)
from botkit.venues.fill_model import FillModel, SimOrder

log = logging.getLogger("botkit.venues.simulated")

_BUY = Side.BUY
_SELL = Side.SELL
_BPS = Decimal(10_000)


def _amount(value: object, what: str, *, below: Decimal | None = None) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ValueError(f"{what} must be a Decimal (or int), not {value!r}")
    number = exact_decimal(value, what)  # a NumberError (ValueError) for 1e-40000000 and the like
    if number < 0 or (below is not None and number >= below):
        raise ValueError(f"{what} is out of range: {value}")
    return number


class VenueListener(Protocol):
    """Who wants to hear about fills and finished orders (the metrics and report writers)."""

    def on_fill(self, fill: Fill, side: Side) -> None: ...

    def on_order_closed(self, order: Order) -> None: ...


class SimulatedVenue(FillModel):
    """A :class:`~botkit.venues.port.Venue` that fills orders with the model in the module docstring.

    :param initial: starting balances, e.g. ``{"USD": Decimal(10000), "BTC": Decimal(0)}``.
    :param maker_fee_bps: fee of resting (maker) fills in basis points of the notional.
    :param taker_fee_bps: fee of crossing (taker) fills.
    :param latency_ms: recorded time each placement or cancel takes to reach the venue.
    :param name: ``backtest`` or ``paper`` (journaled with the run).
    :param instrument: the market's grid and minimum (its fees are the two bps arguments: the
        caller decides between the data's and the configured ones).
    :param keep_closed: finished orders kept for ``order``/``orders_since`` (older ones are
        forgotten so that memory stays flat over long replays; listeners saw them all).
    """

    def __init__(
        self,
        initial: Mapping[str, Decimal],
        maker_fee_bps: Decimal = ZERO,
        taker_fee_bps: Decimal = ZERO,
        latency_ms: int = 0,
        name: str = "backtest",
        *,
        keep_closed: int = 10_000,
        id_prefix: str = "sim-",
        label: str | None = None,
        instrument: Instrument = BUTTERCOIN,
    ) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms cannot be negative")
        self.name = name
        self.instrument = instrument
        self.label = label or f"the simulated {name} venue"
        """What people are told this venue is."""
        self.maker_fee_bps = _amount(maker_fee_bps, "maker_fee_bps", below=_BPS)
        self.taker_fee_bps = _amount(taker_fee_bps, "taker_fee_bps", below=_BPS)
        self.latency_ms = latency_ms
        self.keep_closed = keep_closed
        self.id_prefix = id_prefix
        start = {currency: _amount(value, f"initial {currency}") for currency, value in initial.items()}
        self._other = {k: v for k, v in start.items() if k not in ("USD", "BTC")}
        self.usd = start.get("USD", ZERO)
        """Total USD (reserved included)."""
        self.btc = start.get("BTC", ZERO)
        """Total BTC (reserved included)."""
        self.reserved_usd = ZERO
        self.reserved_btc = ZERO
        self.now = -1
        """``ts`` of the latest snapshot observed (-1 before the first)."""
        self.snapshot: Snapshot | None = None
        self.orders_placed = 0
        self.listeners: list[VenueListener] = []
        self._reserve_rate = EXACT.add(1, EXACT.divide(max(self.maker_fee_bps, self.taker_fee_bps), _BPS))
        self._seq = 0
        self._orders: dict[str, SimOrder] = {}
        self._closed: deque[str] = deque()
        self._bids: list[SimOrder] = []  # resting, best (highest) first, then oldest first
        self._asks: list[SimOrder] = []  # resting, best (lowest) first, then oldest first
        self._finer_than_cents = 0
        self._pending: deque[tuple[int, bool, SimOrder]] = deque()  # (arrival ts, is_cancel, order)
        self._consumed: dict[tuple[bool, Decimal], Decimal] = {}
        self._trades = TradeCursor()
        self._balances: Balances | None = None
        self._revision = 0

    @property
    def order_revision(self) -> int:
        """Counts the changes to orders (placed, filled, closed): see :class:`~botkit.venues.port.Venue`."""
        return self._revision

    # ------------------------------------------------------------------ market data

    def observe(self, snapshot: Snapshot) -> None:
        """Advance to this snapshot: fill resting orders it trades through, deliver arrivals."""
        ts = snapshot.ts
        if ts < self.now:
            # A wall clock stepped back (paper trading): keep the venue's time monotonic, so that
            # nothing in flight arrives twice or early.
            log.warning("snapshot at %d is older than the venue's time %d; using %d", ts, self.now, self.now)
            ts = self.now
        self.now = ts
        self.snapshot = snapshot
        if self._consumed:
            self._consumed.clear()
        if self._bids or self._asks:
            self._market_moves(snapshot, ts)
        if self._pending and self._pending[0][0] <= ts:
            self._deliver(snapshot, ts)

    def _deliver(self, snapshot: Snapshot, ts: int) -> None:
        pending = self._pending
        while pending and pending[0][0] <= ts:
            _, is_cancel, order = pending.popleft()
            if is_cancel:
                if order.status.is_open and order.arrived_ts >= 0:
                    self._cancel_now(order)
            else:
                self._arrive(order, snapshot, ts)

    # ------------------------------------------------------------------ orders

    def place_order(self, side: Side, quantity: Decimal, price: Decimal | None) -> str:
        """Place an order (``price`` None: market; quantity in BTC either way); return its id."""
        if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
            raise OrderRejected(f"quantity must be a positive decimal, not {quantity!r}", code="invalid")
        instrument = self.instrument
        problem = instrument.size_problem(quantity)
        if problem:
            raise OrderRejected(problem, code="invalid")
        if quantity < instrument.min_size:
            raise OrderRejected(f"quantity {quantity} is below the minimum size of {instrument.min_size} "
                                f"{instrument.base}", code="invalid")
        if price is not None:
            if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
                raise OrderRejected(f"price must be a positive decimal, not {price!r}", code="invalid")
            problem = instrument.price_problem(price)
            if problem:
                raise OrderRejected(problem, code="invalid")
        snapshot = self.snapshot
        if snapshot is None:
            raise OrderRejected("no market data yet: observe a snapshot first", code="no_market")
        order_type = OrderType.MARKET if price is None else OrderType.LIMIT
        reserve_unit = ZERO
        if side is _SELL:
            need, free, reserve_unit = quantity, self.btc - self.reserved_btc, Decimal(1)
            currency = "BTC"
        elif price is not None:
            reserve_unit = EXACT.multiply(price, self._reserve_rate)
            need, free, currency = EXACT.multiply(reserve_unit, quantity), self.usd - self.reserved_usd, "USD"
        else:
            need, free, currency = self._market_buy_cost(snapshot, quantity), self.usd - self.reserved_usd, "USD"
        if need > free:
            raise OrderRejected(f"insufficient funds: needs {need} {currency}, {free} available",
                                code="insufficient_funds")
        self._seq += 1
        order = SimOrder(f"{self.id_prefix}{self._seq:06d}", self._seq, side, order_type, price, quantity, self.now)
        order.reserve_unit = reserve_unit
        order.reserved = need
        if currency == "BTC":
            self.reserved_btc += need
        else:
            self.reserved_usd = EXACT.add(self.reserved_usd, need)
        self._orders[order.order_id] = order
        self.orders_placed += 1
        self._revision += 1
        self._balances = None
        if self.latency_ms:
            self._pending.append((self.now + self.latency_ms, False, order))
        else:
            self._arrive(order, snapshot, self.now)
        return order.order_id

    def _fill(self, order: SimOrder, price: Decimal, qty: Decimal, liquidity: Liquidity, ts: int) -> None:
        notional = EXACT.multiply(price, qty)
        bps = self.maker_fee_bps if liquidity is Liquidity.MAKER else self.taker_fee_bps
        paid = fee(notional, bps)
        release = EXACT.multiply(order.reserve_unit, qty)
        if order.side is _BUY:
            self.usd = EXACT.subtract(self.usd, EXACT.add(notional, paid))
            self.btc = EXACT.add(self.btc, qty)
            self.reserved_usd = EXACT.subtract(self.reserved_usd, release)
        else:
            self.usd = EXACT.add(self.usd, EXACT.subtract(notional, paid))
            self.btc = EXACT.subtract(self.btc, qty)
            self.reserved_btc = EXACT.subtract(self.reserved_btc, release)
        order.reserved = EXACT.subtract(order.reserved, release)
        order.filled = EXACT.add(order.filled, qty)
        order.notional = EXACT.add(order.notional, notional)
        order.fees = EXACT.add(order.fees, paid)
        fill = Fill(order.order_id, price, qty, paid, liquidity, ts, seq=len(order.fills))
        order.fills.append(fill)
        order.view_cache = None
        self._revision += 1
        self._balances = None
        assert self.usd >= 0, "a fill overdrew USD: reservations are wrong"
        assert self.btc >= 0, "a fill overdrew BTC: reservations are wrong"
        for listener in self.listeners:
            listener.on_fill(fill, order.side)
        if order.filled == order.quantity:
            self._close(order, OrderStatus.FILLED)
        else:
            order.status = OrderStatus.PARTIAL

    def _close(self, order: SimOrder, status: OrderStatus) -> None:
        if order.reserved:
            if order.side is _BUY:
                self.reserved_usd = EXACT.subtract(self.reserved_usd, order.reserved)
            else:
                self.reserved_btc = EXACT.subtract(self.reserved_btc, order.reserved)
            order.reserved = ZERO
        order.status = status
        order.view_cache = None
        self._revision += 1
        self._balances = None
        book = self._bids if order.side is _BUY else self._asks
        if order in book:
            book.remove(order)
            if order.limit_cents < 0:
                self._finer_than_cents -= 1
        view = order.view()
        for listener in self.listeners:
            listener.on_order_closed(view)
        self._closed.append(order.order_id)
        while len(self._closed) > self.keep_closed:
            self._orders.pop(self._closed.popleft(), None)

    def _cancel_now(self, order: SimOrder) -> None:
        self._close(order, OrderStatus.CANCELED)

    def cancel_order(self, order_id: str) -> None:
        """Cancel an open order (after ``latency_ms``); OrderRejected if it is not open."""
        order = self._orders.get(order_id)
        if order is None:
            raise OrderRejected(f"order {order_id} not found", code="not_found")
        if not order.status.is_open:
            raise OrderRejected(f"order {order_id} is {order.status.value}, not open", code="not_open")
        if self.latency_ms:
            self._pending.append((self.now + self.latency_ms, True, order))
        elif order.arrived_ts >= 0:
            self._cancel_now(order)

    # ------------------------------------------------------------------ reading

    def balances(self) -> Balances:
        balances = self._balances
        if balances is None:
            balances = self._balances = Balances({**self._other, "USD": self.usd, "BTC": self.btc})
        return balances

    def order(self, order_id: str) -> Order:
        order = self._orders.get(order_id)
        if order is None:
            raise OrderRejected(f"order {order_id} not found", code="not_found")
        return order.view()

    def orders(self, order_ids: Sequence[str]) -> Sequence[Order]:
        known = self._orders
        return [known[i].view() for i in order_ids if i in known]

    def orders_since(self, since_ms: int) -> Sequence[Order]:
        found = [o.view() for o in self._orders.values() if o.created_ts >= since_ms]
        found.reverse()
        return found

    def open_orders(self) -> Sequence[Order]:
        found = [o.view() for o in self._orders.values() if o.status.is_open]
        found.reverse()
        return found

    def equity(self, mid: Decimal) -> Decimal:
        """Account value in USD with BTC at ``mid`` (exact)."""
        return EXACT.add(self.usd, EXACT.multiply(self.btc, mid))

    def close(self) -> None:
        """Nothing to release."""
