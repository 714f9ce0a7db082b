"""The simulated venue's fill model, with every outcome computed by hand in the comments."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from itertools import pairwise

import pytest

from botkit.core.errors import OrderRejected
from botkit.model import (
    BookLevel,
    Fill,
    Liquidity,
    Order,
    OrderBook,
    OrderStatus,
    OrderType,
    Side,
    Snapshot,
    Ticker,
    Trade,
)
from botkit.venues.port import Venue
from botkit.venues.simulated import SimulatedVenue

D = Decimal
BUY, SELL = Side.BUY, Side.SELL


def snap(
    ts: int,
    bids: Sequence[tuple[str, str]] = (("99", "5"),),
    asks: Sequence[tuple[str, str]] = (("100", "1"), ("100.5", "2"), ("101", "5")),
    trades: Sequence[tuple[int, str, str, Side]] = (),
) -> Snapshot:
    book = OrderBook(
        bids=tuple(BookLevel(D(p), D(q)) for p, q in bids),
        asks=tuple(BookLevel(D(p), D(q)) for p, q in asks),
    )
    bid = book.best_bid or D(0)
    ask = book.best_ask or D(0)
    return Snapshot(
        ts=ts,
        ticker=Ticker(last=bid, bid=bid, ask=ask),
        book=book,
        trades=tuple(Trade(t, D(p), D(q), side) for t, p, q, side in trades),
    )


def venue(usd: str = "10000", btc: str = "0", maker: str = "0", taker: str = "10", latency: int = 0) -> SimulatedVenue:
    return SimulatedVenue({"USD": D(usd), "BTC": D(btc)}, D(maker), D(taker), latency_ms=latency)


class Recorder:
    def __init__(self) -> None:
        self.fills: list[tuple[Fill, Side]] = []
        self.closed: list[Order] = []

    def on_fill(self, fill: Fill, side: Side) -> None:
        self.fills.append((fill, side))

    def on_order_closed(self, order: Order) -> None:
        self.closed.append(order)


def test_it_is_a_venue() -> None:
    assert isinstance(venue(), Venue)


def test_a_crossing_limit_walks_two_levels_as_taker() -> None:
    v = venue()
    v.observe(snap(1000))
    order_id = v.place_order(BUY, D("2.5"), D("100.5"))
    assert order_id == "sim-000001"
    order = v.order(order_id)
    # 1 @ 100 and 1.5 @ 100.5: notional 100 + 150.75 = 250.75
    assert [(f.price, f.quantity, f.liquidity, f.seq) for f in order.fills] == [
        (D("100"), D("1"), Liquidity.TAKER, 0),
        (D("100.5"), D("1.5"), Liquidity.TAKER, 1),
    ]
    # fees at 10 bps: 0.1 + 0.15075 = 0.25075, exact
    assert [f.fee for f in order.fills] == [D("0.1"), D("0.15075")]
    assert order.fees == D("0.25075")
    assert order.status is OrderStatus.FILLED
    assert order.average_price == D("250.75") / D("2.5")
    # USD: 10000 - 250.75 - 0.25075 = 9748.99925
    assert v.balances().usd == D("9748.99925")
    assert v.balances().btc == D("2.5")
    assert v.reserved_usd == 0


def test_a_partial_fill_rests_the_rest_with_its_funds_reserved() -> None:
    v = venue()
    v.observe(snap(1000))
    order_id = v.place_order(BUY, D("5"), D("100.5"))
    order = v.order(order_id)
    assert order.filled == D("3")  # 1 @ 100 + 2 @ 100.5
    assert order.status is OrderStatus.PARTIAL
    # the rest (2) reserves 100.5 x (1 + 10/10000) = 100.6005 a BTC: 201.201 USD
    assert v.reserved_usd == D("201.201")
    assert [o.order_id for o in v.open_orders()] == [order_id]
    v.cancel_order(order_id)
    assert v.order(order_id).status is OrderStatus.CANCELED
    assert v.order(order_id).filled == D("3")
    assert v.reserved_usd == 0
    with pytest.raises(OrderRejected):
        v.cancel_order(order_id)


def test_a_resting_bid_fills_at_its_own_price_when_trades_print_through_it() -> None:
    v = venue(maker="2")
    v.observe(snap(1000))
    order_id = v.place_order(BUY, D("1"), D("99.5"))
    assert v.order(order_id).filled == 0  # best ask 100 does not cross 99.5
    # a print at 99.5 itself does not fill (queue position unknown); one at 99 for 0.4 does
    v.observe(snap(2000, trades=[(1900, "99", "0.4", SELL), (1800, "99.5", "3", SELL)]))
    order = v.order(order_id)
    assert [(f.price, f.quantity, f.liquidity, f.ts) for f in order.fills] == [
        (D("99.5"), D("0.4"), Liquidity.MAKER, 1900)
    ]
    # maker fee 2 bps of 39.8 = 0.00796
    assert order.fills[0].fee == D("0.00796")
    # the same trades again in the next poll are not new: no second fill
    v.observe(snap(3000, trades=[(1900, "99", "0.4", SELL), (1800, "99.5", "3", SELL)]))
    assert v.order(order_id).filled == D("0.4")
    # the book trades through (best ask 99.4 < 99.5): the whole rest fills at 99.5
    v.observe(snap(4000, bids=[("99", "1")], asks=[("99.4", "0.1")]))
    order = v.order(order_id)
    assert order.status is OrderStatus.FILLED
    assert [(f.price, f.quantity, f.ts, f.seq) for f in order.fills[1:]] == [(D("99.5"), D("0.6"), 4000, 1)]


def test_trades_before_the_order_arrived_do_not_fill_it() -> None:
    v = venue()
    v.observe(snap(1000, trades=[(900, "90", "5", SELL)]))
    order_id = v.place_order(BUY, D("1"), D("99.5"))
    v.observe(snap(2000, trades=[(900, "90", "5", SELL)]))
    assert v.order(order_id).filled == 0


def test_a_resting_ask_fills_when_the_best_bid_rises_above_it() -> None:
    v = venue(btc="2")
    v.observe(snap(1000))
    order_id = v.place_order(SELL, D("2"), D("100.25"))
    assert v.order(order_id).filled == 0
    assert v.reserved_btc == 2
    v.observe(snap(2000, bids=[("100.3", "0.1")], asks=[("100.4", "1")]))
    order = v.order(order_id)
    assert order.status is OrderStatus.FILLED
    assert order.fills[0].price == D("100.25")
    assert v.balances().usd == D("10000") + D("200.5")  # maker fee 0
    assert v.reserved_btc == 0


def test_liquidity_taken_in_one_snapshot_is_not_reused_by_another_order() -> None:
    v = venue(taker="0")
    v.observe(snap(1000))
    first = v.order(v.place_order(BUY, D("1"), D("100")))
    second = v.order(v.place_order(BUY, D("1"), D("100")))
    assert first.filled == 1
    assert second.filled == 0  # the 1 BTC at 100 is gone
    third = v.order(v.place_order(BUY, D("1"), D("100.5")))
    assert [(f.price, f.quantity) for f in third.fills] == [(D("100.5"), D("1"))]
    # the next snapshot brings the recorded book back; the resting bid at 100 is at the ask,
    # not through it, so it does not fill; a new order takes the level again
    v.observe(snap(2000))
    assert v.order(second.order_id).filled == 0
    assert v.order(v.place_order(BUY, D("1"), D("100"))).filled == 1


def test_latency_delays_placement_and_cancel() -> None:
    v = venue(latency=500)
    v.observe(snap(1000))
    order_id = v.place_order(BUY, D("1"), D("100"))  # sent at 1000, arrives at the first ts >= 1500
    assert v.order(order_id).filled == 0
    assert v.order(order_id).created_ts == 1000
    v.observe(snap(1400))  # 1400 < 1500: still travelling, though it would cross
    assert v.order(order_id).filled == 0
    v.observe(snap(1500, asks=[("100.5", "1")]))  # arrives, does not cross: rests
    assert v.order(order_id).filled == 0
    v.cancel_order(order_id)  # sent at 1500, arrives at 2000
    v.observe(snap(1800, asks=[("99.9", "1")]))  # trades through the bid before the cancel lands
    order = v.order(order_id)
    assert order.status is OrderStatus.FILLED
    assert (order.fills[0].price, order.fills[0].ts, order.fills[0].liquidity) == (D("100"), 1800, Liquidity.MAKER)
    v.observe(snap(2000))  # the cancel arrives to a filled order: nothing happens
    assert v.order(order_id).status is OrderStatus.FILLED


def test_latency_cancel_arrives_before_a_fill() -> None:
    v = venue(latency=100)
    v.observe(snap(1000))
    order_id = v.place_order(BUY, D("1"), D("99.5"))
    v.observe(snap(1100))
    v.cancel_order(order_id)
    v.observe(snap(1200))
    assert v.order(order_id).status is OrderStatus.CANCELED
    v.observe(snap(1300, asks=[("99", "1")]))
    assert v.order(order_id).filled == 0
    assert v.reserved_usd == 0


def test_market_orders_walk_the_book_and_cancel_what_it_cannot_fill() -> None:
    v = venue(btc="10", taker="0")
    v.observe(snap(1000, bids=[("99", "1"), ("98", "2")]))
    sell = v.order(v.place_order(SELL, D("4"), None))
    assert sell.order_type is OrderType.MARKET
    assert [(f.price, f.quantity) for f in sell.fills] == [(D("99"), D("1")), (D("98"), D("2"))]
    assert sell.status is OrderStatus.CANCELED  # 1 BTC found no bid
    assert v.reserved_btc == 0
    buy = v.order(v.place_order(BUY, D("1.5"), None))  # quantity in BTC
    assert [(f.price, f.quantity) for f in buy.fills] == [(D("100"), D("1")), (D("100.5"), D("0.5"))]
    assert buy.status is OrderStatus.FILLED
    assert v.balances().btc == D("10") - 3 + D("1.5")


def test_a_market_buy_fills_only_what_the_funds_cover_when_it_arrives() -> None:
    v = venue(usd="150", taker="0", latency=10)
    v.observe(snap(1000))
    order_id = v.place_order(BUY, D("1"), None)  # costs 100 now: accepted
    v.observe(snap(1010, asks=[("120", "1"), ("200", "5")]))
    order = v.order(order_id)
    assert order.filled == 1  # 120 <= 150
    v2 = venue(usd="150", taker="0", latency=10)
    v2.observe(snap(1000))
    order_id = v2.place_order(BUY, D("1"), None)
    v2.observe(snap(1010, asks=[("200", "5")]))
    order = v2.order(order_id)
    assert order.filled == D("0.75")  # 150 / 200
    assert order.status is OrderStatus.CANCELED
    assert v2.balances().usd == 0


def test_orders_the_funds_cannot_cover_are_refused() -> None:
    v = venue(usd="100", btc="1")
    v.observe(snap(1000))
    with pytest.raises(OrderRejected, match="insufficient funds") as info:
        v.place_order(BUY, D("1"), D("99.95"))  # 99.95 x 1.001 = 100.04995 > 100
    assert info.value.code == "insufficient_funds"
    v.place_order(BUY, D("1"), D("99.9"))  # 99.9999 reserved
    with pytest.raises(OrderRejected):
        v.place_order(BUY, D("0.01"), D("90"))  # 0.0001 USD left
    v.place_order(SELL, D("0.6"), D("120"))
    with pytest.raises(OrderRejected):
        v.place_order(SELL, D("0.5"), D("120"))  # 0.4 BTC free
    with pytest.raises(OrderRejected):
        v.place_order(BUY, D("2"), None)  # 200.5 + fee needed
    assert v.orders_placed == 2


def test_bad_requests_are_refused() -> None:
    v = venue()
    with pytest.raises(OrderRejected, match="no market data"):
        v.place_order(BUY, D("1"), D("100"))
    v.observe(snap(1000))
    for quantity, price in [(D("0"), D("1")), (D("1"), D("0")), (D("0.000000001"), D("1")), (D("1"), D("1.001"))]:
        with pytest.raises(OrderRejected):
            v.place_order(BUY, quantity, price)
    with pytest.raises(OrderRejected, match="not found"):
        v.cancel_order("nope")
    with pytest.raises(OrderRejected, match="not found"):
        v.order("nope")


def test_fees_are_exact_and_never_rounded() -> None:
    v = venue(taker="7.5")
    v.observe(snap(1000, asks=[("123.45", "1")]))
    fill = v.order(v.place_order(BUY, D("0.12345678"), D("123.45"))).fills[0]
    # 123.45 x 0.12345678 = 12.345678 + 2.4691356 + 0.37037034 + 0.055555551 = 15.240739491
    # x 7.5 / 10000 = 0.01143055461825
    assert fill.notional == D("15.240739491")
    assert fill.fee == D("0.01143055461825")
    assert v.balances().usd == D("9984.74782995438175")


def test_reading_orders_like_the_live_venue() -> None:
    v = venue()
    recorder = Recorder()
    v.listeners.append(recorder)
    v.observe(snap(1000))
    a = v.place_order(BUY, D("1"), D("99"))
    v.observe(snap(2000))
    b = v.place_order(BUY, D("1"), D("100"))
    assert [o.order_id for o in v.orders_since(0)] == [b, a]  # newest first
    assert [o.order_id for o in v.orders_since(2000)] == [b]
    assert [o.order_id for o in v.open_orders()] == [a]
    assert [o.order_id for o in v.orders([a, "unknown", b])] == [a, b]
    assert v.orders([a])[0] is v.orders([a])[0]  # unchanged orders are not rebuilt
    assert [(f.order_id, side) for f, side in recorder.fills] == [(b, BUY)]
    assert [o.order_id for o in recorder.closed] == [b]
    assert v.balances() is v.balances()


def test_the_clock_never_goes_back() -> None:
    v = venue(latency=100)
    v.observe(snap(1000))
    order_id = v.place_order(BUY, D("1"), D("100"))  # arrives at 1100
    v.observe(snap(900))  # a wall clock stepped back: the venue's time stays at 1000
    assert v.now == 1000
    assert v.order(order_id).filled == 0
    v.observe(snap(1100))
    assert v.order(order_id).filled == 1


def test_lazy_snapshots_and_eager_ones_fill_the_same(tmp_path: object) -> None:
    from pathlib import Path

    from botkit.data import JsonlWriter, convert, open_snapshots

    path = Path(str(tmp_path)) / "s.jsonl"
    eager = [
        snap(1000),
        snap(2000, trades=[(1900, "99", "0.4", SELL)]),
        snap(3000, bids=[("99", "1")], asks=[("99.4", "0.1")]),
    ]
    with JsonlWriter(path) as writer:
        for s in eager:
            writer.write(s)
    convert(path, Path(str(tmp_path)) / "s.bks")

    def run(snapshots: Sequence[Snapshot]) -> list[Order]:
        v = venue(maker="1")
        for i, s in enumerate(snapshots):
            v.observe(s)
            if i == 0:
                v.place_order(BUY, D("1"), D("99.5"))
        return list(v.orders_since(0))

    expected = run(eager)
    assert expected[0].status is OrderStatus.FILLED
    assert run(list(open_snapshots(path))) == expected
    assert run(list(open_snapshots(Path(str(tmp_path)) / "s.bks"))) == expected


def test_a_snapshot_lists_its_trades_newest_first_down_to_since() -> None:
    """What the simulator asks of any snapshot (eager, or read lazily from a file)."""
    trades = tuple(Trade(ts, D("400"), D("0.1"), Side.BUY) for ts in (30, 20, 10))
    snapshot = Snapshot(40, Ticker(D("400"), D("399"), D("401")), OrderBook((), ()), trades)
    assert [t.ts for t in snapshot.iter_trades()] == [30, 20, 10]
    assert [t.ts for t in snapshot.iter_trades(20)] == [30, 20]
    assert list(snapshot.iter_trades(31)) == []


@pytest.mark.parametrize("latency", [0, 1500])
def test_prints_read_from_the_stores_integers_fill_as_trades_do(tmp_path: object, latency: int) -> None:
    """The store's snapshots are filled from their integer prints (no Trade built), JSON Lines
    and eager snapshots from Trade values: a seeded market with quotes resting near the top of
    the book, re-quoted and cancelled as it moves, fills the same orders, at the same times, for
    the same quantities, whichever it is read from."""
    from pathlib import Path

    from botkit.data import convert, generate, open_snapshots

    store = Path(str(tmp_path)) / "m.bks"
    generate(store, 3000, levels=3, seed=11, interval_ms=700, trades_kept=6, trade_rate=2.0)
    convert(store, Path(str(tmp_path)) / "m.jsonl")

    def eager(s: Snapshot) -> Snapshot:
        return Snapshot(s.ts, s.ticker, OrderBook(s.book.bids, s.book.asks), s.trades)

    def run(snapshots: Sequence[Snapshot]) -> tuple[list[Order], D, D]:
        v = venue(usd="100000000", btc="10000", maker="1", latency=latency)
        for i, s in enumerate(snapshots):
            v.observe(s)
            if i % 7 == 0 and s.best_bid is not None and s.best_ask is not None:
                for order in v.open_orders():
                    v.cancel_order(order.order_id)
                inside = D(i % 5) / 100
                for below in (D(0), D("0.01"), D("0.03")):  # several resting: a print fills them in price order
                    v.place_order(BUY, D("3"), s.best_bid - inside - below)
                    v.place_order(SELL, D("2"), s.best_ask + inside + below)
        return list(v.orders_since(0)), v.usd, v.btc

    lazy = list(open_snapshots(store))
    expected = run([eager(s) for s in lazy])
    assert sum(len(o.fills) for o in expected[0]) > 100  # the case is not empty
    times = {s.ts for s in lazy}
    assert any(f.ts not in times for o in expected[0] for f in o.fills)  # prints filled some, at their times
    assert run(lazy) == expected
    assert run(list(open_snapshots(Path(str(tmp_path)) / "m.jsonl"))) == expected


def test_a_print_at_a_resting_price_does_not_fill_it_from_any_source(tmp_path: object) -> None:
    """A print fills the resting orders strictly through its price, best first, and stops at one
    *at* its price; the same from the store's integers as from ``Trade`` values."""
    from pathlib import Path

    from botkit.data import JsonlWriter, convert, open_snapshots

    path = Path(str(tmp_path)) / "p.jsonl"
    eager = [
        snap(1000, bids=[("98", "5")], asks=[("101", "5")]),
        snap(2000, bids=[("98", "5")], asks=[("101", "5")],
             trades=[(1950, "99.5", "0.25", SELL), (1900, "99.99", "3", SELL)]),
        snap(3000, bids=[("98", "5")], asks=[("101", "5")], trades=[(2500, "100.01", "1", BUY)]),
    ]
    with JsonlWriter(path) as writer:
        for s in eager:
            writer.write(s)
    convert(path, Path(str(tmp_path)) / "p.bks")

    def run(snapshots: Sequence[Snapshot]) -> list[tuple[str, D, int]]:
        v = venue(usd="100000", btc="10", maker="1")
        for i, s in enumerate(snapshots):
            v.observe(s)
            if i == 0:
                v.place_order(BUY, D("1"), D("100"))
                v.place_order(BUY, D("1"), D("99.99"))
                v.place_order(BUY, D("1"), D("99.6"))
                v.place_order(SELL, D("1"), D("100.01"))
        return [(o.order_id, f.quantity, f.ts) for o in v.orders_since(0) for f in o.fills]

    expected = run(eager)
    # 99.99 × 3 fills the 100 bid only (at its price the 99.99 bid is not filled); 99.5 × 0.25
    # then fills the 99.99 bid, before the 99.6 one; the buy print at 100.01 fills no ask at 100.01.
    assert sorted(expected) == [("sim-000001", D("1"), 1900), ("sim-000002", D("0.25"), 1950)]
    assert run(list(open_snapshots(Path(str(tmp_path)) / "p.bks"))) == expected
    assert run(list(open_snapshots(path))) == expected


