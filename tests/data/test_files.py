"""Snapshot files: JSON Lines (plain and gzip), the fast store, conversion, the generator."""

from __future__ import annotations

import gzip
import io
import itertools
import logging
import random
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.core.errors import DataFileError
from botkit.data import (
    JsonlReader,
    JsonlWriter,
    StoreReader,
    StoreWriter,
    convert,
    file_format,
    generate,
    jsonl,
    open_snapshots,
)
from botkit.data.jsonl import check_snapshot
from botkit.model import BookLevel, OrderBook, Side, Snapshot, Ticker, Trade

D = Decimal

LINE_1 = (
    '{"ts":1000,"ticker":{"currency":"USD","last":404.12,"bid":403.98,"ask":404.22},'
    '"orderbook":{"bid":[{"price":403.98,"quantity":1.5},{"price":403.9,"quantity":2}],'
    '"ask":[{"price":404.22,"quantity":0.25},{"price":404.5,"quantity":0.00000001}],'
    '"price_currency":"USD","quantity_currency":"BTC"},'
    '"trades":[{"spent":0.02,"spentCurrency":"BTC","earned":8.0824,"earnedCurrency":"USD","timestamp":990},'
    '{"spent":40.42,"spentCurrency":"USD","earned":0.1,"earnedCurrency":"BTC","timestamp":980}]}'
)
LINE_2 = (
    '{"ts":2000,"ticker":{"currency":"USD","last":404,"bid":404,"ask":404.5},'
    '"orderbook":{"bid":[{"price":404,"quantity":1}],"ask":[{"price":404.5,"quantity":3}],'
    '"price_currency":"USD","quantity_currency":"BTC"}}'
)


def expected_first() -> Snapshot:
    return Snapshot(
        ts=1000,
        ticker=Ticker(last=D("404.12"), bid=D("403.98"), ask=D("404.22")),
        book=OrderBook(
            bids=(BookLevel(D("403.98"), D("1.5")), BookLevel(D("403.9"), D("2"))),
            asks=(BookLevel(D("404.22"), D("0.25")), BookLevel(D("404.5"), D("0.00000001"))),
        ),
        trades=(
            Trade(990, D("404.12"), D("0.02"), Side.SELL),
            Trade(980, D("404.2"), D("0.1"), Side.BUY),
        ),
    )


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_jsonl_reads_exact_values_equal_to_an_eager_snapshot(tmp_path: Path) -> None:
    snapshots = list(JsonlReader(write(tmp_path / "a.jsonl", LINE_1, LINE_2)))
    first = snapshots[0]
    assert isinstance(first, Snapshot)
    assert first == expected_first()
    assert expected_first() == first
    assert hash(first) == hash(expected_first())
    assert (first.best_bid, first.best_ask) == (D("403.98"), D("404.22"))
    assert (first.mid, first.spread) == (D("404.10"), D("0.24"))
    assert snapshots[1].trades == ()
    assert repr(first).startswith("Snapshot(ts=1000, ticker=Ticker(")


def test_numbers_are_read_from_their_text_not_through_floats(tmp_path: Path) -> None:
    digits = "0.10000000000000000555"  # a float would make this 0.1
    line = LINE_2.replace('"quantity":3', f'"quantity":{digits}')
    (snapshot,) = JsonlReader(write(tmp_path / "a.jsonl", line))
    assert snapshot.book.asks[0].quantity == D(digits)


def test_bad_lines_are_reported_with_their_line_numbers_and_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(
        tmp_path / "bad.jsonl",
        LINE_1,
        '{"ts":3000,"ticker":{"last',  # cut short
        LINE_2.replace('"ts":2000', '"ts":500'),  # goes back in time
        LINE_2.replace('"price":404,', '"price":-404,'),  # negative best bid
        LINE_2.replace('"price":404,', '"price":405,'),  # crossed
        "",
        LINE_2,
    )
    caplog.set_level(logging.WARNING, "botkit.backtest")
    reader = JsonlReader(path)
    assert [s.ts for s in reader] == [1000, 2000]
    assert reader.bad_lines == 4
    assert reader.lines == 7
    text = caplog.text
    for lineno, why in [(2, "malformed"), (3, "earlier"), (4, "non-negative"), (5, "crossed")]:
        assert f"bad.jsonl:{lineno}: " in text
        assert why in text


def test_strict_reader_raises_on_the_first_bad_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", LINE_1, "not json", LINE_2)
    with pytest.raises(DataFileError, match=r"bad\.jsonl:2: "):
        list(JsonlReader(path, strict=True))


