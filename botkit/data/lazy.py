"""Snapshots that cost almost nothing until a strategy looks inside them.

A replay hands the engine up to a million snapshots of 20+20 book levels. Building 40
:class:`~botkit.model.BookLevel` values and 80 :class:`~decimal.Decimal` numbers for each one would
cost tens of microseconds a snapshot, yet most ticks only need the timestamp and the best prices.
The classes here are real :class:`~botkit.model.Snapshot` and :class:`~botkit.model.OrderBook`
values (``isinstance`` holds, every attribute and property is there, they compare equal to and hash
like eagerly built ones) whose ``ticker``, ``book``, ``trades``, ``bids`` and ``asks`` slots start
empty. The first read of an empty slot lands in ``__getattr__``, which builds the value from the
source (a decoded JSON line or a row of the fast store), stores it in the slot, and returns it; any
later read is a plain slot read. ``best_bid``/``best_ask``/``mid``/``spread`` are answered from the
source's top of book without building any level, once, then kept in slots of the same names.

Each source kind subclasses :class:`LazySnapshot` and :class:`LazyBook` and implements the few
``_build_*`` methods; the equality, hashing and ``repr`` are shared here so that a lazy value and an
eager one are interchangeable everywhere (the parity tests rely on it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botkit.core.money import BTC_PLACES, TENTHS, USD_PLACES, mul, units_to_decimal
from botkit.model import BookLevel, OrderBook, Side, Snapshot, Ticker, Trade

_new = object.__new__
_set = object.__setattr__

_PRICES: dict[int, Decimal] = {}
"""The Decimal of each integer price in cents seen lately (:func:`cents`; :func:`cents_levels`
looks here first, inline, and calls :func:`cents` only on a miss)."""
_QUANTITIES: dict[int, Decimal] = {}
"""The same for quantities in satoshis (:func:`satoshis`)."""
_CACHE_LIMIT = 1 << 16


def units_text(units: int, decimals: int) -> str:
    """The shortest JSON number text of ``units`` × 10^-``decimals`` (``40410, 2`` → ``404.1``)."""
    if not decimals:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    if not frac:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:0{decimals}d}".rstrip("0")


def cents(value: int) -> Decimal:
    """Integer cents → exact USD Decimal, memoized: book prices repeat from one snapshot to the next."""
    dec = _PRICES.get(value)
    if dec is None:
        if len(_PRICES) >= _CACHE_LIMIT:
            _PRICES.clear()
        dec = _PRICES[value] = units_to_decimal(value, USD_PLACES)
    return dec


def satoshis(value: int) -> Decimal:
    """Integer satoshis → exact BTC Decimal, memoized like :func:`cents`."""
    dec = _QUANTITIES.get(value)
    if dec is None:
        if len(_QUANTITIES) >= _CACHE_LIMIT:
            _QUANTITIES.clear()
        dec = _QUANTITIES[value] = units_to_decimal(value, BTC_PLACES)
    return dec


_TOP = ("best_bid", "best_ask")
_SNAPSHOT_TOP = (*_TOP, "mid", "spread")
_MID_SPREAD = frozenset(_SNAPSHOT_TOP[2:])


class LazyBook(OrderBook):
    """An :class:`OrderBook` whose level tuples are built on first access.

    ``best_bid`` and ``best_ask`` are slots here (shadowing the base class's properties), filled
    from the source's top of book by :meth:`_top` on first access without building any level.
    Subclasses implement :meth:`_top` and :meth:`_build_side`.
    """

    __slots__ = _TOP

    def _top(self) -> tuple[Decimal | None, Decimal | None]:
        raise NotImplementedError

    def _build_side(self, bids: bool) -> tuple[BookLevel, ...]:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        # Only reached when the slot is still empty (or the attribute does not exist at all).
        if name == "bids":
            value: Any = self._build_side(True)
        elif name == "asks":
            value = self._build_side(False)
        elif name in _TOP:
            bid, ask = self._top()
            _set(self, "best_bid", bid)
            _set(self, "best_ask", ask)
            return bid if name == "best_bid" else ask
        else:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        _set(self, name, value)
        return value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, OrderBook):
            return self.bids == other.bids and self.asks == other.asks
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.bids, self.asks))

    def __repr__(self) -> str:
        return f"OrderBook(bids={self.bids!r}, asks={self.asks!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (OrderBook, (self.bids, self.asks))


class LazySnapshot(Snapshot):
    """A :class:`Snapshot` whose ticker, book and trades are built on first access.

    ``ts`` is always set. ``best_bid``, ``best_ask``, ``mid`` and ``spread`` are slots (shadowing
    the base class's properties, with the same values) filled on the first read from the source's
    top of book, the mid with the spread and the bid with the ask (a reader may also fill them as
    it makes the snapshot), so the engine, the venue and the metrics reading them several times a
    tick pay once. Subclasses implement :meth:`_top` and the ``_build_*`` methods.
    """

    __slots__ = _SNAPSHOT_TOP

    def _top(self) -> tuple[Decimal | None, Decimal | None]:
        raise NotImplementedError

    def _mid_spread(self) -> tuple[Decimal | None, Decimal | None]:
        """Mid and spread, as the eager :class:`Snapshot` computes them from its best prices (a
        source that holds integers may compute the same Decimals without building the prices)."""
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return None, None
        return (bid + ask) / 2, ask - bid

    def _build_ticker(self) -> Ticker:
        raise NotImplementedError

    def _build_book(self) -> OrderBook:
        raise NotImplementedError

    def _build_trades(self) -> tuple[Trade, ...]:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        if name in _MID_SPREAD:  # first: the engine reads the mid of every snapshot
            mid, spread = self._mid_spread()
            _set(self, "mid", mid)
            _set(self, "spread", spread)
            return mid if name == "mid" else spread
        if name in _TOP:  # then: strategies read the best prices of most snapshots
            bid, ask = self._top()
            _set(self, "best_bid", bid)
            _set(self, "best_ask", ask)
            return bid if name == "best_bid" else ask
        if name == "book":
            value: Any = self._build_book()
        elif name == "ticker":
            value = self._build_ticker()
        elif name == "trades":
            value = self._build_trades()
        else:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        _set(self, name, value)
        return value

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Snapshot):
            return (
                self.ts == other.ts
                and self.ticker == other.ticker
                and self.book == other.book
                and self.trades == other.trades
            )
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.ts, self.ticker, self.book, self.trades))

    def __repr__(self) -> str:
        return (
            f"Snapshot(ts={self.ts!r}, ticker={self.ticker!r}, book={self.book!r}, "
            f"trades={self.trades!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (Snapshot, (self.ts, self.ticker, OrderBook(self.book.bids, self.book.asks), self.trades))


def cents_mid_spread(bid: int, ask: int) -> tuple[Decimal, Decimal]:
    """``(cents(bid) + cents(ask)) / 2`` and ``cents(ask) - cents(bid)``, the very Decimals
    (digits and exponent) that arithmetic gives, from the integers alone: a backtest reads the mid
    of every snapshot, and building the two prices first was most of what a quiet tick cost.

    :func:`cents` drops up to two trailing zeros, so each price's exponent is -2, -1 or 0; a sum or
    difference takes the smaller exponent; halving an even coefficient keeps it, an odd one's half
    needs one more digit (``808.3 / 2 = 404.15``).
    """
    zeros_bid = 0 if bid % 10 else (1 if bid % 100 else 2)
    zeros_ask = 0 if ask % 10 else (1 if ask % 100 else 2)
    zeros = zeros_bid if zeros_bid < zeros_ask else zeros_ask
    scale = _SCALES[zeros]
    total = (bid + ask) // scale
    if total & 1:
        mid = mul(Decimal(total * 5), TENTHS[USD_PLACES + 1 - zeros])
    else:
        mid = mul(Decimal(total >> 1), TENTHS[USD_PLACES - zeros])
    return mid, spread_of_key((ask - bid) // scale * 4 + zeros)


def spread_of_key(key: int) -> Decimal:
    """The spread of coefficient ``key // 4`` and ``key % 4`` trailing zeros dropped (the key
    :func:`cents_mid_spread` files it under: zeros < 4), from the cache or made and kept."""
    spread = _SPREADS.get(key)
    if spread is None:
        if len(_SPREADS) >= _CACHE_LIMIT:
            _SPREADS.clear()
        gap, zeros = divmod(key, 4)
        spread = _SPREADS[key] = mul(Decimal(gap), TENTHS[USD_PLACES - zeros])
    return spread


_SCALES = (1, 10, 100)
_SPREADS: dict[int, Decimal] = {}
"""The spreads met lately, keyed by their coefficient and exponent: a market has a handful of
them (the mids, which change with every move, are not worth a cache)."""


def trade_amounts(snapshot: Snapshot) -> list[tuple[int, Decimal, Decimal, Side]]:
    """The snapshot's trades as (ts, BTC, USD, taker side), newest first, exact where recorded.

    Lazy snapshots answer from the recorded amounts; an eager snapshot's USD amount is
    ``price × quantity`` (exact whenever the recorded price was).
    """
    amounts = getattr(snapshot, "trade_amounts", None)
    if amounts is not None:
        result: list[tuple[int, Decimal, Decimal, Side]] = amounts()
        return result
    return [(t.ts, t.quantity, t.price * t.quantity, t.taker_side) for t in snapshot.trades]


_new_object = object.__new__
_set_level_price = vars(BookLevel)["price"].__set__  # the slots' descriptors
_set_level_quantity = vars(BookLevel)["quantity"].__set__


def book_level(price: Decimal, quantity: Decimal) -> BookLevel:
    """``BookLevel(price, quantity)`` for readers that build thousands of levels a second: the same
    frozen value, set through its slots instead of the dataclass's ``object.__setattr__`` per
    field (0.3 µs instead of 0.7). The caller has checked the values."""
    level: BookLevel = _new_object(BookLevel)
    _set_level_price(level, price)
    _set_level_quantity(level, quantity)
    return level


def cents_levels(prices: list[int], quantities: list[int]) -> tuple[BookLevel, ...]:
    """The levels of integer prices in cents and quantities in satoshis, each number looked up in
    its cache first: what :func:`book_level` does, inlined, for a reader building every level of
    every snapshot (a strategy reading the whole book)."""
    price_of, quantity_of = _PRICES.get, _QUANTITIES.get
    if len(_QUANTITIES) >= _CACHE_LIMIT - len(quantities):
        _QUANTITIES.clear()
    levels: list[BookLevel] = []
    append = levels.append
    for units, quantity_units in zip(prices, quantities, strict=True):
        price = price_of(units)
        if price is None:
            price = cents(units)
        quantity = quantity_of(quantity_units)
        if quantity is None:  # quantities change more often than prices: no call on a miss
            quantity = _QUANTITIES[quantity_units] = units_to_decimal(quantity_units, BTC_PLACES)
        level: BookLevel = _new_object(BookLevel)
        _set_level_price(level, price)
        _set_level_quantity(level, quantity)
        append(level)
    return tuple(levels)
