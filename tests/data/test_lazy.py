"""The lazy snapshots' shortcuts give the very Decimals (digits and exponent) that arithmetic on
the built values gives: reports are compared byte for byte across readers."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from botkit.data.lazy import cents, cents_mid_spread

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
