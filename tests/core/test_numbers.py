"""The gate for external numbers: exact values in, hostile shapes refused before any arithmetic."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botkit.core.numbers import MAX_ADJUSTED, MAX_PLACES, MAX_TEXT, NumberError, exact_decimal, short

HOSTILE: list[tuple[Any, str]] = [
    ("1e-40000000", "decimal places"),
    ("1E+40000000", "out of range"),
    (Decimal("1e-40000000"), "decimal places"),
    (Decimal("-1e40000000"), "out of range"),
    ("0e40000000", "out of range"),
    ("1e-41", "decimal places"),
    ("1e40", "out of range"),
    ("0e-40000000", "decimal places"),
    (10**40, "out of range"),
    (-(10**40), "out of range"),
    ("1" * (MAX_TEXT + 1), "characters long"),
    ("1_00", "ASCII digits"),
    (" 100", "ASCII digits"),
    ("100\n", "ASCII digits"),
    ("\u0661\u0660\u0660", "ASCII digits"),  # Arabic-Indic 100
    ("\uff11\uff10\uff10", "ASCII digits"),  # full-width 100
    ("\u00b2", "ASCII digits"),  # superscript two: str.isdigit() says yes
    ("+1", "ASCII digits"),
    ("0x10", "ASCII digits"),
    ("1e", "ASCII digits"),
    ("", "ASCII digits"),
    ("NaN", "finite"),
    ("-Infinity", "finite"),
    (Decimal("sNaN"), "finite"),
    (Decimal("Infinity"), "finite"),
    (1.5, "float"),
    (True, "expected a number"),
    (None, "expected a number"),
    ([1], "expected a number"),
]


@pytest.mark.parametrize(("value", "words"), HOSTILE, ids=[repr(v)[:30] for v, _ in HOSTILE])
def test_hostile_numbers_are_refused_naming_the_field(value: Any, words: str) -> None:
    with pytest.raises(NumberError) as caught:
        exact_decimal(value, "order.quantity")
    assert caught.value.what == "order.quantity"
    assert str(caught.value).startswith("order.quantity: ")
    assert words in caught.value.reason
    assert len(str(caught.value)) < 200  # a huge value is never echoed in full


@pytest.mark.parametrize(("value", "expected"), [
    ("1.25", Decimal("1.25")),
    ("-0.5", Decimal("-0.5")),
    ("404.12", Decimal("404.12")),
    (".5", Decimal("0.5")),
    ("5.", Decimal(5)),
    ("1e3", Decimal(1000)),
    ("0", Decimal(0)),
    (0, Decimal(0)),
    (21_000_000, Decimal(21_000_000)),
    (Decimal("0.00000001"), Decimal("0.00000001")),
    ("9" * 40, Decimal("9" * 40)),
    ("0." + "0" * 39 + "1", Decimal("1e-40")),
])
def test_ordinary_numbers_pass_unchanged(value: Any, expected: Decimal) -> None:
    number = exact_decimal(value, "x")
    assert number == expected
    assert isinstance(number, Decimal)


def test_a_decimal_passes_as_the_same_object() -> None:
    value = Decimal("1.50")
    assert exact_decimal(value, "x") is value


bounded = st.decimals(
    min_value=Decimal("-1e39"), max_value=Decimal("1e39"), allow_nan=False, allow_infinity=False, places=8
)


@given(bounded)
def test_every_bounded_decimal_and_its_text_pass_exactly(value: Decimal) -> None:
    assert exact_decimal(value, "x") == value
    assert exact_decimal(str(value), "x") == value
    assert exact_decimal(format(value, "f"), "x") == value


NOTATION = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
"""The decimal notation the gate accepts (ASCII digits; no blanks, underscores or "+" sign)."""


@given(st.one_of(st.text(max_size=120), st.from_regex(NOTATION, fullmatch=True),
                 st.text(alphabet="0123456789.eE+-_ \t\x1cnaNIfity\u0661\uff11", max_size=50)))
def test_any_text_is_a_bounded_number_or_a_number_error(text: str) -> None:
    try:
        number = exact_decimal(text, "x")
    except NumberError:
        return
    assert NOTATION.fullmatch(text) and text.isascii(), text
    assert number.is_finite()
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int) and exponent >= -MAX_PLACES
    assert number.adjusted() <= MAX_ADJUSTED


@given(st.integers(min_value=-(10**10_000), max_value=10**10_000))
def test_integers_pass_exactly_or_are_refused_as_out_of_range(value: int) -> None:
    if abs(value) < 10 ** (MAX_ADJUSTED + 1):
        assert exact_decimal(value, "x") == value
    else:
        with pytest.raises(NumberError, match="out of range"):
            exact_decimal(value, "x")


@given(st.integers(min_value=-(10**9), max_value=10**9), st.integers(min_value=1, max_value=9))
def test_any_exponent_beyond_the_bounds_is_refused(exponent: int, digit: int) -> None:
    value = Decimal(f"{digit}e{exponent}")
    inside = -MAX_PLACES <= exponent <= MAX_ADJUSTED
    try:
        assert exact_decimal(value, "x") == value
        assert exact_decimal(f"{digit}e{exponent}", "x") == value
        assert inside
    except NumberError:
        assert not inside


@pytest.mark.parametrize(("number", "shown"), [
    (Decimal("1.25"), "1.25"),
    (Decimal("1e-40000000"), "1E-40000000"),
    (Decimal("1" * 100), "11111111111111111111...111111111111 (100 characters)"),
    (10**39, "1" + "0" * 39),
    (10**5000, "an integer of about 5000 digits"),  # str() of it raises past 4300 digits
    (-(10**200_000), "a negative integer of about 200000 digits"),
], ids=["plain", "tiny", "long", "int", "huge-int", "huge-negative-int"])
def test_short_shows_any_number_briefly_without_converting_a_huge_int(number: Decimal | int, shown: str) -> None:
    assert short(number) == shown