def test_order_revision_moves_with_every_order_change_and_only_then() -> None:
    """What lets the engine skip reading orders back on a tick where none changed."""
    v = venue(usd="100000", btc="10", latency=100)
    v.observe(snap(1000))
    seen = [v.order_revision]
    order_id = v.place_order(BUY, D("1"), D("98"))  # travelling: placed, not arrived
    seen.append(v.order_revision)
    v.observe(snap(1050))  # nothing arrives, nothing trades
    seen.append(v.order_revision)
    v.observe(snap(1100))  # arrives and rests: no change an order view shows
    seen.append(v.order_revision)
    v.observe(snap(2000, trades=[(1900, "97.5", "0.25", SELL)]))  # a print fills a quarter
    seen.append(v.order_revision)
    v.cancel_order(order_id)  # sent, still open until it arrives
    seen.append(v.order_revision)
    v.observe(snap(2100))  # the cancel arrives
    seen.append(v.order_revision)
    assert v.order(order_id).status is OrderStatus.CANCELED
    changes = [b != a for a, b in pairwise(seen)]
    assert changes == [True, False, False, True, False, True]


@pytest.mark.parametrize("latency", [0, 1500])
def test_a_limit_off_the_cent_grid_is_compared_as_a_decimal_while_it_rests(tmp_path: object, latency: int) -> None:
    """On a market quoted in tenths of a cent, a resting limit has no integer price in cents: while
    one rests, the store's snapshots are compared as Decimals, and once it has left (filled or
    cancelled) as integers again. Either way the fills are those of eager snapshots."""
    from pathlib import Path

    from botkit.data import JsonlWriter, convert, open_snapshots
    from botkit.instrument import Instrument

    fine = Instrument(price_increment=D("0.001"))
    path = Path(str(tmp_path)) / "f.jsonl"
    eager = [
        snap(1000, bids=[("98", "5")], asks=[("101", "5")]),
        snap(3000, bids=[("98", "5")], asks=[("101", "5")], trades=[(2500, "99.5", "0.5", SELL)]),
        snap(5000, bids=[("98", "5")], asks=[("101", "5")], trades=[(4500, "99.5", "0.5", SELL)]),
        snap(7000, bids=[("99.6", "5")], asks=[("101", "5")], trades=[(6500, "99.3", "0.5", SELL)]),
    ]
    with JsonlWriter(path) as writer:
        for s in eager:
            writer.write(s)
    convert(path, Path(str(tmp_path)) / "f.bks")

    def run(snapshots: Sequence[Snapshot]) -> tuple[list[tuple[str, D, D, int]], list[int]]:
        v = SimulatedVenue({"USD": D(100000), "BTC": D(10)}, D(1), D(5), latency_ms=latency, instrument=fine)
        resting_off_grid = []
        for i, s in enumerate(snapshots):
            v.observe(s)
            resting_off_grid.append(v._finer_than_cents)
            if i == 0:
                v.place_order(BUY, D("0.5"), D("99.505"))  # off the cent grid: filled by the 99.5 print
                v.place_order(BUY, D("1"), D("99.4"))  # on it: filled by the 99.3 print only
                v.place_order(SELL, D("1"), D("99.555"))  # off the grid: filled when the bid rises above it
        fills = [(o.order_id, f.price, f.quantity, f.ts) for o in v.orders_since(0) for f in o.fills]
        return fills, resting_off_grid

    expected = run(eager)
    assert sorted(expected[0]) == sorted([("sim-000001", D("99.505"), D("0.5"), 2500 if not latency else 4500),
                                          ("sim-000002", D("99.4"), D("0.5"), 6500),
                                          ("sim-000003", D("99.555"), D("1"), 7000)])
    # Without latency the 99.505 bid has filled by the second snapshot; with it, both have only arrived.
    assert expected[1][:2] == ([0, 1] if not latency else [0, 2])
    assert expected[1][-1] == 0  # both off-grid orders have left the book
    assert run(list(open_snapshots(Path(str(tmp_path)) / "f.bks"))) == expected
    assert run(list(open_snapshots(path))) == expected


