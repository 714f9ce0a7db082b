"""One fee rule: the sandbox and the simulated venue charge a fill the same fee, to the digit."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from botkit.core import money
from botkit.data.lazy import units_text
from botkit.model import BookLevel, Liquidity, OrderBook, Side, Snapshot, Ticker
from botkit.sandbox import Exchange, FeeSchedule, SandboxAccount
from botkit.venues.simulated import SimulatedVenue

D = Decimal
PRICE, QUANTITY = D("404.13"), D("0.12345678")
MAKER_BPS, TAKER_BPS = D("7.5"), D("12.5")


def sandbox_fills() -> tuple[Decimal, Decimal]:
    """(maker fee, taker fee) of one fill of QUANTITY at PRICE on the sandbox."""
    ex = Exchange(FeeSchedule(MAKER_BPS, TAKER_BPS))
    for key in ("maker", "taker"):
        ex.add_account(SandboxAccount(key, "s" * 32, {"USD": D(100_000), "BTC": D(10)}))
    ask = ex.submit_order("maker", "sell", "limit", str(PRICE), str(QUANTITY))
    bid = ex.submit_order("taker", "buy", "limit", str(PRICE), str(QUANTITY))
    (maker,) = ex.order("maker", ask).fills
    (taker,) = ex.order("taker", bid).fills
    assert (maker.liquidity, taker.liquidity) == (Liquidity.MAKER, Liquidity.TAKER)
    return maker.fee, taker.fee


def venue_taker_fee() -> Decimal:
    """The taker fee of the same fill on the simulated venue (backtests, paper trading)."""
    venue = SimulatedVenue({"USD": D(100_000), "BTC": D(0)}, MAKER_BPS, TAKER_BPS)
    book = OrderBook(bids=(BookLevel(D("404.00"), D(1)),), asks=(BookLevel(PRICE, D(1)),))
    venue.observe(Snapshot(ts=1, ticker=Ticker(last=PRICE, bid=D("404.00"), ask=PRICE), book=book))
    (fill,) = venue.order(venue.place_order(Side.BUY, QUANTITY, PRICE)).fills
    assert fill.liquidity is Liquidity.TAKER
    return fill.fee


def test_the_sandbox_and_the_simulated_venue_charge_the_same_fee_to_the_digit() -> None:
    notional = PRICE * QUANTITY  # 49.8928478... USD, exact
    maker_fee, taker_fee = sandbox_fills()
    assert str(taker_fee) == str(venue_taker_fee()) == str(money.fee(notional, TAKER_BPS))
    assert str(maker_fee) == str(money.fee(notional, MAKER_BPS))
    assert taker_fee == notional * TAKER_BPS / 10_000  # notional × bps / 10000, never rounded
    assert maker_fee == notional * MAKER_BPS / 10_000


@given(st.integers(-(10**40), 10**40), st.integers(0, 30))
def test_units_to_decimal_is_the_decimal_of_the_shortest_text(units: int, decimals: int) -> None:
    """The readers' Decimal of cents or satoshis is the one the live client parses from the same
    JSON number (its shortest text): digits and exponent, whatever the shortcut taken."""
    expected = Decimal(units_text(units, decimals))
    assert money.units_to_decimal(units, decimals).as_tuple() == expected.as_tuple()


@given(st.integers(-(10**40), 10**40), st.integers(-30, 30))
def test_units_to_decimal_scales_by_any_power_of_ten(units: int, decimals: int) -> None:
    """``units`` × 10^-``decimals`` for a negative ``decimals`` too (tens, hundreds: a unit
    coarser than one), as ``scaleb`` gives it: the shortcut's table of 10^-d holds d ≥ 0 only."""
    value = money.units_to_decimal(units, decimals)
    assert value == Decimal(units).scaleb(-decimals, money.EXACT)
    assert value.as_tuple().exponent >= -max(decimals, 0)


def test_zero_units_are_zero_whatever_the_scale() -> None:
    """Zero has no trailing zeros to drop: with a negative ``decimals`` the dropping once never ended."""
    for decimals in (-3, 0, 2, 8, 40):
        assert money.units_to_decimal(0, decimals).as_tuple() == Decimal(0).as_tuple()
