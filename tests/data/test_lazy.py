"""The lazy snapshots' shortcuts give the very Decimals (digits and exponent) that arithmetic on
the built values gives: reports are compared byte for byte across readers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from botkit.data import store
from botkit.data.lazy import cents, cents_mid_spread
from botkit.data.store import StoreReader, StoreSnapshot, StoreWriter, Units, _mids_spreads, _prices, record_dtype

PRICES = st.one_of(
    st.integers(1, 10**12),
    st.integers(1, 10**10).map(lambda n: n * 10),  # one trailing zero: 404.10 is Decimal('404.1')
    st.integers(1, 10**9).map(lambda n: n * 100),  # whole dollars
    st.integers(1, 9),
)


@given(PRICES, st.one_of(st.integers(0, 20), st.integers(0, 10**9), st.integers(0, 10**4).map(lambda n: n * 10)))
def test_mid_and_spread_from_cents_are_the_arithmetic_ones(bid: int, gap: int) -> None:
    ask = bid + gap
    mid, spread = cents_mid_spread(bid, ask)
    expected_mid, expected_spread = (cents(bid) + cents(ask)) / 2, cents(ask) - cents(bid)
    assert mid.as_tuple() == expected_mid.as_tuple()
    assert spread.as_tuple() == expected_spread.as_tuple()


def test_the_exponents_that_once_differed() -> None:
    """Cases where a normalised result would read differently: 810.0 / 2 is 405.0, not 405."""
    assert str(cents_mid_spread(40410, 40590)[0]) == "405.0"
    assert str(cents_mid_spread(40410, 40420)[0]) == "404.15"
    assert str(cents_mid_spread(40000, 41000)) == str((Decimal("405"), Decimal("10")))
    assert str(cents_mid_spread(40010, 40010)[1]) == "0.0"


def test_spreads_of_one_coefficient_and_other_exponents_are_not_confused() -> None:
    """The spreads are cached by coefficient and exponent: 0.1, 0.01 and 1 all have coefficient 1."""
    assert str(cents_mid_spread(40410, 40420)[1]) == "0.1"
    assert str(cents_mid_spread(40411, 40412)[1]) == "0.01"
    assert str(cents_mid_spread(40400, 40500)[1]) == "1"
    assert str(cents_mid_spread(40410, 40420)[1]) == "0.1"


# The store's reader works out a whole chunk's mids and spreads at once in int64 arithmetic:
# every row must read as cents_mid_spread's Decimals, an empty side as None, and a price too large
# for that arithmetic (a damaged file) must take the row-by-row path, not wrap around.
HUGE = st.integers(-(1 << 63), (1 << 63) - 1)
ROWS = st.lists(st.tuples(st.one_of(PRICES, HUGE), st.one_of(st.integers(0, 10**6), HUGE),
                          st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=40)


@given(ROWS)
def test_the_stores_chunk_mids_and_spreads_are_cents_mid_spread(rows: list[tuple[int, int, int, int]]) -> None:
    rec = np.zeros(len(rows), dtype=record_dtype(2))
    for i, (bid, gap, nbid, nask) in enumerate(rows):
        ask = max(min(bid + gap, (1 << 63) - 1), -(1 << 63))
        rec[i]["bid_px"][0], rec[i]["ask_px"][0], rec[i]["nbid"], rec[i]["nask"] = bid, ask, nbid, nask
    mids, spreads = _mids_spreads(rec)
    for i, (bid, gap, nbid, nask) in enumerate(rows):
        ask = max(min(bid + gap, (1 << 63) - 1), -(1 << 63))
        if nbid and nask:
            mid, spread = cents_mid_spread(bid, ask)
            got_mid, got_spread = mids[i], spreads[i]
            assert got_mid is not None and got_spread is not None
            assert (got_mid.as_tuple(), got_spread.as_tuple()) == (mid.as_tuple(), spread.as_tuple())
        else:
            assert (mids[i], spreads[i]) == (None, None)


def test_the_store_reader_sets_each_snapshots_mid_and_spread(tmp_path: Path) -> None:
    """What the reader hands out equals what the snapshot's own prices give, one-sided books too."""
    path = tmp_path / "m.bks"
    books = [((40410,), (40590,)), ((40411,), (40412,)), ((), (40500,)), ((40000,), ()), ((), ())]
    with StoreWriter(path, levels=2) as writer:
        for ts, (bids, asks) in enumerate(books):
            writer.add_units(Units(ts, 40500, bids[0] if bids else 0, asks[0] if asks else 0,
                                   list(bids), [10**8] * len(bids), list(asks), [10**8] * len(asks), None))
    snapshots = list(StoreReader(path))
    assert len(snapshots) == len(books)
    for snapshot in snapshots:
        bid, ask = snapshot.book.best_bid, snapshot.book.best_ask
        expected = (None, None) if bid is None or ask is None else ((bid + ask) / 2, ask - bid)
        assert (snapshot.mid, snapshot.spread) == expected
        assert str((snapshot.mid, snapshot.spread)) == str(expected)