def test_a_limit_short_of_the_best_price_rests_without_reading_the_book(tmp_path: object,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # An arriving limit is walked through the book only when it reaches the best price: at the
    # best ask exactly it takes that level; a cent short it rests, and the store's Decimal levels
    # of the side are never built for it (a quoting strategy's every order).
    from pathlib import Path

    from botkit.data import JsonlWriter, convert, open_snapshots
    from botkit.data.store import StoreBook

    built: list[bool] = []
    build_side = StoreBook._build_side
    monkeypatch.setattr(StoreBook, "_build_side", lambda book, bids: built.append(bids) or build_side(book, bids))
    path = Path(str(tmp_path)) / "s.jsonl"
    with JsonlWriter(path) as writer:
        writer.write(snap(1000))
    convert(path, Path(str(tmp_path)) / "s.bks")
    (stored,) = open_snapshots(Path(str(tmp_path)) / "s.bks")
    v = venue(btc="5")
    v.observe(stored)
    short = [v.order(v.place_order(BUY, D("1"), D("99.99"))), v.order(v.place_order(SELL, D("1"), D("99.01")))]
    assert [(o.status, o.filled) for o in short] == [(OrderStatus.OPENED, D(0))] * 2
    assert built == []
    at_best = [v.order(v.place_order(BUY, D("1"), D("100"))), v.order(v.place_order(SELL, D("1"), D("99")))]
    assert [(o.status, o.filled, o.fills[0].liquidity) for o in at_best] == [
        (OrderStatus.FILLED, D("1"), Liquidity.TAKER)] * 2
    assert built == [False, True]
