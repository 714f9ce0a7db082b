"""The engine's first look at what a strategy returned: is it well-formed intents at all?

Risk rules judge whether an order is wise; this module only judges whether it is an order: exact
positive amounts on the exchange's grid, within sane bounds. A strategy returning anything else
is failing. (An order below the minimum quantity is well formed, only too small, as what is left
of a position after a partial fill can be: the engine refuses it without counting a failure.)

Everything here runs inside the strategy's isolated call (:meth:`StrategyHost.ask`), on values the
strategy built, so it must not raise or take long whatever it is given: only botkit's own types
are accepted, not subclasses (a subclass can override any method or property, and so answer one
thing to the check and another to the exchange), and a number passes the bounds every external
number passes (:func:`botkit.core.numbers.exact_decimal`: finite, digits and exponent read before any
arithmetic) before the grid is checked (``Decimal("1e30") % Decimal("1e-8")`` raises
``InvalidOperation``; arithmetic on ``1e-40000000`` takes minutes). An intent that passes is
copied from the checked values, so what the risk rules judge is what is journaled and sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from botkit.core.numbers import NumberError, exact_decimal, short
from botkit.instrument import BUTTERCOIN, Instrument, decimal_places
from botkit.model import (
    CancelAll,
    CancelOrder,
    Intent,
    PlaceOrder,
    Side,
)

MAX_QUANTITY = Decimal(21_000_000)
"""Largest order quantity in BTC that is an order at all: no more bitcoin will ever exist."""
MAX_PRICE = Decimal(1_000_000_000)
"""Largest limit price in USD per BTC that is a price at all (risk's price band judges sense)."""
MAX_TEXT = 64
"""Longest tag or order id: the journal's column width."""
SHOWN = 60
"""Longest rendering of a strategy's value in a message, a log line or the journal."""
INTENT_TYPES = (PlaceOrder, CancelOrder, CancelAll)

Checked = tuple[Intent, str | None]
"""An intent with what is wrong with it (None when it is well formed)."""


class JunkResult(Exception):
    """A strategy returned something that is not None or an iterable of intents."""


def vet(result: Any, limit: int, instrument: Instrument = BUTTERCOIN) -> list[Checked]:
    """A hook's return value as intents, each checked against ``instrument``'s grid: the whole
    result is refused (JunkResult) when it is not intents at all; a malformed intent among
    well-formed ones is marked."""
    return [check_intent(intent, instrument) for intent in collect(result, limit)]


def collect(result: Any, limit: int) -> list[Intent]:
    """Turn a hook's return value into a list of intent objects, refusing anything else."""
    if result is None:
        return []
    if type(result) in INTENT_TYPES:
        return [result]
    if isinstance(result, str | bytes | dict) or not isinstance(result, Iterable):
        raise JunkResult(f"returned {type(result).__name__}, not an iterable of intents")
    intents: list[Intent] = []
    for item in result:
        if type(item) not in INTENT_TYPES:
            raise JunkResult(f"returned a {type(item).__name__} among its intents ({_show(item)})")
        intents.append(item)
        if len(intents) > limit:
            raise JunkResult(f"returned more than {limit} intents in one tick")
    return intents


def check_intent(intent: Intent, instrument: Instrument = BUTTERCOIN) -> Checked:
    """The intent rebuilt from its checked values, or the intent as given with its problem."""
    if isinstance(intent, PlaceOrder):
        return check_order(intent, instrument)
    if isinstance(intent, CancelOrder):
        problem = _text_problem(intent.order_id, "order id", allow_empty=False)
        return (intent, problem) if problem else (CancelOrder(intent.order_id), None)
    side: object = intent.side
    if side is not None and type(side) is not Side:
        return intent, f"cancel_all side must be Side.BUY, Side.SELL or None, got {_show(side)}"
    return CancelAll(intent.side), None


def check_order(intent: PlaceOrder, instrument: Instrument = BUTTERCOIN) -> Checked:
    """An order intent rebuilt from its checked values, or as given with why it is malformed
    (off ``instrument``'s price or size grid included: the exchange would refuse it)."""
    # A PlaceOrder built by hand, around buy()/sell(), can hold anything: a side that is only
    # equal to Side.BUY ("buy") would be risk-checked as a sell, and odd values break the journal.
    side: object = intent.side
    if type(side) is not Side:
        return intent, f"side must be Side.BUY or Side.SELL, got {_show(side)}"
    problem = _text_problem(intent.tag, "tag", allow_empty=True)
    if problem:
        return intent, problem
    quantity, problem = _amount(intent.quantity, "quantity", instrument.size_increment, MAX_QUANTITY,
                                instrument.base)
    if quantity is None:
        return intent, problem
    price: Decimal | None = None
    if intent.price is not None:
        price, problem = _amount(intent.price, "price", instrument.price_increment, MAX_PRICE, instrument.quote)
        if price is None:
            return intent, problem
    return PlaceOrder(side, quantity, price, intent.tag), None


def _amount(value: object, what: str, step: Decimal, maximum: Decimal, unit: str) -> tuple[Decimal | None, str]:
    """``value`` when it is a plain Decimal amount on the grid of ``step``, or None and why.

    Stricter than the bounds of every external number (:func:`~botkit.core.numbers.exact_decimal`,
    checked here too): the type exactly ``Decimal``, positive, at most ``maximum``, at most as
    many decimals as ``step``. Until then only ``as_tuple()`` and comparisons are used, never
    arithmetic, so any Decimal is judged in time bounded by its digits, whatever its exponent;
    only a value so bounded is divided by a step that is not a power of ten (0.25, 5). What passes
    keeps the risk rules' products exact at the default 28-digit precision.
    """
    if type(value) is not Decimal:
        hint = " (money is exact: use botkit.buy/sell with a Decimal or a string)" if isinstance(value, float) else ""
        return None, f"{what} must be a Decimal, got {type(value).__name__} {_show(value)}{hint}"
    if not value.is_finite() or value.is_signed() or value.is_zero():
        return None, f"{what} must be a positive number, got {_show(value)}"
    if value > maximum:
        return None, f"{what} {_show(value)} {unit} is beyond any real order (at most {maximum})"
    places = decimal_places(step)
    decimal_step = step == Decimal(1).scaleb(-places)
    if value.adjusted() < -places:  # its leading digit is below the grid: 1E-40000000
        return None, _off_grid(value, what, step, unit, places, decimal_step)
    try:
        exact_decimal(value, what)
    except NumberError as exc:
        return None, str(exc)
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    end = len(digits)
    while end > 1 and digits[end - 1] == 0 and exponent + len(digits) - end < 0:
        end -= 1  # 0.0100 is 0.01: trailing zeros are not decimals
    exponent += len(digits) - end
    if exponent < -places or (not decimal_step and value % step):
        return None, _off_grid(value, what, step, unit, places, decimal_step)
    return value, ""


def _off_grid(value: Decimal, what: str, step: Decimal, unit: str, places: int, decimal_step: bool) -> str:
    """Why ``value`` is off the grid of ``step``: written only for a value that is (every order
    of every tick is checked)."""
    if what == "price":
        return f"price {_show(value)} is not a multiple of the {step} {unit} tick"
    if decimal_step and places:
        return f"{what} {_show(value)} has more than {places} decimals"
    return f"{what} {_show(value)} is not a multiple of the {step} {unit} size increment"


def _text_problem(value: object, what: str, *, allow_empty: bool) -> str | None:
    if type(value) is not str:
        return f"{what} must be a string, got {type(value).__name__}"
    if len(value) > MAX_TEXT or not value.isprintable() or not (value or allow_empty):
        least = 0 if allow_empty else 1
        return f"{what} must be {least} to {MAX_TEXT} printable characters, got {_show(value)}"
    return None


def describe(intent: Intent) -> str:
    """The intent in words for logs and the journal, safe for a malformed one: only builtin types
    are rendered, each clipped, and nothing of the strategy's code runs."""
    if isinstance(intent, PlaceOrder):
        side: object = intent.side
        where = "market" if intent.price is None else f"@ {_show(intent.price)}"
        tag: object = intent.tag
        text = f"{_show(side.value if type(side) is Side else side, as_written=True)} {_show(intent.quantity)} {where}"
        return text + (f" [{_show(tag, as_written=True)}]" if tag else "")
    if isinstance(intent, CancelOrder):
        return f"cancel {_show(intent.order_id, as_written=True)}"
    side = intent.side
    shown = _show(side.value if type(side) is Side else side, as_written=True)
    return "cancel all" + (f" {shown}" if side is not None else "")


def _show(value: object, *, as_written: bool = False) -> str:
    """A clipped rendering that runs no strategy code: only builtin scalar types are shown (a
    number as :func:`~botkit.core.numbers.short` shows it, a string quoted, or as written when asked
    and printable), any other value by its type's name."""
    if type(value) is Decimal or type(value) is int:
        return short(value)
    if type(value) is str:
        text = value if as_written and value.isprintable() else repr(value)
    elif type(value) in (float, bool, type(None)):
        text = repr(value)
    else:
        return f"<{type(value).__name__}>"
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."
