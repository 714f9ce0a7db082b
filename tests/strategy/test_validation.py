"""Intent validation: exact types, numbers bounded by digits and exponent before any arithmetic."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

import botkit
from botkit.model import CancelAll, CancelOrder, PlaceOrder, Side
from botkit.strategy.validation import JunkResult, check_intent, describe, vet

D = Decimal


@pytest.mark.parametrize(("quantity", "price", "problem"), [
    ("1e30", "390", "quantity 1E+30 BTC is beyond any real order (at most 21000000)"),
    ("0.01", "1e30", "price 1E+30 USD is beyond any real order (at most 1000000000)"),
    ("1e-40000000", "390", "quantity 1E-40000000 has more than 8 decimals"),
    ("0.01", "1e-40000000", "price 1E-40000000 is not a multiple of the 0.01 USD tick"),
    ("0.01", "1e+40000000", "price 1E+40000000 USD is beyond any real order"),
    ("0.01", "NaN", "price must be a positive number, got NaN"),
    ("sNaN", "390", "quantity must be a positive number, got sNaN"),
    ("-Infinity", "390", "quantity must be a positive number, got -Infinity"),
    ("-0.01", "390", "quantity must be a positive number, got -0.01"),
    ("0.01", "0", "price must be a positive number, got 0"),
    ("0.000000001", "390", "quantity 1E-9 has more than 8 decimals"),
    ("1" * 100_000, "390", "quantity " + "1" * 20 + "..." + "1" * 12 + " (100000 characters) BTC is beyond"),
    # The bounds of every external number (botkit.core.numbers), then the grid:
    ("0." + "1" * 100, "390", "quantity: 0." + "1" * 18 + "..." + "1" * 12 + " (102 characters) has more than 40 "
                              "decimal places"),
    ("0.01" + "0" * 100_000, "390", "quantity: 0.01" + "0" * 16 + "..." + "0" * 12 + " (100004 characters) has more "
                                    "than 40 decimal places"),
    ("390." + "0" * 40, "0.01", ""),  # well formed: trailing zeros within the bounds are not decimals
    ("0.01", "390." + "0" * 41, "price: 390." + "0" * 16 + "..."),
])
def test_absurd_numbers_are_refused_at_once(quantity: str, price: str, problem: str) -> None:
    started = time.monotonic()
    _, found = check_intent(botkit.buy(D(quantity), D(price)))
    if not problem:
        assert found is None
        return
    assert found is not None and found.startswith(problem), found
    assert time.monotonic() - started < 1  # Decimal arithmetic on 1e-40000000 ran for minutes
    assert len(found) < 200


def test_a_good_order_is_copied_from_its_checked_values() -> None:
    given = botkit.buy(D("0.0100000000000000000000"), D("4E+2"), tag="mm")  # trailing zeros are not decimals
    intent, problem = check_intent(given)
    assert problem is None
    assert intent == given and intent is not given  # a fresh intent: what was checked is what is sent
    assert check_intent(botkit.sell("1", None)) == (PlaceOrder(Side.SELL, D(1), None), None)
    # Below the minimum is well formed, only too small: the engine refuses it, not as a failure.
    assert check_intent(botkit.sell("0.00005", "390")) == (PlaceOrder(Side.SELL, D("0.00005"), D(390)), None)


class _LyingDecimal(Decimal):
    def __gt__(self, other: object) -> bool:
        return False


@pytest.mark.parametrize(("intent", "problem"), [
    (PlaceOrder("buy", D(1), D(1)), "side must be Side.BUY or Side.SELL, got 'buy'"),  # type: ignore[arg-type]
    (PlaceOrder(Side.BUY, 1, D(1)), "quantity must be a Decimal, got int 1"),  # type: ignore[arg-type]
    (PlaceOrder(Side.BUY, 0.5, D(1)), "quantity must be a Decimal, got float 0.5 (money is exact"),  # type: ignore[arg-type]
    (PlaceOrder(Side.BUY, D(1), "390"), "price must be a Decimal, got str '390'"),  # type: ignore[arg-type]
    # str() of an int past 4300 digits raises: the message must not
    (PlaceOrder(Side.BUY, 10**5000, D(1)),  # type: ignore[arg-type]
     "quantity must be a Decimal, got int an integer of about 5000 digits"),
    (PlaceOrder(Side.BUY, _LyingDecimal(5000), D(1)), "quantity must be a Decimal, got _LyingDecimal <_LyingDecimal>"),
    (PlaceOrder(Side.BUY, D(1), D(1), tag=object()), "tag must be a string, got object"),  # type: ignore[arg-type]
    (PlaceOrder(Side.BUY, D(1), D(1), tag="x" * 65), "tag must be 0 to 64 printable characters"),
    (PlaceOrder(Side.BUY, D(1), D(1), tag="a\nb"), "tag must be 0 to 64 printable characters, got 'a\\nb'"),
    (CancelOrder(7), "order id must be a string, got int"),  # type: ignore[arg-type]
    (CancelOrder(""), "order id must be 1 to 64 printable characters, got ''"),
    (CancelAll("buy"), "cancel_all side must be Side.BUY, Side.SELL or None, got 'buy'"),  # type: ignore[arg-type]
])
def test_hand_made_intents_of_the_wrong_types_are_refused(intent: Any, problem: str) -> None:
    checked, found = check_intent(intent)
    assert checked is intent
    assert found is not None and found.startswith(problem), found


def test_results_that_are_not_intents_are_junk() -> None:
    class Shifty(PlaceOrder):
        __slots__ = ()

    for junk in (42, "buy", {"side": "buy"}, [botkit.buy("1", "1"), "sell"], [Shifty(Side.BUY, D(1), D(1))],
                 [botkit.cancel_all()] * 21):
        with pytest.raises(JunkResult):
            vet(junk, 20)
    assert vet(None, 20) == []
    assert vet(botkit.cancel_all(), 20) == [(CancelAll(None), None)]


def test_describe_runs_no_strategy_code_and_is_bounded() -> None:
    class Loud:
        def __repr__(self) -> str:
            raise RuntimeError("repr called")

        __str__ = __repr__

    text = describe(PlaceOrder(Loud(), D("1" * 500), D(1), tag=Loud()))  # type: ignore[arg-type]
    assert text.startswith("<Loud> 1111") and text.endswith("@ 1 [<Loud>]")
    assert len(text) < 200
    assert describe(botkit.buy("0.01", "390", tag="mm")) == "buy 0.01 @ 390 [mm]"
    assert describe(botkit.cancel_all("sell")) == "cancel all sell"
