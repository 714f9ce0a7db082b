"""Backtests on an imported market (price increment 0.1, size increment 0.001, the data's own
fees), outcomes computed by hand; and the instrument's grid in the venue, validation and engine."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from botkit.backtest.runner import BacktestResult, run_backtest
from botkit.backtest.settings import BacktestSettings
from botkit.config import parse
from botkit.core.errors import OrderRejected
from botkit.data.files import convert, file_instrument
from botkit.instrument import BUTTERCOIN, Instrument
from botkit.model import BookLevel, OrderBook, PlaceOrder, Side, Snapshot, Ticker
from botkit.strategy.validation import check_order
from botkit.venues.simulated import SimulatedVenue
from tests.backtest.commands import invoke
from tests.data.fixtures import make

D = Decimal
T0 = make.T0_MS
STRATEGIES = [Path(__file__).parents[1] / "backtest" / "strategies", Path(__file__).parent / "strategies"]
MARKET = Instrument(D("0.1"), D("0.001"), D("0.002"), "BTC", "USDT", D(2), D(5), "binance-futures", "BTCUSDT")


@pytest.fixture(scope="module", params=[".jsonl", ".bks"])
def market(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("market")
    files = make.write_all(folder)
    out = folder / f"market{request.param}"
    status, _, stderr = invoke("data", "import", "--format", "tardis", "--min-size", "0.002", "--out", str(out),
                               str(files["tardis_book"]), str(files["tardis_trades"]))
    assert status == 0, stderr
    return out


def backtest(tmp_path: Path, data: Path, strategy: str, params: dict[str, object]) -> BacktestResult:
    config = parse({"strategy_paths": [str(p) for p in STRATEGIES],
                    "journal": {"url": f"sqlite:///{tmp_path / 'unused.sqlite'}"}})
    options = BacktestSettings.options(config, initial={"USD": D(1000), "BTC": D(0)}, data=data)
    settings = BacktestSettings(data=data, strategies=(strategy,), params={strategy: params}, bar_ms=1000, **{
        key: value for key, value in options.items() if key != "bar_ms"})
    return run_backtest(config, settings)


def test_a_resting_bid_filled_by_prints_on_the_imported_market(market: Path, tmp_path: Path) -> None:
    at = T0 + 1000  # book row 10
    result = backtest(tmp_path, market, "scripted", {"script": [
        f"{at} buy 0.005 29999.5",
        f"{at} sell 0.001 30010.0",  # below the instrument's minimum of 0.002: refused
        f"{at} sell 0.002 30010.05",  # off the 0.1 price grid: refused
        f"{at} buy 0.0025 29990.0",  # off the 0.001 size grid: refused
    ]})
    assert result.venue.instrument == MARKET
    assert (result.venue.maker_fee_bps, result.venue.taker_fee_bps) == (D(2), D(5))  # the data's fees
    assert result.summary["rejected"] == 3
    # the bid rests (best ask 30000.1); a print at 29999.4 (row 20) fills 0.003 of it, one at 29999.0
    # (row 30) the other 0.002, both as maker at 29999.5: 149.9975 USDT and a 2 bps fee of 0.0299995
    (order,) = result.venue.orders_since(0)
    assert [(f.ts, f.price, f.quantity, f.fee) for f in order.fills] == [
        (T0 + 2060, D("29999.5"), D("0.003"), D("0.0179997")),
        (T0 + 3060, D("29999.5"), D("0.002"), D("0.0119998")),
    ]
    m = result.metrics
    assert result.venue.usd == D("849.9725005")  # 1000 - 149.9975 - 0.0299995
    assert result.venue.btc == D("0.005")
    assert m.end_equity == D("999.9747505")  # + 0.005 x the last mid, 30000.45
    assert m.fees == D("0.0299995")
    assert "binance-futures BTCUSDT (USD below means USDT" in result.table()


def test_ctx_instrument_is_the_datas(market: Path, tmp_path: Path) -> None:
    result = backtest(tmp_path, market, "grid_probe", {})
    (order,) = result.venue.orders_since(0)
    # first snapshot: best bid 30000.0; five increments of 0.1 under it, the minimum size 0.002
    assert (order.price, order.quantity, order.created_ts) == (D("29999.5"), D("0.002"), T0)


def _snapshot() -> Snapshot:
    book = OrderBook((BookLevel(D("100.0"), D(1)),), (BookLevel(D("100.1"), D(1)),))
    return Snapshot(0, Ticker(D(0), D("100.0"), D("100.1")), book)


@pytest.mark.parametrize(("quantity", "price", "problem"), [
    ("0.0015", "99.0", "quantity 0.0015 is not a multiple of the 0.001 BTC size increment"),
    ("0.001", "99.0", "quantity 0.001 is below the minimum size of 0.002 BTC"),
    ("0.002", "99.05", "price 99.05 is not a multiple of the 0.1 USDT price increment"),
])
def test_the_simulated_venue_refuses_off_grid_orders_like_a_400(quantity: str, price: str, problem: str) -> None:
    venue = SimulatedVenue({"USD": D(1000)}, instrument=MARKET)
    venue.observe(_snapshot())
    with pytest.raises(OrderRejected) as caught:
        venue.place_order(Side.BUY, D(quantity), D(price))
    assert str(caught.value) == problem
    assert caught.value.code == "invalid"
    assert venue.place_order(Side.BUY, D("0.002"), D("99.0"))


def test_validation_uses_the_instruments_grid() -> None:
    assert check_order(PlaceOrder(Side.BUY, D("0.002"), D("99.1")), MARKET)[1] is None
    assert check_order(PlaceOrder(Side.BUY, D("0.002"), D("99.15")), MARKET)[1] == (
        "price 99.15 is not a multiple of the 0.1 USDT tick")
    assert check_order(PlaceOrder(Side.BUY, D("0.0025"), D("99.1")), MARKET)[1] == (
        "quantity 0.0025 has more than 3 decimals")
    quarter = Instrument(price_increment=D("0.25"), size_increment=D("0.5"), min_size=D("0.5"))
    assert check_order(PlaceOrder(Side.BUY, D("1.5"), D("99.75")), quarter)[1] is None
    assert check_order(PlaceOrder(Side.BUY, D("1.5"), D("99.8")), quarter)[1] == (
        "price 99.8 is not a multiple of the 0.25 USD tick")
    assert check_order(PlaceOrder(Side.BUY, D("1.2"), D("99.75")), quarter)[1] == (
        "quantity 1.2 is not a multiple of the 0.5 BTC size increment")
    # Buttercoin's grid, the default, is what it always was
    assert check_order(PlaceOrder(Side.BUY, D("0.00000001"), D("99.01")))[1] is None


def test_instruments_round_trip_and_old_files_are_buttercoin(tmp_path: Path) -> None:
    assert Instrument.from_json(MARKET.to_json(), "here") == MARKET
    assert BUTTERCOIN.to_json()["size_increment"] == "0.00000001"
    with pytest.raises(ValueError, match="here: instrument price_increment must be positive"):
        Instrument.from_json({**MARKET.to_json(), "price_increment": "0"}, "here")
    with pytest.raises(TypeError, match="not float"):
        Instrument(price_increment=0.1)  # type: ignore[arg-type]
    old_jsonl = tmp_path / "old.jsonl"
    old_jsonl.write_text('{"ts":1,"ticker":{"last":1,"bid":1,"ask":2},"orderbook":{"bid":[],"ask":[]}}\n')
    assert file_instrument(old_jsonl) == BUTTERCOIN
    convert(old_jsonl, tmp_path / "old.bks")
    assert file_instrument(tmp_path / "old.bks") == BUTTERCOIN
    convert(tmp_path / "old.bks", tmp_path / "again.jsonl")
    assert not (tmp_path / "again.jsonl").read_text().startswith('{"botkit:instrument"')  # stays headerless


@pytest.mark.parametrize("template", ["snapshot", "market-maker"])
def test_a_generated_strategy_prices_on_the_imported_markets_grid(market: Path, tmp_path: Path,
                                                                   template: str) -> None:
    """botkit new-strategy's templates round to ``ctx.instrument.price_increment``: on a 0.1 USDT
    market their orders were refused (they rounded to Buttercoin's cent)."""
    status, _, stderr = invoke("new-strategy", "gridbot", "--template", template, "--dir", str(tmp_path))
    assert status == 0, stderr
    config = parse({"strategy_paths": [str(tmp_path)], "journal": {"url": f"sqlite:///{tmp_path / 'j.sqlite'}"}})
    options = BacktestSettings.options(config, initial={"USD": D(1000), "BTC": D(1)}, data=market)
    settings = BacktestSettings(data=market, strategies=("gridbot",), params={"gridbot": {"size": D("0.002")}},
                                **options)
    result = run_backtest(config, settings)
    assert result.summary["rejected"] == 0 and result.summary["strategy_failures"] == 0
    assert result.metrics.orders > 0
