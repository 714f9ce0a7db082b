"""Bars from snapshots and trades: each trade once, in the bar of its own time, bars closed by the
first snapshot at or after their end; gaps marked missing, never priced."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botkit.model import BookLevel, OrderBook, Side, Snapshot, Ticker, Trade
from botkit.strategy.bars import Bar, BarBuilder, BookState, bar_start, timeframe_ms

D = Decimal


def snap(ts: int, trades: Sequence[Trade] = (), bid: str = "99", ask: str = "101",
         bids: Sequence[tuple[str, str]] | None = None, asks: Sequence[tuple[str, str]] | None = None) -> Snapshot:
    book = OrderBook(tuple(BookLevel(D(p), D(q)) for p, q in (bids or [(bid, "1")])),
                     tuple(BookLevel(D(p), D(q)) for p, q in (asks or [(ask, "1")])))
    # Trades are given oldest first; the exchange lists them newest first.
    return Snapshot(ts, Ticker(D(bid), D(bid), D(ask)), book, tuple(sorted(trades, key=lambda t: t.ts)[::-1]))


def trade(ts: int, price: str, quantity: str = "1") -> Trade:
    return Trade(ts, D(price), D(quantity), Side.BUY)


@pytest.mark.parametrize(("text", "ms"), [("1s", 1000), ("1m", 60_000), ("15m", 900_000), ("4h", 14_400_000),
                                          ("1d", 86_400_000), ("90s", 90_000)])
def test_timeframes_parse(text: str, ms: int) -> None:
    assert timeframe_ms(text) == ms


@pytest.mark.parametrize("text", ["", "1", "m", "0m", "1.5m", "1M", "1w", " 1m", "-1m", "01m"])
def test_a_bad_timeframe_says_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match=r"does not parse: use a whole number and one of s, m, h, d"):
        timeframe_ms(text)


def test_bars_are_aligned_to_utc_boundaries() -> None:
    day = 86_400_000
    ts = 20_000 * day + 13 * 3_600_000 + 5 * 60_000 + 7_000  # 13:05:07 UTC
    assert bar_start(ts, timeframe_ms("1h")) == 20_000 * day + 13 * 3_600_000
    assert bar_start(ts, timeframe_ms("1d")) == 20_000 * day
    assert bar_start(ts, timeframe_ms("15m")) == 20_000 * day + 13 * 3_600_000


def test_a_hand_made_minute() -> None:
    """Snapshots every 20 s, trades listed overlapping (as GET /trades does); the 60 000 snapshot
    closes the first minute and brings its last trade (at 59 999) with it."""
    t1, t2, t3, t4 = trade(1_000, "100", "2"), trade(30_000, "104", "1"), trade(45_000, "98", "1"), \
        trade(59_999, "101", "0.5")
    late = trade(61_000, "200")
    builder = BarBuilder(["1m"])
    assert builder.update(snap(0, [])) == []
    assert builder.update(snap(20_000, [t1])) == []
    assert builder.update(snap(40_000, [t1, t2])) == []
    assert builder.update(snap(50_000, [t1, t2, t3], bids=[("99", "3"), ("98", "1")], asks=[("101", "1")])) == []
    closed = builder.update(snap(62_000, [t2, t3, t4, late]))
    assert closed == [Bar("1m", 0, 60_000, D(100), D(104), D(98), D(101), D("4.5"),
                          D(200) + D(104) + D(98) + D("50.5"), 4, (D("452.5") / D("4.5")),
                          mid=D(100), microprice=(D(99) * 1 + D(101) * 3) / 4, spread=D(2), imbalance=0.6)]


def test_a_minute_without_trades_is_made_from_mids_and_one_without_anything_is_missing() -> None:
    builder = BarBuilder(["1m"])
    builder.update(snap(0, bid="99", ask="101"))
    builder.update(snap(10_000, bid="103", ask="105"))
    builder.update(snap(20_000, bid="95", ask="97"))
    builder.update(snap(30_000, bid="97", ask="99"))
    closed = builder.update(snap(180_500, bid="97", ask="99"))
    assert [(b.start, b.from_mid, b.missing) for b in closed] == [(0, True, False), (60_000, False, True),
                                                                  (120_000, False, True)]
    assert (closed[0].open, closed[0].high, closed[0].low, closed[0].close) == (D(100), D(104), D(96), D(98))
    assert closed[1].open is None and closed[1].close is None and closed[1].mid is None


def test_a_cold_start_waits_for_the_first_whole_bar() -> None:
    builder = BarBuilder(["1m"])
    builder.update(snap(30_000, [trade(29_000, "100")]))
    assert builder.update(snap(61_000, [trade(29_000, "100"), trade(60_500, "102")])) == []
    closed = builder.update(snap(120_000, [trade(60_500, "102")]))
    assert [(b.start, b.open, b.trades) for b in closed] == [(60_000, D(102), 1)]


def test_timeframes_close_in_time_order_shorter_first() -> None:
    builder = BarBuilder(["2m", "1m"])
    builder.update(snap(0))
    closed = builder.update(snap(120_000))
    assert [(b.timeframe, b.end) for b in closed] == [("1m", 60_000), ("1m", 120_000), ("2m", 120_000)]


def test_a_resumed_history_fills_its_gap_from_the_trades_listed_and_marks_the_rest_missing() -> None:
    builder = BarBuilder(["1m"])
    builder.resume("1m", 60_000)  # the last kept bar ended at 60 000; the bot was down since
    # The exchange lists its last trades: the oldest at 150 000, so 120 000-180 000 may be cut.
    listed = [trade(150_000, "100"), trade(200_000, "101"), trade(250_000, "103")]
    closed = builder.update(snap(300_000, listed))
    assert [(b.start, b.missing, b.trades) for b in closed] == [
        (60_000, True, 0), (120_000, True, 0), (180_000, False, 1), (240_000, False, 1)]
    assert closed[2].mid is None  # no book was seen in it


def test_a_long_gap_gives_at_most_the_kept_number_of_bars() -> None:
    builder = BarBuilder(["1s"], {"1s": 3})
    builder.update(snap(0))
    closed = builder.update(snap(1_000_000))
    assert [b.start for b in closed] == [0, 997_000, 998_000, 999_000]  # the first from its one snapshot
    assert closed[0].from_mid and all(b.missing for b in closed[1:])


def test_book_state_by_hand() -> None:
    book = OrderBook((BookLevel(D(99), D(1)), BookLevel(D(98), D(3))), (BookLevel(D(101), D(3)),))
    state = BookState.of(book)
    assert state.mid == D(100)
    assert state.spread == D(2)
    assert state.microprice == (D(99) * 3 + D(101) * 1) / 4  # 99.5: towards the thin bid
    assert state.imbalance == float(D(1) / D(7))  # (1 + 3 - 3) / (1 + 3 + 3)
    empty = BookState.of(OrderBook((), (BookLevel(D(1), D(1)),)))
    assert empty.mid is None and empty.imbalance is None


# --------------------------------------------------------------------------- properties

LENGTH = 10_000


@st.composite
def market(draw: st.DrawFn) -> tuple[list[int], list[Trade]]:
    """Snapshot times and trades (several may share a time and a price) over a few bars."""
    snapshot_times = sorted(set(draw(st.lists(st.integers(0, 8 * LENGTH), min_size=1, max_size=30))))
    trades = draw(st.lists(st.tuples(st.integers(0, 8 * LENGTH), st.integers(95, 105), st.integers(1, 3)),
                           max_size=40))
    made = sorted((Trade(ts, D(price), D(quantity), Side.SELL) for ts, price, quantity in trades),
                  key=lambda t: t.ts)
    return snapshot_times, made


def reference(times: list[int], trades: list[Trade]) -> list[Bar]:
    """The bars by definition: every whole bar from the first boundary at or after the first
    snapshot to the last snapshot, from the trades whose time falls in it."""
    first = bar_start(times[0], LENGTH)
    first = first if first == times[0] else first + LENGTH
    bars = []
    for start in range(first, bar_start(times[-1], LENGTH), LENGTH):
        mine = [t for t in trades if start <= t.ts < start + LENGTH]
        inside = [ts for ts in times if start <= ts < start + LENGTH]
        if mine:
            volume = sum((t.quantity for t in mine), D(0))
            quote = sum((t.price * t.quantity for t in mine), D(0))
            bars.append(Bar("10s", start, start + LENGTH, mine[0].price, max(t.price for t in mine),
                            min(t.price for t in mine), mine[-1].price, volume, quote, len(mine), quote / volume,
                            mid=D(100) if inside else None, microprice=D(100) if inside else None,
                            spread=D(2) if inside else None, imbalance=0.0 if inside else None))
        elif inside:
            bars.append(Bar("10s", start, start + LENGTH, D(100), D(100), D(100), D(100), from_mid=True,
                            mid=D(100), microprice=D(100), spread=D(2), imbalance=0.0))
        else:
            bars.append(Bar("10s", start, start + LENGTH, None, None, None, None, missing=True))
    return bars


@settings(max_examples=300, deadline=None)
@given(market(), st.integers(1, 50))
def test_bars_equal_their_definition_whatever_the_polling(data: tuple[list[int], list[Trade]], window: int) -> None:
    """Each snapshot lists the trades up to its time, newest first, at most ``window`` of them,
    but never fewer than those since the previous snapshot (no trade goes unseen)."""
    times, trades = data
    builder = BarBuilder(["10s"])
    closed: list[Bar] = []
    previous = -1
    for ts in times:
        upto = [t for t in trades if t.ts <= ts]
        new = sum(1 for t in upto if t.ts > previous)
        listed = upto[-max(window, new + 1):] if upto else []
        closed.extend(builder.update(snap(ts, listed)))
        previous = ts
    # Bars after the first snapshot only: trades before it are history the builder never saw.
    assert closed == reference(times, [t for t in trades if t.ts > times[0] or t.ts == times[0]])
    assert [b.end for b in closed] == sorted(b.end for b in closed)


def test_the_testing_kits_candles_make_exactly_their_bars() -> None:
    from botkit.testing import candles

    ohlc = [("100", "104", "99", "101"), ("101", "101", "95", "96"), ("96", "98", "96", "98")]
    builder = BarBuilder(["1m"])
    closed = [bar for s in candles(ohlc, timeframe="1m", start=600_000) for bar in builder.update(s)]
    assert [(b.start, b.open, b.high, b.low, b.close, b.trades) for b in closed] == [
        (600_000 + k * 60_000, *(D(p) for p in prices), 4) for k, prices in enumerate(ohlc)]
