"""The simulated exchange port: fills orders against recorded (or live) snapshots.

:class:`SimulatedVenue` implements :class:`botkit.venues.port.Venue`. A backtest feeds it recorded
snapshots; paper trading (``botkit run --dry-run``) feeds it live ones. The engine cannot tell it
from the live venue: it places, cancels and reads orders and balances the same way.

The fill model (also in ``docs/backtesting.md``, with its assumptions):

* **Arrival.** An order *arrives* at the first snapshot whose ``ts`` is at or after the time it
  was sent plus ``latency_ms`` (with no latency: at once, against the snapshot of the current
  tick). A cancel travels the same way; until it arrives the order can still fill.
* **Taker.** A limit order that crosses the book on arrival fills as taker, walking the levels
  at their own prices as far as its limit allows, partially if the book is thinner; the rest
  rests. A market order walks the book the same way without a limit; what the book cannot fill
  is canceled. A market *buy*'s quantity is BTC here (the venue port's unit), not USD.
* **No reuse.** Liquidity that a simulated order took from a snapshot's level is gone for the
  other simulated orders arriving at that same snapshot; the next snapshot brings the recorded
  book back.
* **Maker.** A resting order fills as maker *at its own price* when a later snapshot's opposite
  side trades through it (best ask below a resting bid: the whole bid fills; best bid above a
  resting ask: the whole ask fills), or when a trade recorded after its arrival prints strictly
  through its price (a bid fills up to the printed quantity when a trade prints below it; an ask
  when one prints above it; one print's quantity is shared by price, then time priority). A print
  *at* the order's price does not fill it: its place in the queue is unknown. At each snapshot the
  market's moves are applied first, then the orders and cancels that arrive at it.
* **Fees.** Each fill pays ``notional × bps / 10000`` USD (:func:`botkit.core.money.fee`, the
  sandbox's rule too), maker rate for resting fills and taker rate for crossing ones, exact (never
  rounded), as the contract says.
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
from decimal import ROUND_DOWN, Decimal
from typing import Protocol

from botkit.core.errors import OrderRejected
from botkit.core.money import BTC_STEP, EXACT, FLOOR, fee
from botkit.core.numbers import exact_decimal
from botkit.model import (
    USD_TICK,
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


class _SimOrder:
    """The venue's mutable record of one order; :meth:`view` is its immutable ``Order``."""

    __slots__ = (
        "arrived_ts",
        "created_ts",
        "fees",
        "filled",
        "fills",
        "limit",
        "notional",
        "order_id",
        "order_type",
        "price",
        "quantity",
        "reserve_unit",
        "reserved",
        "seq",
        "side",
        "status",
        "view_cache",
    )

    def __init__(self, order_id: str, seq: int, side: Side, order_type: OrderType, price: Decimal | None,
                 quantity: Decimal, created_ts: int) -> None:
        self.order_id = order_id
        self.seq = seq
        self.side = side
        self.order_type = order_type
        self.price = price
        self.limit = ZERO if price is None else price
        """The price as a plain Decimal (resting orders are limit orders)."""
        self.quantity = quantity
        self.created_ts = created_ts
        self.arrived_ts = -1
        """``ts`` of the snapshot at which the order reached the venue (-1: still travelling)."""
        self.status = OrderStatus.OPENED
        self.filled = ZERO
        self.notional = ZERO
        self.fees = ZERO
        self.fills: list[Fill] = []
        self.reserve_unit = ZERO
        """Funds reserved per unit of remaining quantity (USD for buys, 1 BTC for sells)."""
        self.reserved = ZERO
        self.view_cache: Order | None = None

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    def view(self) -> Order:
        view = self.view_cache
        if view is None:
            view = self.view_cache = Order(
                order_id=self.order_id,
                side=self.side,
                order_type=self.order_type,
                status=self.status,
                price=self.price,
                quantity=self.quantity,
                filled=self.filled,
                created_ts=self.created_ts,
                average_price=self.notional / self.filled if self.filled else None,
                fees=self.fees,
                fills=tuple(self.fills),
            )
        return view


