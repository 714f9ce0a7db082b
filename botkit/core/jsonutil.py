"""JSON that keeps money exact, shared by the client, the sandbox and the snapshot files.

``json`` would read ``404.12`` as a binary float; here every JSON number with a fraction or an
exponent becomes a :class:`~decimal.Decimal` through the gate for external numbers
(:func:`botkit.core.numbers.exact_decimal`: ``1e-40000000`` anywhere in a body is refused while
parsing, before anything computes with it or writes it out digit by digit), integers stay ``int``
(timestamps; Python bounds their digits), and the non-standard ``NaN``/``Infinity`` tokens are
refused instead of becoming floats. On the way out a ``Decimal`` is written as a plain JSON number
with its exact digits.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from botkit.core.numbers import exact_decimal


class JSONDecodeError(ValueError):
    """The text is not JSON, uses NaN/Infinity, or holds a number the gate refuses (``1e-40000000``);
    raised instead of ``json.JSONDecodeError``."""


def _refuse_constant(name: str) -> Any:
    raise JSONDecodeError(f"non-standard JSON constant {name} is not a number")


def _number(text: str) -> Decimal:
    return exact_decimal(text, "JSON number")


_decoder = json.JSONDecoder(parse_float=_number, parse_constant=_refuse_constant)


def loads(text: str | bytes) -> Any:
    """Parse JSON text, numbers with a fraction as Decimal."""
    if isinstance(text, bytes | bytearray):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONDecodeError(f"not UTF-8: {exc}") from None
    try:
        return _decoder.decode(text)
    except ValueError as exc:  # json.JSONDecodeError, a NumberError, and int() past its digit limit
        raise JSONDecodeError(str(exc)) from None
    except RecursionError:
        raise JSONDecodeError("JSON nested too deeply") from None


def decimal_text(value: Decimal) -> str:
    """The exact digits of ``value`` as a JSON number, never in exponent form."""
    if not value.is_finite():
        raise ValueError(f"{value} cannot be written as a JSON number")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def _default(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """Serialize to compact JSON, Decimal values as exact JSON numbers."""
    return "".join(_encode(value))


def _encode(value: Any) -> list[str]:
    out: list[str] = []
    _write(value, out)
    return out


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, Decimal):
        out.append(decimal_text(value))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(json.dumps(str(key)))
            out.append(":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    elif isinstance(value, float):
        raise TypeError(f"float {value!r} in money JSON: use Decimal")
    else:
        out.append(json.dumps(value, default=_default))
