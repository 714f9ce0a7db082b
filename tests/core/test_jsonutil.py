"""``botkit.core.jsonutil``: money-exact JSON in and out."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botkit.core import jsonutil
from botkit.core.numbers import NumberError, exact_decimal

D = Decimal


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.1", D("0.1")),
        ("1e-8", D("1e-8")),
        ("1E+2", D("1E+2")),
        ("-0.0", D("-0.0")),
        (
            "123456789012345678901234567890.123456789012345678901234567890",
            D("123456789012345678901234567890.123456789012345678901234567890"),
        ),
        ("123456789012345678901234567890", 123456789012345678901234567890),
        ("1410806083687", 1410806083687),
    ],
)
def test_numbers_are_exact(text: str, value: Any) -> None:
    parsed = jsonutil.loads(text)
    assert parsed == value
    assert type(parsed) is type(value)
    assert str(parsed) == str(value)


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "Infinity",
        "-Infinity",
        '{"a":NaN}',
        "[1,Infinity]",
        "",
        "{",
        "'a'",
        "1" * 5000,
        "[" * 100_000,
        b"\xff",
        "[1,]",
        '{"a" 1}',
    ],
)
def test_refused_text(text: str | bytes) -> None:
    with pytest.raises(jsonutil.JSONDecodeError):
        jsonutil.loads(text)


def test_decode_error_is_not_the_json_module_error() -> None:
    with pytest.raises(jsonutil.JSONDecodeError) as info:
        jsonutil.loads("{")
    assert not isinstance(info.value, json.JSONDecodeError)
    assert info.value.__cause__ is None


def test_bytes_are_utf8() -> None:
    assert jsonutil.loads('{"a":"é"}'.encode()) == {"a": "é"}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("0.1"), "0.1"),
        (D("1e-8"), "0.00000001"),
        (D("1E+3"), "1000"),
        (D("0.10"), "0.1"),
        (D("-0"), "0"),
        (D("0E-8"), "0"),
        (D("-1.50"), "-1.5"),
        (D("123456789012345678901234567890.123456789"), "123456789012345678901234567890.123456789"),
    ],
)
def test_decimal_text(value: Decimal, text: str) -> None:
    assert jsonutil.decimal_text(value) == text
    assert jsonutil.dumps(value) == text


@pytest.mark.parametrize("value", [D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity")])
def test_non_finite_decimals_are_refused(value: Decimal) -> None:
    with pytest.raises(ValueError, match="JSON number"):
        jsonutil.dumps({"a": [value]})


@pytest.mark.parametrize("value", [0.1, {"a": 1.0}, [float("nan")], {"a": {"b": (2.5,)}}])
def test_floats_are_refused(value: Any) -> None:
    with pytest.raises(TypeError, match="float"):
        jsonutil.dumps(value)


def test_dumps_is_compact_and_keeps_order() -> None:
    assert jsonutil.dumps({"b": [1, True, None, "x"], "a": {"c": D("2.50")}}) == (
        '{"b":[1,true,null,"x"],"a":{"c":2.5}}'
    )
    assert jsonutil.dumps({"s": 'quote " and é'}) == '{"s":"quote \\" and \\u00e9"}'


def test_dumps_refuses_unknown_types() -> None:
    with pytest.raises(TypeError):
        jsonutil.dumps({"a": object()})


def _within_bounds(text: str) -> bool:
    try:
        exact_decimal(text, "v")
    except NumberError:
        return False
    return True


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_decimal_round_trip_is_value_exact_within_the_number_bounds(value: Decimal) -> None:
    text = jsonutil.dumps({"v": value})
    if "." not in text or _within_bounds(text[5:-1]):
        assert jsonutil.loads(text)["v"] == value
    else:  # more than 40 places: refused while parsing, before any arithmetic
        with pytest.raises(jsonutil.JSONDecodeError, match="JSON number"):
            jsonutil.loads(text)


@pytest.mark.parametrize("text", ["1e-40000000", "-1E+40000000", "0e-99999999", "1e40", "1." + "0" * 41 + "1"])
def test_a_json_number_out_of_bounds_is_refused_while_parsing(text: str) -> None:
    with pytest.raises(jsonutil.JSONDecodeError, match="JSON number"):
        jsonutil.loads('{"quantity": ' + text + "}")


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False, places=10).map(lambda d: d.normalize()),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=15,
)


@given(JSON_VALUES)
def test_round_trip(value: Any) -> None:
    assert jsonutil.loads(jsonutil.dumps(value)) == value
