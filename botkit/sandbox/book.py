"""The BTC_USD order book: price levels in price-time priority, in integer cents and satoshis.

Each side keeps a dict from price to :class:`PriceLevel` plus a sorted list of priority keys
(``-price`` for bids, ``price`` for asks), so the best level is always ``keys[0]`` and a new
level is one ``bisect.insort``. A level is a FIFO of orders: time priority is queue order.

Cancels are lazy: a canceled order is marked dead and its quantity leaves the level total at
once, but it stays in the queue until matching reaches it or the level is compacted. That keeps
a cancel OrderT(1) however deep the queue is. A level whose live total reaches zero is removed.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterator
from typing import Generic, TypeVar


class BookOrder:
    """What the book needs to know about a resting order; the exchange's record extends it."""

    __slots__ = ("is_buy", "live", "order_id", "price", "remaining")

    def __init__(self, order_id: str, is_buy: bool, price: int, remaining: int) -> None:
        self.order_id = order_id
        self.is_buy = is_buy
        self.price = price
        self.remaining = remaining
        self.live = False


OrderT = TypeVar("OrderT", bound=BookOrder)


class PriceLevel(Generic[OrderT]):
    """All resting orders at one price, oldest first; ``total`` counts only live quantity."""

    __slots__ = ("dead", "orders", "price", "total")

    def __init__(self, price: int) -> None:
        self.price = price
        self.orders: deque[OrderT] = deque()
        self.total = 0
        self.dead = 0

    def live_orders(self) -> Iterator[OrderT]:
        return (order for order in self.orders if order.live)

    def compact(self) -> None:
        """Drop dead entries once they outnumber live ones, so memory tracks the live book."""
        self.orders = deque(order for order in self.orders if order.live)
        self.dead = 0


class BookSide(Generic[OrderT]):
    """One side of the book. ``keys`` is sorted best first."""

    __slots__ = ("is_bid", "keys", "levels")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.levels: dict[int, PriceLevel[OrderT]] = {}
        self.keys: list[int] = []

    def __len__(self) -> int:
        return len(self.keys)

    def best(self) -> PriceLevel[OrderT] | None:
        if not self.keys:
            return None
        key = self.keys[0]
        return self.levels[-key if self.is_bid else key]

    def best_price(self) -> int | None:
        if not self.keys:
            return None
        key = self.keys[0]
        return -key if self.is_bid else key

    def add(self, order: OrderT) -> None:
        level = self.levels.get(order.price)
        if level is None:
            level = PriceLevel(order.price)
            self.levels[order.price] = level
            insort(self.keys, -order.price if self.is_bid else order.price)
        level.orders.append(order)
        level.total += order.remaining
        order.live = True

    def drop_level(self, price: int) -> None:
        del self.levels[price]
        key = -price if self.is_bid else price
        index = bisect_left(self.keys, key)
        del self.keys[index]

    def cancel(self, order: OrderT) -> None:
        level = self.levels[order.price]
        order.live = False
        level.total -= order.remaining
        if level.total == 0:
            self.drop_level(order.price)
            return
        level.dead += 1
        if level.dead > 16 and level.dead > len(level.orders) // 2:
            level.compact()

    def depth(self) -> list[tuple[int, int]]:
        """``(price, live quantity)`` per level, best first."""
        sign = -1 if self.is_bid else 1
        levels = self.levels
        return [(sign * key, levels[sign * key].total) for key in self.keys]

    def orders(self) -> Iterator[OrderT]:
        """Every live order, best level first, oldest first within a level."""
        sign = -1 if self.is_bid else 1
        for key in list(self.keys):
            yield from self.levels[sign * key].live_orders()


class MatchingBook(Generic[OrderT]):
    """Both sides, and the one matching loop (trades execute at the resting order's price)."""

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: BookSide[OrderT] = BookSide(is_bid=True)
        self.asks: BookSide[OrderT] = BookSide(is_bid=False)

    def side(self, is_buy: bool) -> BookSide[OrderT]:
        return self.bids if is_buy else self.asks

    def add(self, order: OrderT) -> None:
        """Rest ``order`` (it must not cross: call :meth:`match` first)."""
        (self.bids if order.is_buy else self.asks).add(order)

    def cancel(self, order: OrderT) -> bool:
        """Take a resting order out; False when it is no longer resting."""
        if not order.live:
            return False
        (self.bids if order.is_buy else self.asks).cancel(order)
        return True

    def match(self, is_buy: bool, limit: int | None, quantity: int) -> list[tuple[OrderT, int]]:
        """Take up to ``quantity`` from the opposite side at prices no worse than ``limit``.

        Returns ``(resting order, quantity)`` pairs in execution order; each resting order's
        ``remaining`` is already reduced and a fully filled one is no longer live. The fill
        price is the resting order's ``price``.
        """
        opposite = self.asks if is_buy else self.bids
        keys = opposite.keys
        levels = opposite.levels
        sign = 1 if is_buy else -1
        bound = None if limit is None else sign * limit
        fills: list[tuple[OrderT, int]] = []
        while quantity and keys:
            key = keys[0]
            if bound is not None and key > bound:
                break
            level = levels[sign * key]
            queue = level.orders
            while quantity and queue:
                order = queue[0]
                if not order.live:
                    queue.popleft()
                    level.dead -= 1
                    continue
                take = order.remaining if order.remaining < quantity else quantity
                order.remaining -= take
                level.total -= take
                quantity -= take
                fills.append((order, take))
                if not order.remaining:
                    order.live = False
                    queue.popleft()
            if not level.total:  # only dead entries can be left in the queue
                del levels[sign * key]
                del keys[0]
        return fills