class SimulatedVenue:
    """A :class:`~botkit.venues.port.Venue` that fills orders with the model in the module docstring.

    :param initial: starting balances, e.g. ``{"USD": Decimal(10000), "BTC": Decimal(0)}``.
    :param maker_fee_bps: fee of resting (maker) fills in basis points of the notional.
    :param taker_fee_bps: fee of crossing (taker) fills.
    :param latency_ms: recorded time each placement or cancel takes to reach the venue.
    :param name: ``backtest`` or ``paper`` (journaled with the run).
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
    ) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms cannot be negative")
        self.name = name
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
        self._orders: dict[str, _SimOrder] = {}
        self._closed: deque[str] = deque()
        self._bids: list[_SimOrder] = []  # resting, best (highest) first, then oldest first
        self._asks: list[_SimOrder] = []  # resting, best (lowest) first, then oldest first
        self._pending: deque[tuple[int, bool, _SimOrder]] = deque()  # (arrival ts, is_cancel, order)
        self._consumed: dict[tuple[bool, Decimal], Decimal] = {}
        self._trades = TradeCursor()
        self._balances: Balances | None = None

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

    def _market_moves(self, snapshot: Snapshot, ts: int) -> None:
        """Maker fills of the orders resting before this snapshot: book, then trades, through them."""
        maker = Liquidity.MAKER
        best_ask = snapshot.best_ask
        if best_ask is not None and self._bids and self._bids[0].limit > best_ask:
            for order in [o for o in self._bids if o.limit > best_ask and o.arrived_ts < ts]:
                self._fill(order, order.limit, order.remaining, maker, ts)
        best_bid = snapshot.best_bid
        if best_bid is not None and self._asks and self._asks[0].limit < best_bid:
            for order in [o for o in self._asks if o.limit < best_bid and o.arrived_ts < ts]:
                self._fill(order, order.limit, order.remaining, maker, ts)
        if not (self._bids or self._asks):
            return
        # Trades older than an order's arrival never fill it, so while nothing rests the trade
        # lists need not be read at all.
        for trade in self._trades.new_trades(snapshot):
            left = trade.quantity
            price = trade.price
            if self._bids and price < self._bids[0].limit:
                for order in list(self._bids):
                    if left <= 0 or price >= order.limit:
                        break
                    if trade.ts > order.arrived_ts:
                        qty = min(left, order.remaining)
                        self._fill(order, order.limit, qty, maker, trade.ts)
                        left -= qty
            if self._asks and price > self._asks[0].limit:
                for order in list(self._asks):
                    if left <= 0 or price <= order.limit:
                        break
                    if trade.ts > order.arrived_ts:
                        qty = min(left, order.remaining)
                        self._fill(order, order.limit, qty, maker, trade.ts)
                        left -= qty

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
        if quantity % BTC_STEP:
            raise OrderRejected(f"quantity {quantity} has more than 8 decimals", code="invalid")
        if price is not None:
            if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
                raise OrderRejected(f"price must be a positive decimal, not {price!r}", code="invalid")
            if price % USD_TICK:
                raise OrderRejected(f"price {price} is not a multiple of {USD_TICK}", code="invalid")
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
        order = _SimOrder(f"{self.id_prefix}{self._seq:06d}", self._seq, side, order_type, price, quantity, self.now)
        order.reserve_unit = reserve_unit
        order.reserved = need
        if currency == "BTC":
            self.reserved_btc += need
        else:
            self.reserved_usd = EXACT.add(self.reserved_usd, need)
        self._orders[order.order_id] = order
        self.orders_placed += 1
        self._balances = None
        if self.latency_ms:
            self._pending.append((self.now + self.latency_ms, False, order))
        else:
            self._arrive(order, snapshot, self.now)
        return order.order_id

    def _market_buy_cost(self, snapshot: Snapshot, quantity: Decimal) -> Decimal:
        """What buying ``quantity`` at market would cost now, taker fee included."""
        cost = ZERO
        left = quantity
        for level in snapshot.book.asks:
            take = min(left, level.quantity - self._consumed.get((False, level.price), ZERO))
            if take > 0:
                cost = EXACT.add(cost, EXACT.multiply(level.price, take))
                left -= take
            if not left:
                break
        return EXACT.add(cost, fee(cost, self.taker_fee_bps))

    def _arrive(self, order: _SimOrder, snapshot: Snapshot, ts: int) -> None:
        """The order reaches the venue at this snapshot (time ``ts``): take what crosses, rest the rest."""
        order.arrived_ts = ts
        buy = order.side is _BUY
        limit = order.price
        if buy and limit is None:  # market buy: its estimate is released; funds are checked per level
            self.reserved_usd = EXACT.subtract(self.reserved_usd, order.reserved)
            order.reserved = ZERO
        levels = snapshot.book.asks if buy else snapshot.book.bids
        consumed = self._consumed
        for level in levels:
            px = level.price
            if limit is not None and (px > limit if buy else px < limit):
                break
            key = (not buy, px)
            available = level.quantity - consumed.get(key, ZERO)
            if available <= 0:
                continue
            qty = min(order.remaining, available)
            if buy and limit is None:
                qty = min(qty, self._affordable(px))
                if qty <= 0:
                    break
            consumed[key] = consumed.get(key, ZERO) + qty
            self._fill(order, px, qty, Liquidity.TAKER, ts)
            if not order.remaining:
                return
        if limit is None:
            self._close(order, OrderStatus.CANCELED if order.remaining else OrderStatus.FILLED)
            return
        book = self._bids if buy else self._asks
        index = 0
        index = len(book)
        for position, other in enumerate(book):  # best price first, then time priority
            if other.limit < limit if buy else other.limit > limit:
                index = position
                break
        book.insert(index, order)

    def _affordable(self, price: Decimal) -> Decimal:
        """The most BTC (whole satoshis) that free USD buys at ``price`` with the taker fee."""
        free = self.usd - self.reserved_usd
        unit = EXACT.add(price, fee(price, self.taker_fee_bps))
        if free <= 0:
            return ZERO
        return FLOOR.divide(free, unit).quantize(BTC_STEP, rounding=ROUND_DOWN)

    def _fill(self, order: _SimOrder, price: Decimal, qty: Decimal, liquidity: Liquidity, ts: int) -> None:
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
        self._balances = None
        assert self.usd >= 0, "a fill overdrew USD: reservations are wrong"
        assert self.btc >= 0, "a fill overdrew BTC: reservations are wrong"
        for listener in self.listeners:
            listener.on_fill(fill, order.side)
        if order.filled == order.quantity:
            self._close(order, OrderStatus.FILLED)
        else:
            order.status = OrderStatus.PARTIAL

    def _close(self, order: _SimOrder, status: OrderStatus) -> None:
        if order.reserved:
            if order.side is _BUY:
                self.reserved_usd = EXACT.subtract(self.reserved_usd, order.reserved)
            else:
                self.reserved_btc = EXACT.subtract(self.reserved_btc, order.reserved)
            order.reserved = ZERO
        order.status = status
        order.view_cache = None
        self._balances = None
        book = self._bids if order.side is _BUY else self._asks
        if order in book:
            book.remove(order)
        view = order.view()
        for listener in self.listeners:
            listener.on_order_closed(view)
        self._closed.append(order.order_id)
        while len(self._closed) > self.keep_closed:
            self._orders.pop(self._closed.popleft(), None)

    def _cancel_now(self, order: _SimOrder) -> None:
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
