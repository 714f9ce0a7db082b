"""Exact numbers from outside botkit: the one gate every external number passes before arithmetic.

A number that arrives from the wire, a snapshot file, the config or the command line can be
hostile. ``Decimal("1e-40000000")`` is cheap to build, but the first exact operation on it (the
integer ratio, a ``quantize`` into whole units, writing it without an exponent) builds a
40-million-digit integer and holds the GIL for minutes: one such request froze every connection
of the sandbox. And ``Decimal`` is lenient where a contract must be strict: it reads ``"1_00"``,
``" 100 "``, Arabic-Indic ``"١٠٠"`` and full-width ``"１００"`` all as 100.

:func:`exact_decimal` is the gate. It checks the *shape* of the number before any arithmetic
touches it, in time bounded by the length of its text:

* a string is ASCII decimal notation only (``-?digits[.digits][e±digits]``, at most
  :data:`MAX_TEXT` characters): no blanks, underscores, ``+`` signs, ``NaN``/``Infinity``,
  or non-ASCII digits;
* the value is finite, below ``1e40`` in magnitude (adjusted exponent at most
  :data:`MAX_ADJUSTED`), and has at most :data:`MAX_PLACES` decimal places (so it is zero or at
  least ``1e-40``): at most 80 significant digits, whatever exponent it is written with;
* a ``float`` is refused (money is exact), and so is a ``bool``.

Every real amount (prices, quantities, balances, fees, seconds, basis points) fits with room to
spare; callers then apply their own domain limits (whole cents, a maximum price, ...). A refusal is
a :class:`NumberError` whose message names the field; each entry point turns it into its own error
(a 400 on the wire, a line error in a file, a key error in the config).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from botkit.core.errors import ConfigError

MAX_ADJUSTED = 39
"""Largest adjusted exponent (of the leading digit): magnitudes below 1e40."""
MAX_PLACES = 40
"""Most digits after the decimal point: the smallest non-zero magnitude is 1e-40."""
MAX_TEXT = 100
"""Longest text of a number: more cannot be within the bounds above without padding."""
_LIMIT = 10 ** (MAX_ADJUSTED + 1)
_SHOWN_BITS = 400
"""Longest int :func:`short` writes out (about 120 digits)."""
_LOG10_2 = 0.30103


class NumberError(ValueError):
    """An external number refused before any arithmetic: ``what`` names the field, ``reason``
    says why (and the message is ``"{what}: {reason}"``)."""

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(f"{what}: {reason}")
        self.what = what
        self.reason = reason


def exact_decimal(value: object, what: str) -> Decimal:
    """``value`` (a ``Decimal``, an ``int`` or a decimal string) as an exact, bounded Decimal.

    Raises :class:`NumberError` naming ``what`` for anything else; see the module's rules. The
    check costs time proportional to the length of the value's text, never to its exponent.
    """
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise NumberError(what, f"is {len(value)} characters long, more than any number botkit takes")
        # What Decimal() reads beyond ASCII decimal notation: non-ASCII digits, blanks around the
        # number, underscores between digits, a "+" sign (NaN and Infinity are refused as not finite).
        if not value.isascii() or "_" in value or value[:1] == "+" or value.strip() != value:
            raise NumberError(what, f"expected a number, got {value!r}: write it in ASCII digits, e.g. \"1.25\"")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise NumberError(what, f"expected a number, got {value!r}: write it in ASCII digits, "
                                    f"e.g. \"1.25\"") from None
        if len(value) <= MAX_PLACES and "e" not in value and "E" not in value and number.is_finite():
            return number  # at most 40 characters of plain notation: within both bounds
    elif isinstance(value, bool):
        raise NumberError(what, f"expected a number, got {value!r}")
    elif isinstance(value, int):
        if -_LIMIT < value < _LIMIT:
            return Decimal(value)
        raise NumberError(what, f"is out of range: at most {MAX_ADJUSTED + 1} digits before the point")
    elif isinstance(value, float):
        raise NumberError(what, f"float {value!r} is not exact: write it as a decimal string, e.g. \"1.25\"")
    else:
        raise NumberError(what, f"expected a number, got {type(value).__name__}")
    if not number.is_finite():
        raise NumberError(what, f"{short(number)} is not a finite number")
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if exponent < -MAX_PLACES:
        raise NumberError(what, f"{short(number)} has more than {MAX_PLACES} decimal places")
    if number.adjusted() > MAX_ADJUSTED:  # for zero, adjusted() is the exponent: 0E+50 is refused too
        raise NumberError(what, f"{short(number)} is out of range: it must be below 1e{MAX_ADJUSTED + 1}")
    return number


def short(number: Decimal | int) -> str:
    """A number for an error message: short whatever its size (never expanded, digits elided).

    An int too long to show is described by its size: ``str()`` of one refuses past 4300 digits
    (and takes quadratic time below that), so it is never converted.
    """
    if isinstance(number, int) and number.bit_length() > _SHOWN_BITS:
        sign = "a negative" if number < 0 else "an"
        return f"{sign} integer of about {round(number.bit_length() * _LOG10_2)} digits"
    text = str(number)
    return text if len(text) <= 40 else f"{text[:20]}...{text[-12:]} ({len(text)} characters)"


def exact_number(value: Any, key: str, shown: str) -> Decimal:
    """A config or parameter value as an exact, bounded Decimal (TOML floats arrive as Decimal),
    through the one gate for external numbers (:func:`botkit.core.numbers.exact_decimal`); ``shown`` is
    how a value of the wrong type may appear in the error (a secret's is hidden)."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise ConfigError(key, f"expected a number, got {shown}", 'write it as 1.5 or "1.5"')
    try:
        return exact_decimal(value, key)
    except NumberError as exc:
        raise ConfigError(key, exc.reason) from None