def test_a_bad_deeper_level_raises_with_its_line_when_it_is_built(tmp_path: Path) -> None:
    unsorted = LINE_1.replace('{"price":403.9,', '{"price":403.99,').replace('"ts":1000', '"ts":3000')
    path = write(tmp_path / "deep.jsonl", LINE_2, unsorted)
    second = list(JsonlReader(path))[1]
    assert second.best_bid == D("403.98")  # the top of book was checked when read
    with pytest.raises(DataFileError, match=r"deep\.jsonl:2: orderbook\.bid is not sorted"):
        check_snapshot(second)


def test_gzip_round_trip_and_flush_per_line(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl.gz"
    with JsonlWriter(path) as writer:
        writer.write(expected_first())
        # Flushed: a reader sees the line while the writer is still open.
        assert [s.ts for s in JsonlReader(path)] == [1000]
        writer.write_text(LINE_2)
    snapshots = list(JsonlReader(path))
    assert snapshots[0] == expected_first()
    assert snapshots[1].ts == 2000


def test_a_gzip_file_cut_short_yields_every_complete_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    lines = [LINE_2.replace('"ts":2000', f'"ts":{2000 + i}') for i in range(100)]
    whole = gzip.compress(("\n".join(lines) + "\n").encode())
    path.write_bytes(whole[: len(whole) - 40])
    reader = JsonlReader(path)
    got = list(reader)
    assert 50 <= len(got) < 100
    assert reader.bad_lines >= 1
    with pytest.raises(DataFileError, match="ends early"):
        list(JsonlReader(path, strict=True))


def test_store_round_trip_is_exact(tmp_path: Path) -> None:
    src = write(tmp_path / "a.jsonl", LINE_1, LINE_2)
    result = convert(src, tmp_path / "a.bks")
    assert (result.snapshots, result.bad_lines, result.levels) == (2, 0, 2)
    stored = list(StoreReader(tmp_path / "a.bks"))
    assert stored == list(JsonlReader(src))
    assert stored[0].trades == expected_first().trades
    assert stored[1].trades == ()
    # back to JSON Lines: same snapshots, and the text of the numbers is the shortest exact one
    convert(tmp_path / "a.bks", tmp_path / "b.jsonl")
    assert list(JsonlReader(tmp_path / "b.jsonl")) == stored
    assert (tmp_path / "b.jsonl").read_text().splitlines() == [LINE_1, LINE_2]


def test_store_refuses_values_it_cannot_hold_exactly(tmp_path: Path) -> None:
    src = write(tmp_path / "a.jsonl", LINE_2, LINE_2.replace('"ts":2000', '"ts":3000').replace("404.5,", "404.505,"))
    with pytest.raises(DataFileError, match=r"a\.jsonl:2: .*404\.505 has more than 2 decimals"):
        convert(src, tmp_path / "a.bks")
    assert not (tmp_path / "a.bks").exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_store_refuses_a_deeper_book_than_its_levels(tmp_path: Path) -> None:
    src = write(tmp_path / "a.jsonl", LINE_1)
    with pytest.raises(DataFileError, match="levels a side"):
        convert(src, tmp_path / "a.bks", levels=1)


def test_truncated_store_is_refused(tmp_path: Path) -> None:
    generate(tmp_path / "g.bks", 100, levels=3)
    data = (tmp_path / "g.bks").read_bytes()
    (tmp_path / "cut.bks").write_bytes(data[:-10])
    with pytest.raises(DataFileError, match="truncated"):
        StoreReader(tmp_path / "cut.bks")


def test_generator_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    generate(tmp_path / "a.bks", 3000, levels=5, seed=7)
    generate(tmp_path / "b.bks", 3000, levels=5, seed=7)
    assert (tmp_path / "a.bks").read_bytes() == (tmp_path / "b.bks").read_bytes()
    generate(tmp_path / "c.jsonl.gz", 3000, levels=5, seed=7)
    convert(tmp_path / "c.jsonl.gz", tmp_path / "c.bks")
    assert (tmp_path / "c.bks").read_bytes() == (tmp_path / "a.bks").read_bytes()
    snapshots = list(open_snapshots(tmp_path / "a.bks"))
    assert len(snapshots) == 3000
    assert all(b.ts > a.ts for a, b in itertools.pairwise(snapshots))
    for snapshot in snapshots[::97]:
        check_snapshot(snapshot)
        assert snapshot.best_bid is not None
        assert snapshot.best_ask is not None
        assert snapshot.best_bid < snapshot.best_ask
        assert len(snapshot.book.bids) == 5


def test_file_format_by_suffix(tmp_path: Path) -> None:
    assert file_format("x.jsonl") == file_format("x.jsonl.gz") == file_format("x.ndjson") == "jsonl"
    assert file_format("x.bks") == "store"
    with pytest.raises(DataFileError, match="unknown snapshot file type"):
        file_format("x.csv")


def test_the_package_exports_what_it_documents() -> None:
    import types

    import botkit.backtest as package

    public = {
        name for name, value in vars(package).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public <= set(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None


def test_an_unusual_book_layout_is_read_the_slow_way(tmp_path: Path) -> None:
    # asks before bids, quantity before price, spaces: not the exchange's layout
    line = (
        '{"ts": 5, "ticker": {"last": 1, "bid": 1, "ask": 2}, "orderbook": {"ask": [{"quantity": 3, "price": 404.5}],'
        ' "bid": [{"quantity": 1, "price": 404}], "price_currency": "USD", "quantity_currency": "BTC"}}'
    )
    (snapshot,) = JsonlReader(write(tmp_path / "odd.jsonl", line))
    assert (snapshot.best_bid, snapshot.best_ask) == (D(404), D("404.5"))
    assert snapshot.book.asks == (BookLevel(D("404.5"), D(3)),)
    bad_currency = line.replace('"quantity_currency": "BTC"', '"quantity_currency": "ETH"')
    reader = JsonlReader(write(tmp_path / "eth.jsonl", bad_currency))
    assert list(reader) == []
    assert reader.bad_lines == 1


def test_a_broken_level_is_found_when_the_book_is_built(tmp_path: Path) -> None:
    broken = LINE_2.replace('[{"price":404.5,"quantity":3}]', '[{"price":404.5,"quantity":3},{"price":405}]')
    (snapshot,) = JsonlReader(write(tmp_path / "broken.jsonl", broken))
    assert snapshot.mid == D("404.25")
    with pytest.raises(DataFileError, match=r"broken\.jsonl:1: orderbook: .*quantity"):
        check_snapshot(snapshot)


FORMAT1 = Path(__file__).parent / "files" / "format1.bks"


def test_a_format_1_store_is_still_read_exactly() -> None:
    """A store written before checksums (kept in tests/backtest/data) reads as the lines it came from."""
    reader = StoreReader(FORMAT1)
    assert (reader.version, reader.checksummed) == (1, False)
    assert list(reader) == list(JsonlReader(FORMAT1.with_suffix(".jsonl.gz")))


def test_a_written_store_is_format_2_with_a_checksum_per_chunk(tmp_path: Path) -> None:
    with StoreWriter(tmp_path / "a.bks", levels=3, chunk=7) as writer:
        for snapshot in JsonlReader(FORMAT1.with_suffix(".jsonl.gz")):
            writer.add_snapshot(snapshot)
    reader = StoreReader(tmp_path / "a.bks")
    assert (reader.version, reader.chunk, reader.checksummed) == (2, 7, True)
    assert list(reader) == list(StoreReader(FORMAT1))
    assert reader.bad_lines == 0


def test_bounded_lines_splits_like_the_file_and_measures_what_it_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every line as in the file, or its length when over the limit, whatever the line lengths."""
    monkeypatch.setattr(jsonl, "MAX_LINE_BYTES", 50)
    rng = random.Random(3)
    for _ in range(300):
        lines = [b"x" * rng.choice([0, 1, 49, 50, 51, 52, 120, rng.randrange(3000)]) for _ in range(rng.randrange(8))]
        data = b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b"")
        want = data.splitlines(keepends=True)
        expected = [line if len(line.rstrip(b"\n")) <= 50 else len(line) for line in want]
        assert list(jsonl.bounded_lines(io.BufferedReader(io.BytesIO(data), buffer_size=16))) == expected


def test_nesting_is_measured_before_parsing_strings_apart() -> None:
    """Depth counts lists and objects outside strings, open ones included; 256 levels pass, 257 do not."""
    limit = jsonl.MAX_NESTING
    assert not jsonl.too_deep(b"[" * limit + b"]" * limit)
    assert jsonl.too_deep(b"[" * (limit + 1) + b"]" * (limit + 1))
    assert jsonl.too_deep(b'{"a":' * (limit + 1))  # never closed: the parser would still recurse
    assert jsonl.too_deep(b"[1," * (limit + 1))
    assert not jsonl.too_deep(b'["' + b"[" * 5000 + b'"]')  # brackets in a string are text
    assert not jsonl.too_deep(b'["\\"' + b"[" * 5000 + b'"]')  # ... escaped quotes included
    hidden = b"[" * 1000 + b'"' + b"]" * 1000 + b'"' + b"]" * 1000  # closers in a string close nothing
    assert jsonl.too_deep(hidden)
    wide = b'{"bid":[' + b",".join([b'{"price":1,"quantity":2}'] * 2000) + b"]}"  # many brackets, depth 3
    assert not jsonl.too_deep(wide)
    # Measured a MiB at a time: a string, or the depth, carried across the blocks.
    assert not jsonl.too_deep(b'["' + b"[" * (3 << 20) + b'"]')
    assert jsonl.too_deep(b"[1]," * (1 << 19) + b"[" * (limit + 1))


def test_book_units_are_the_levels_exact_integers_in_every_source(tmp_path: Path) -> None:
    """``book.units()`` from the store's own integers, from JSON Lines and from an eager book are
    the same numbers, and sum to the same notional as the Decimal levels."""
    store = tmp_path / "m.bks"
    generate(store, 300, levels=5, seed=3)
    convert(store, tmp_path / "m.jsonl")
    for lazy, eager_source in zip(open_snapshots(store), open_snapshots(tmp_path / "m.jsonl"), strict=True):
        eager = OrderBook(lazy.book.bids, lazy.book.asks)
        u = lazy.book.units()
        assert u == eager.units() == eager_source.book.units()
        assert (u.price_decimals, u.quantity_decimals) == (2, 8)
        decimal_sum = sum((lv.price * lv.quantity for lv in eager.bids + eager.asks), D(0))
        integer_sum = sum(p * q for p, q in zip(u.bid_prices + u.ask_prices, u.bid_quantities + u.ask_quantities,
                                                strict=True))
        assert u.decimal(integer_sum, u.price_decimals + u.quantity_decimals) == decimal_sum
        assert [u.decimal(p, 2) for p in u.bid_prices] == [lv.price for lv in eager.bids]


def test_book_units_widen_for_finer_markets_and_stay_exact() -> None:
    book = OrderBook(bids=(BookLevel(D("0.0005"), D("1")),), asks=(BookLevel(D("0.0006"), D("1E-10")),))
    u = book.units()
    assert (u.price_decimals, u.quantity_decimals) == (4, 10)
    assert u.bid_prices == [5] and u.ask_quantities == [1]
    assert u.decimal(u.ask_prices[0], u.price_decimals) == D("0.0006")
    empty = OrderBook((), ()).units()
    assert empty.bid_prices == empty.ask_prices == []


def test_book_units_from_json_text_are_checked_like_levels(tmp_path: Path) -> None:
    """From JSON Lines the integers are read from the numbers' text; a side out of order is the
    same DataFileError, naming the line, as when its levels are built; a number finer than a
    cent is read through the Decimal levels, in finer units."""
    unsorted = LINE_1.replace('{"price":403.9,', '{"price":403.99,')
    finer = LINE_2.replace('"price":404.5,', '"price":404.505,')
    first, bad, fine = JsonlReader(write(tmp_path / "u.jsonl", LINE_1, unsorted.replace('"ts":1000', '"ts":1500'),
                                         finer.replace('"ts":2000', '"ts":2500')))
    assert first.book.units() == OrderBook(first.book.bids, first.book.asks).units()
    with pytest.raises(DataFileError, match=r"u\.jsonl:2: .*not sorted"):
        bad.book.units()
    u = fine.book.units()
    assert (u.price_decimals, u.ask_prices) == (3, [404505])


def test_book_units_refuse_what_the_levels_refuse(tmp_path: Path) -> None:
    """A deep level too large to be an amount is the same DataFileError from book.units() as from
    the levels: two strategies reading one damaged line see the same thing."""
    huge = LINE_1.replace('{"price":404.5,"quantity":0.00000001}', '{"price":404.5,"quantity":2000000000000000}')
    (snapshot,) = JsonlReader(write(tmp_path / "h.jsonl", huge))
    with pytest.raises(DataFileError, match=r"h\.jsonl:1: .*too large"):
        _ = snapshot.book.asks
    with pytest.raises(DataFileError, match=r"h\.jsonl:1: .*too large"):
        snapshot.book.units()
