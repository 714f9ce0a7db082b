"""The order book alone: price-time priority, partial fills, cancels, trade price = resting price."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from botkit.sandbox.book import BookOrder, MatchingBook


def rest(book: MatchingBook[BookOrder], order_id: str, is_buy: bool, price: int, quantity: int) -> BookOrder:
    order = BookOrder(order_id, is_buy, price, quantity)
    assert not book.match(is_buy, price, 0)
    book.add(order)
    return order


def ids(fills: list[tuple[BookOrder, int]]) -> list[tuple[str, int, int]]:
    return [(o.order_id, o.price, q) for o, q in fills]


def test_best_price_first_then_oldest_first() -> None:
    book: MatchingBook[BookOrder] = MatchingBook()
    rest(book, "a1", False, 40100, 100)
    rest(book, "a2", False, 40000, 100)
    rest(book, "a3", False, 40000, 100)
    rest(book, "a4", False, 39900, 50)
    fills = book.match(True, 40100, 280)
    assert ids(fills) == [("a4", 39900, 50), ("a2", 40000, 100), ("a3", 40000, 100), ("a1", 40100, 30)]
    assert book.asks.depth() == [(40100, 70)]


def test_limit_stops_at_the_limit_price_and_trades_at_the_resting_price() -> None:
    book: MatchingBook[BookOrder] = MatchingBook()
    rest(book, "b1", True, 39900, 100)
    rest(book, "b2", True, 40000, 100)
    fills = book.match(False, 39950, 500)
    assert ids(fills) == [("b2", 40000, 100)]
    assert book.bids.depth() == [(39900, 100)]


def test_partial_fill_keeps_time_priority() -> None:
    book: MatchingBook[BookOrder] = MatchingBook()
    first = rest(book, "s1", False, 40000, 100)
    rest(book, "s2", False, 40000, 100)
    assert ids(book.match(True, None, 30)) == [("s1", 40000, 30)]
    assert first.remaining == 70
    assert first.live
    assert ids(book.match(True, None, 100)) == [("s1", 40000, 70), ("s2", 40000, 30)]
    assert not first.live


def test_cancel_removes_quantity_at_once_and_empty_levels() -> None:
    book: MatchingBook[BookOrder] = MatchingBook()
    a = rest(book, "a", False, 40000, 100)
    b = rest(book, "b", False, 40000, 100)
    rest(book, "c", False, 40100, 100)
    assert book.cancel(a)
    assert not book.cancel(a)
    assert book.asks.depth() == [(40000, 100), (40100, 100)]
    assert book.cancel(b)
    assert book.asks.depth() == [(40100, 100)]
    assert book.asks.best_price() == 40100


def test_canceled_orders_are_skipped_by_matching() -> None:
    book: MatchingBook[BookOrder] = MatchingBook()
    orders = [rest(book, f"o{i}", True, 40000, 10) for i in range(40)]
    for order in orders[:-1]:
        book.cancel(order)
    assert book.bids.depth() == [(40000, 10)]
    assert ids(book.match(False, None, 100)) == [("o39", 40000, 10)]
    assert len(book.bids) == 0


def test_bids_are_highest_first_and_asks_lowest_first() -> None:
    book: MatchingBook[BookOrder] = MatchingBook()
    for i, price in enumerate([39000, 39500, 38000]):
        rest(book, f"b{i}", True, price, 1)
    for i, price in enumerate([41000, 40500, 42000]):
        rest(book, f"a{i}", False, price, 1)
    assert [p for p, _ in book.bids.depth()] == [39500, 39000, 38000]
    assert [p for p, _ in book.asks.depth()] == [40500, 41000, 42000]


operations = st.lists(
    st.tuples(
        st.sampled_from(["limit", "market", "cancel"]),
        st.booleans(),
        st.integers(39990, 40010),
        st.integers(1, 50),
        st.integers(0, 200),
    ),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_book_never_crosses_and_quantity_is_conserved(ops: list[tuple[str, bool, int, int, int]]) -> None:
    """Resting + traded quantity = submitted quantity, and the book is never crossed."""
    book: MatchingBook[BookOrder] = MatchingBook()
    resting: list[BookOrder] = []
    submitted = traded = canceled = 0
    for n, (kind, is_buy, price, quantity, pick) in enumerate(ops):
        if kind == "cancel":
            if resting:
                order = resting[pick % len(resting)]
                if order.live:
                    canceled += order.remaining
                    book.cancel(order)
            continue
        submitted += quantity
        fills = book.match(is_buy, price if kind == "limit" else None, quantity)
        for maker, q in fills:
            assert maker.is_buy != is_buy
            assert (maker.price <= price) if is_buy and kind == "limit" else True
            traded += 2 * q
        left = quantity - sum(q for _, q in fills)
        if kind == "limit" and left:
            order = BookOrder(f"o{n}", is_buy, price, left)
            book.add(order)
            resting.append(order)
        elif kind == "market":
            canceled += left
        bid, ask = book.bids.best_price(), book.asks.best_price()
        assert bid is None or ask is None or bid < ask
    on_book = sum(q for _, q in book.bids.depth()) + sum(q for _, q in book.asks.depth())
    assert on_book + traded + canceled == submitted
