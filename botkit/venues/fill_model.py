"""The simulator's fill model: when a simulated order reaches the venue and what it fills against.

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

Settlement (funds, reservations, fees) is :class:`botkit.venues.simulated.SimulatedVenue`'s;
this model decides the fills and hands each to ``_fill``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from functools import partial
from operator import itemgetter

from botkit.core.money import BTC_PLACES, EXACT, FLOOR, USD_PLACES, fee, units_to_decimal
from botkit.instrument import Instrument
from botkit.model import ZERO, Fill, Liquidity, Order, OrderStatus, OrderType, Side, Snapshot, TradeCursor

_BUY = Side.BUY


class SimOrder:
    """The venue's mutable record of one order; :meth:`view` is its immutable ``Order``."""

    __slots__ = (
        "arrived_ts",
        "created_ts",
        "fees",
        "filled",
        "fills",
        "limit",
        "limit_cents",
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
        cents = EXACT.scaleb(self.limit, USD_PLACES)
        self.limit_cents = int(cents) if cents == cents.to_integral_value() else -1
        """The price in whole cents, to compare with the store's integer prints (-1: off the cent grid)."""
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


def _below(price: Decimal, order: SimOrder) -> bool:
    """Whether a print at ``price`` is strictly through a resting bid."""
    return price < order.limit


def _above(price: Decimal, order: SimOrder) -> bool:
    """Whether a print at ``price`` is strictly through a resting ask."""
    return price > order.limit


def _below_in_cents(usd: int, btc: int, order: SimOrder) -> bool:
    """:func:`_below` for a print of ``usd`` 10^-10 USD for ``btc`` satoshis: its price in cents
    is ``usd / btc``, below ``L`` when ``usd < L × btc`` (no division, no Decimal)."""
    return usd < order.limit_cents * btc


def _above_in_cents(usd: int, btc: int, order: SimOrder) -> bool:
    """:func:`_above` for a print in the store's integers (see :func:`_below_in_cents`)."""
    return usd > order.limit_cents * btc


_STAMP = itemgetter(0)
"""A store trade row's time."""


class FillModel:
    """Taking on arrival, resting, and maker fills when the recorded market trades through."""

    usd: Decimal
    reserved_usd: Decimal
    taker_fee_bps: Decimal
    instrument: Instrument
    _bids: list[SimOrder]
    _asks: list[SimOrder]
    _finer_than_cents: int
    """Resting orders whose limit is not whole cents: while there are any, the market's moves are
    compared as Decimals, not as the store's integer cents (kept as orders rest and leave, not
    looked for at every snapshot)."""
    _consumed: dict[tuple[bool, Decimal], Decimal]
    _trades: TradeCursor
    _fill: Callable[[SimOrder, Decimal, Decimal, Liquidity, int], None]
    _close: Callable[[SimOrder, OrderStatus], None]

    def _market_moves(self, snapshot: Snapshot, ts: int) -> None:
        """Maker fills of the orders resting before this snapshot: book, then trades, through them."""
        maker = Liquidity.MAKER
        top_cents = getattr(snapshot, "top_cents", None)
        in_cents = False
        crossed_bid = crossed_ask = True
        if top_cents is not None and not self._finer_than_cents:
            # The store's best prices as integers: a Decimal only for a book that crosses.
            in_cents = True
            bid_cents, ask_cents = top_cents()
            crossed_bid = bool(ask_cents is not None and self._bids and self._bids[0].limit_cents > ask_cents)
            crossed_ask = bool(bid_cents is not None and self._asks and self._asks[0].limit_cents < bid_cents)
        best_ask = snapshot.best_ask if crossed_bid else None
        if best_ask is not None and self._bids and self._bids[0].limit > best_ask:
            for order in [o for o in self._bids if o.limit > best_ask and o.arrived_ts < ts]:
                self._fill(order, order.limit, order.remaining, maker, ts)
        best_bid = snapshot.best_bid if crossed_ask else None
        if best_bid is not None and self._asks and self._asks[0].limit < best_bid:
            for order in [o for o in self._asks if o.limit < best_bid and o.arrived_ts < ts]:
                self._fill(order, order.limit, order.remaining, maker, ts)
        if not (self._bids or self._asks):
            return
        # Trades older than an order's arrival never fill it, so while nothing rests the trade
        # lists need not be read at all.
        trade_units = getattr(snapshot, "trade_units", None)
        if trade_units is not None and in_cents:
            self._prints_through(trade_units())
            return
        for trade in self._trades.new_trades(snapshot):
            left = trade.quantity
            price = trade.price
            if self._bids and price < self._bids[0].limit:
                left = self._sweep(self._bids, left, trade.ts, partial(_below, price))
            if self._asks and price > self._asks[0].limit:
                self._sweep(self._asks, left, trade.ts, partial(_above, price))

    def _sweep(self, book: list[SimOrder], left: Decimal, ts: int, through: Callable[[SimOrder], bool]) -> Decimal:
        """Maker fills of one side's resting orders, best first, from one print of ``left`` BTC at
        ``ts``, while ``through(order)`` says the print is strictly through the order's price (an
        order that arrived after the print is passed over); what is left of the print."""
        maker = Liquidity.MAKER
        for order in list(book):
            if left <= 0 or not through(order):
                break
            if ts > order.arrived_ts:
                qty = min(left, order.remaining)
                self._fill(order, order.limit, qty, maker, ts)
                left -= qty
        return left

    def _prints_through(self, rows: Sequence[tuple[int, int, int, int]]) -> None:
        """The trade loop of :meth:`_market_moves` on the store's integers (ts, satoshis, 10^-10 USD, sold), newest
        first: a print's price is ``usd / btc`` cents, so it is below a limit of ``L`` cents when
        ``usd < L × btc``, decided without a division or a ``Trade``; the quantity becomes a
        ``Decimal`` only for a print that fills something (the same value ``Trade.quantity`` is)."""
        fresh = [rows[i] for i in self._trades.advance(map(_STAMP, rows))]
        fresh.reverse()
        for ts, btc, usd, _sold in fresh:
            left: Decimal | None = None
            bids = self._bids
            if bids and usd < bids[0].limit_cents * btc:
                left = self._sweep(bids, units_to_decimal(btc, BTC_PLACES), ts,
                                   partial(_below_in_cents, usd, btc))
            asks = self._asks
            if asks and usd > asks[0].limit_cents * btc:
                self._sweep(asks, units_to_decimal(btc, BTC_PLACES) if left is None else left, ts,
                            partial(_above_in_cents, usd, btc))

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

    def _arrive(self, order: SimOrder, snapshot: Snapshot, ts: int) -> None:
        """The order reaches the venue at this snapshot (time ``ts``): take what crosses, rest the rest."""
        order.arrived_ts = ts
        buy = order.side is _BUY
        limit = order.price
        if buy and limit is None:  # market buy: its estimate is released; funds are checked per level
            self.reserved_usd = EXACT.subtract(self.reserved_usd, order.reserved)
            order.reserved = ZERO
        # A limit that does not reach the best price takes nothing: the side's levels (a tuple of
        # Decimal levels built from the row, for a quote that rests) are not needed.
        best = snapshot.best_ask if buy else snapshot.best_bid
        crosses = limit is None or (best is not None and (best <= limit if buy else best >= limit))
        levels = (snapshot.book.asks if buy else snapshot.book.bids) if crosses else ()
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
        index = len(book)
        for position, other in enumerate(book):  # best price first, then time priority
            if other.limit < limit if buy else other.limit > limit:
                index = position
                break
        book.insert(index, order)
        if order.limit_cents < 0:
            self._finer_than_cents += 1

    def _affordable(self, price: Decimal) -> Decimal:
        """The most BTC (whole size increments of the instrument) that free USD buys at ``price``
        with the taker fee."""
        free = self.usd - self.reserved_usd
        unit = EXACT.add(price, fee(price, self.taker_fee_bps))
        if free <= 0:
            return ZERO
        step = self.instrument.size_increment
        return FLOOR.multiply(FLOOR.divide_int(FLOOR.divide(free, unit), step), step)
