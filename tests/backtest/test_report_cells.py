"""How the backtest table shows ratios and money to people."""

from __future__ import annotations

from decimal import Decimal

import pytest

from botkit.backtest.report import _ratio, _usd


@pytest.mark.parametrize(("value", "percent", "shown"), [
    (-0.000001, True, "0.00%"),  # found by a newcomer: "total return -0.00%"
    (-0.0001, False, "0.000"),
    (0.1234, True, "12.34%"),
    (-0.5, True, "-50.00%"),
    (None, True, "n/a"),
])
def test_ratios_never_show_a_negative_zero(value: float | None, percent: bool, shown: str) -> None:
    assert _ratio(value, percent) == shown


def test_money_uses_the_one_rule_for_people() -> None:
    assert _usd(Decimal("10199.175")) == "10199.18"  # half-even to the cent, no thousands separator
    assert _usd(None) == "n/a"
