"""``botkit data import`` on hand-made files in each real format (tests/data/fixtures/make.py):
what each row becomes, the edges real data has, bad input reported by file and line."""

from __future__ import annotations

import gzip
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.data.files import file_instrument, open_snapshots
from botkit.data.jsonl import check_snapshot
from botkit.model import BookLevel, Side, Snapshot
from tests.backtest.commands import invoke
from tests.data.fixtures import make

D = Decimal
T0 = make.T0_MS


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make.write_all(tmp_path_factory.mktemp("fixtures"))


def imported(out: Path, *args: str, code: int = 0) -> tuple[list[Snapshot], str, str]:
    status, stdout, stderr = invoke("data", "import", "--out", str(out), *args)
    assert status == code, stdout + stderr
    snapshots = list(open_snapshots(out))
    for snapshot in snapshots:
        check_snapshot(snapshot)
    return snapshots, stdout, stderr


def index_of(k: int) -> int:
    """The snapshot of book row ``k``: rows 60 (crossed) and 61 (locked) are not written."""
    assert k not in (60, 61)
    return k if k < 60 else k - 2


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".bks"])
def test_tardis_book_snapshot_25_and_trades(files: dict[str, Path], tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"market{suffix}"
    snaps, stdout, _ = imported(out, "--format", "tardis", str(files["tardis_book"]), str(files["tardis_trades"]))
    assert len(snaps) == 298
    assert "408 rows from 2 file(s)" in stdout
    assert "298 snapshots, 106 trades" in stdout
    assert "1 crossed and 1 locked" in stdout
    assert "dropped: 1 level(s) of zero amount" in stdout
    assert "inferred: the taker side of 1 trade(s)" in stdout
    assert "2 trade(s) from 2023-11-14T22:13:49.910Z on come after the last book row" in stdout
    # the local clock (the default), µs floored to ms
    assert [s.ts for s in snaps[:3]] == [T0, T0 + 100, T0 + 200]
    first = snaps[0]
    assert len(first.book.bids) == len(first.book.asks) == 25
    assert first.book.bids[0] == BookLevel(D("30000.0"), D("1.000"))
    assert first.book.asks[24] == BookLevel(D("30002.5"), D("25.000"))
    assert (first.ticker.bid, first.ticker.ask, first.ticker.last) == (D("30000.0"), D("30000.1"), 0)
    # row 50: the bid side is empty, its ticker price 0
    empty = snaps[index_of(50)]
    assert empty.book.bids == () and empty.ticker.bid == 0 and empty.best_ask == D("30000.1")
    # rows 70 and 71: one timestamp, both kept, in file order
    assert snaps[index_of(70)].ts == snaps[index_of(71)].ts == T0 + 7000
    assert snaps[index_of(70)].best_bid == D("30000.0") and snaps[index_of(71)].best_bid == D("30000.1")
    # row 80: the level of zero amount is no level; row 90: 3 levels a side
    assert len(snaps[index_of(80)].book.asks) == 24
    assert snaps[index_of(80)].book.asks[1].price == D("30000.3")
    assert len(snaps[index_of(90)].book.bids) == len(snaps[index_of(90)].book.asks) == 3
    # each trade once, in the snapshot that follows it, newest first
    trades = [(s.ts, t) for s in snaps for t in s.trades]
    assert len(trades) == 106
    assert all(t.ts <= ts for ts, t in trades)
    assert all(a.ts >= b.ts for s in snaps for a, b in zip(s.trades, s.trades[1:], strict=False))
    # the trade of book row 100's very millisecond is in row 100's snapshot (after row 99's)
    row100 = snaps[index_of(100)]
    assert [(t.ts, t.price, t.quantity, t.taker_side) for t in row100.trades] == [
        (T0 + 10_000, D("30000.1"), D("0.020"), Side.BUY), (T0 + 9950, D("30000.5"), D("0.010"), Side.BUY)]
    # the trades printed while the book was crossed and locked went into the next snapshot (row 62)
    assert [t.ts for t in snaps[index_of(62)].trades] == [T0 + 6050]
    # two trades of one ms, both written
    assert [t.ts for t in snaps[index_of(121)].trades] == [T0 + 12_070, T0 + 12_070, T0 + 12_050]
    # unknown side: at the ask, inferred a buy
    assert [t.taker_side for t in snaps[index_of(141)].trades] == [Side.BUY]
    assert snaps[index_of(141)].ticker.last == D("30000.1")
    assert file_instrument(out).price_increment == D("0.1")


def test_the_exchange_clock(files: dict[str, Path], tmp_path: Path) -> None:
    snaps, _, _ = imported(tmp_path / "m.jsonl", "--format", "tardis", "--clock", "exchange",
                           str(files["tardis_book"]), str(files["tardis_trades"]))
    assert snaps[0].ts == T0 - 1


def test_quotes_and_binance_book_ticker_give_one_market(files: dict[str, Path], tmp_path: Path) -> None:
    tardis, _, _ = imported(tmp_path / "t.jsonl", "--format", "tardis", str(files["tardis_quotes"]),
                            str(files["tardis_trades"]))
    binance, _, _ = imported(tmp_path / "b.jsonl", "--format", "binance", str(files["binance_book_ticker"]),
                             str(files["binance_agg_trades"]))
    spot, stdout, _ = imported(tmp_path / "s.jsonl", "--format", "binance", "--exchange", "binance-futures",
                               str(files["binance_book_ticker"]), str(files["binance_spot_trades"]))
    assert "binance-futures BTCUSDT" in stdout
    assert len(tardis) == len(binance) == len(spot) == 298
    for a, b, c in zip(tardis, binance, spot, strict=True):
        assert a.ts == b.ts == c.ts
        assert a.book == b.book == c.book
        assert [t.ts for t in a.trades] == [t.ts for t in b.trades] == [t.ts for t in c.trades]
    # aggTrades' is_buyer_maker: true is a taker sell
    assert binance[1].trades[0].taker_side is Side.SELL and binance[1].trades[0].price == D("30000.0")


def test_binance_book_depth_becomes_band_levels(files: dict[str, Path], tmp_path: Path) -> None:
    snaps, _, _ = imported(tmp_path / "d.jsonl", "--format", "binance", str(files["binance_book_depth"]))
    assert [s.ts for s in snaps] == [T0, T0 + 10_000]
    first, second = snaps
    assert [lv.price for lv in first.book.bids] == [D(29900), D(29800), D(29700), D(29600), D(29500)]
    assert [lv.price for lv in first.book.asks] == [D(30100), D(30200), D(30300), D(30400), D(30500)]
    assert {lv.quantity for lv in first.book.bids + first.book.asks} == {D(1)}
    assert {lv.quantity for lv in second.book.bids + second.book.asks} == {D(2)}


def test_csv_through_a_column_mapping(files: dict[str, Path], tmp_path: Path) -> None:
    snaps, _, _ = imported(tmp_path / "c.jsonl", "--format", "csv", "--symbol", "BTCUSDT", "--exchange",
                                "binance-futures", "--columns", "ts=time,bid=bp,bid_size=bq,ask=ap,ask_size=aq",
                                str(files["csv_quotes"]))
    assert len(snaps) == 298 and snaps[0].ts == T0 and snaps[0].best_bid == D("30000.0")
    status, _, stderr = invoke("data", "import", "--format", "csv", "--out", str(tmp_path / "x.jsonl"), "--symbol",
                               "X", "--columns", "ts=time,bid=bp", "--price-increment", "0.1", "--size-increment",
                               "0.001", str(files["csv_quotes"]))
    assert status == 2
    assert "a book mapping needs ask, bid_size, ask_size too" in stderr


def test_instrument_options_and_unknown_markets(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "m.bks"
    imported(out, "--format", "tardis", "--min-size", "0.002", "--maker-fee", "1.5", "--quote", "USDC",
             str(files["tardis_quotes"]))
    instrument = file_instrument(out)
    assert (instrument.price_increment, instrument.size_increment, instrument.min_size) == (D("0.1"), D("0.001"),
                                                                                            D("0.002"))
    assert (instrument.maker_fee_bps, instrument.taker_fee_bps, instrument.quote) == (D("1.5"), D(5), "USDC")
    status, _, stderr = invoke("data", "import", "--format", "csv", "--out", str(tmp_path / "x.jsonl"), "--symbol",
                               "FOO", "--columns", "ts=time,bid=bp,bid_size=bq,ask=ap,ask_size=aq",
                               str(files["csv_quotes"]))
    assert status == 2
    assert "botkit knows no instrument for csv FOO" in stderr and "--price-increment" in stderr


def _bad_book(path: Path) -> Path:
    lines = ["exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"]
    for k in range(10):
        lines.append(f"binance-futures,BTCUSDT,{(T0 + k) * 1000},{(T0 + k) * 1000},1,100.1,100.0,1")
    lines[3] = f"binance-futures,BTCUSDT,{(T0 + 2) * 1000},{(T0 + 2) * 1000},1,abc,100.0,1"  # unparsable
    lines[5] = f"binance-futures,BTCUSDT,{(T0 - 5) * 1000},{(T0 - 5) * 1000},1,100.1,100.0,1"  # time back
    lines[7] = f"binance-futures,ETHUSDT,{(T0 + 6) * 1000},{(T0 + 6) * 1000},1,100.1,100.0,1"  # mixed symbol
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_rows_are_counted_and_reported_by_file_and_line(tmp_path: Path) -> None:
    bad = _bad_book(tmp_path / "bad.csv")
    out = tmp_path / "m.jsonl"
    snaps, _, stderr = imported(out, "--format", "tardis", str(bad), code=2)
    assert len(snaps) == 7
    assert f"bad rows: {bad}: 3 skipped" in stderr
    assert f"{bad}:4: price: expected a number" in stderr or f"{bad}:4: asks[0].price" in stderr
    assert f"{bad}:6: time goes back" in stderr
    assert f"{bad}:8: mixed symbols: 'ETHUSDT' in a file of 'BTCUSDT'" in stderr
    assert "rerun with --strict" in stderr
    status, _, stderr = invoke("data", "import", "--format", "tardis", "--strict", "--force", "--out", str(out),
                               str(bad))
    assert status == 2
    assert f"{bad}:4:" in stderr and f"{bad}:6:" not in stderr


def test_a_truncated_gzip_keeps_every_complete_row_and_says_where_it_ends(files: dict[str, Path],
                                                                         tmp_path: Path) -> None:
    cut = make.truncated(files["tardis_book"])
    snaps, _, stderr = imported(tmp_path / "m.jsonl", "--format", "tardis", str(cut), code=2)
    assert 0 < len(snaps) < 298
    assert "the gzip stream ends early" in stderr and str(cut) in stderr
    with gzip.open(files["tardis_book"], "rt") as whole:
        assert len(snaps) < sum(1 for _ in whole) - 1


def test_unknown_shapes_and_mixed_files_are_refused_with_the_fix(files: dict[str, Path], tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("exchange,symbol,timestamp,local_timestamp,funding_rate\nx,BTCUSDT,1,1,0.1\n")
    status, _, stderr = invoke("data", "import", "--format", "tardis", "--out", str(tmp_path / "a.jsonl"), str(odd))
    assert status == 2
    assert "unknown shape" in stderr and "book_snapshot_N, quotes or trades" in stderr
    other = tmp_path / "other.csv"
    other.write_text(files["tardis_quotes"].read_text().replace("BTCUSDT", "ETHUSDT"))
    status, _, stderr = invoke("data", "import", "--format", "tardis", "--out", str(tmp_path / "b.jsonl"),
                               str(files["tardis_quotes"]), str(other))
    assert status == 2
    assert "mixed symbols" in stderr
    status, _, stderr = invoke("data", "import", "--format", "binance", "--out", str(tmp_path / "c.jsonl"),
                               str(files["binance_agg_trades"]))
    assert status == 2
    assert "no book file given" in stderr
    assert not (tmp_path / "c.jsonl").exists()