@given(st.lists(st.tuples(st.one_of(PRICES, st.integers(-(1 << 63), (1 << 63) - 1), st.just(0)),
                          st.integers(0, 3)), min_size=1, max_size=40))
def test_the_stores_chunk_best_prices_are_cents(rows: list[tuple[int, int]]) -> None:
    """Built for a whole chunk at once, each is cents() of its integer (digits and exponent), None
    where the side has no level."""
    column = np.array([units for units, _ in rows], dtype=np.int64)
    depth = np.array([levels for _, levels in rows], dtype=np.int16)
    for price, (units, levels) in zip(_prices(column, depth), rows, strict=True):
        if levels:
            assert price is not None and price.as_tuple() == cents(units).as_tuple()
        else:
            assert price is None


@pytest.mark.parametrize(("read", "slots"), [("best_bid", {"best_bid", "best_ask"}), ("mid", {"mid", "spread"})])
def test_tops_read_once_come_set_on_every_later_snapshot(tmp_path: Path, read: str, slots: set[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """After something reads the best prices (densely: here from the first read) or the mid of
    one chunk, the reader sets them on the snapshots of the chunks after it, and only them: the
    same values the book's levels give, one-sided books included."""
    monkeypatch.setattr(store, "SPARSE_READS", 0)
    path = tmp_path / "m.bks"
    with StoreWriter(path, levels=2, chunk=4) as writer:
        for ts in range(20):
            bids = [] if ts % 5 == 3 else [40400 + ts * 7, 40000]
            asks = [] if ts % 7 == 4 else [40600 + ts * 10, 41000]
            writer.add_units(Units(ts, 40500, bids[0] if bids else 0, asks[0] if asks else 0,
                                   bids, [10**8] * len(bids), asks, [10**8] * len(asks), None))
    seen = []
    for index, snapshot in enumerate(StoreReader(path)):
        filled = set(_filled_slots(snapshot)) & {"best_bid", "best_ask", "mid", "spread"}
        assert filled == (slots if index >= 4 else set())
        if index == 1:
            getattr(snapshot, read)  # the read that turns the setting on
        seen.append(snapshot)
    assert len(seen) == 20
    for snapshot in seen:
        book = snapshot.book
        bid = book.bids[0].price if book.bids else None
        ask = book.asks[0].price if book.asks else None
        expected = (bid, ask, *((None, None) if bid is None or ask is None else ((bid + ask) / 2, ask - bid)))
        assert (snapshot.best_bid, snapshot.best_ask, snapshot.mid, snapshot.spread) == expected
        assert str((snapshot.best_bid, snapshot.best_ask, snapshot.mid, snapshot.spread)) == str(expected)


def test_snapshots_in_a_row_of_one_price_share_one_decimal(tmp_path: Path) -> None:
    """Held snapshots cost about what they did through the cents() memo: snapshots in a row with
    one best price (and mid) share one Decimal, not one each."""
    path = tmp_path / "m.bks"
    with StoreWriter(path, levels=1) as writer:
        for ts in range(6):
            bid = 40400 + ts // 3
            writer.add_units(Units(ts, 40500, bid, 40600, [bid], [10**8], [40600], [10**8], None))
    snapshots = list(StoreReader(path))
    assert len({id(s.best_bid) for s in snapshots}) == 2
    assert len({id(s.best_ask) for s in snapshots}) == 1
    assert len({id(s.mid) for s in snapshots}) == 2


def test_a_reader_nobody_asks_for_tops_does_not_build_them(tmp_path: Path) -> None:
    """A conversion or a check reads levels, not the mid or the best prices: none are built."""
    path = tmp_path / "m.bks"
    with StoreWriter(path, levels=1, chunk=4) as writer:
        for ts in range(12):
            writer.add_units(Units(ts, 40500, 40400, 40600, [40400], [10**8], [40600], [10**8], None))
    for snapshot in StoreReader(path):
        assert not {"best_bid", "best_ask", "mid", "spread"} & set(_filled_slots(snapshot))
        assert snapshot.book.units().bid_prices == [40400]
        assert isinstance(snapshot, StoreSnapshot) and snapshot._chunk.made_in_bulk()[:2] == (False, False)


def _filled_slots(snapshot: object) -> list[str]:
    """The slots of a lazy snapshot that hold a value (an empty slot raises on a plain read)."""
    filled = []
    for cls in type(snapshot).__mro__:
        for name in getattr(cls, "__slots__", ()):
            try:
                cls.__dict__[name].__get__(snapshot, cls)
            except AttributeError:
                continue
            filled.append(name)
    return filled


def _market(path: Path, rows: int = 24, chunk: int = 8) -> Path:
    """A store whose rows differ in depth (one-sided books included) and in their trades."""
    with StoreWriter(path, levels=3, chunk=chunk) as writer:
        for ts in range(rows):
            bids = [] if ts % 5 == 3 else [40400 + ts * 7, 40300, 40000][: 1 + ts % 3]
            asks = [] if ts % 7 == 4 else [40600 + ts * 10, 41000][: 1 + ts % 2]
            trades = [(ts, 10**6 * (1 + k), 40500 * 10**6 * (1 + k) * 100, k % 2) for k in range(ts % 4)]
            writer.add_units(Units(ts, 40500, bids[0] if bids else 0, asks[0] if asks else 0,
                                   bids, [10**8 + ts] * len(bids), asks, [2 * 10**8] * len(asks), trades))
    return path


def _everything(snapshot: StoreSnapshot) -> str:
    """What a strategy and the simulator read of one snapshot, written out digit for digit."""
    book = snapshot.book
    return str((snapshot.best_bid, snapshot.best_ask, book.bids, book.asks, tuple(book.units()),
                snapshot.trade_units()))


@pytest.mark.parametrize("sparse", [0, 3, 10**6])
def test_rows_read_one_at_a_time_or_in_bulk_are_the_same(tmp_path: Path, sparse: int,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Best prices, levels, units and trades made from a row's own record (a sparse reader) are
    the values made for the whole chunk (a dense one), digits and exponents."""
    path = _market(tmp_path / "m.bks")
    monkeypatch.setattr(store, "SPARSE_READS", 10**6)
    expected = [_everything(s) for s in StoreReader(path) if isinstance(s, StoreSnapshot)]
    monkeypatch.setattr(store, "SPARSE_READS", sparse)
    got = [_everything(s) for s in StoreReader(path) if isinstance(s, StoreSnapshot)]
    assert got == expected and len(got) == 24


def test_a_sparse_reader_never_makes_a_whole_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A strategy that looks at two snapshots of eight pays for those two: no chunk's best prices,
    levels or trades are made in bulk, and no later snapshot comes with its best prices set."""
    monkeypatch.setattr(store, "SPARSE_READS", 6)  # _everything reads the levels three times
    path = _market(tmp_path / "m.bks")
    for index, snapshot in enumerate(StoreReader(path)):
        assert isinstance(snapshot, StoreSnapshot)
        assert not {"best_bid", "best_ask", "book"} & set(_filled_slots(snapshot))
        if index % 8 in (2, 5):
            _everything(snapshot)
        if index % 8 == 7:
            assert snapshot._chunk.made_in_bulk()[1:] == (False, False, False)


def test_a_dense_reader_turns_bulk_on_and_the_next_chunk_starts_in_bulk(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Past SPARSE_READS reads the chunk's values are made at once; the chunk after makes them at
    its first read, and comes with its best prices and its books set."""
    monkeypatch.setattr(store, "SPARSE_READS", 3)
    path = _market(tmp_path / "m.bks")
    for index, snapshot in enumerate(StoreReader(path)):
        assert isinstance(snapshot, StoreSnapshot)
        chunk = snapshot._chunk
        if index == 0:
            assert chunk.made_in_bulk()[1:] == (False, False, False)
        filled = set(_filled_slots(snapshot))
        if index >= 8:  # and its book: the levels were read densely
            assert {"best_bid", "best_ask", "book"} <= filled
            assert chunk.made_in_bulk()[1]
        else:
            assert "book" not in filled
        snapshot.best_bid  # noqa: B018 # a read: the counts
        snapshot.book.units()
        snapshot.trade_units()
        if index == 2:  # the third read of each
            assert chunk.made_in_bulk()[1:] == (False, False, False)
        if index == 3 or index >= 8:
            assert chunk.made_in_bulk()[1:] == (True, True, True)
