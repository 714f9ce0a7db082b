"""The sandbox's integer units: its book counts cents and satoshis, its accounts hold Decimals.

The matching loop compares and subtracts plain integers (price in cents, quantity in satoshis);
only settlement turns them into exact :class:`~decimal.Decimal` amounts, with the helpers here and
the arithmetic of :mod:`botkit.core.money` (which traps any rounding).
"""

from __future__ import annotations

from decimal import Context, Decimal

from botkit.core.money import BTC_PLACES, EXACT, USD_PLACES

ROUNDING = Context(prec=40)
"""For the one derived number that cannot be exact: an order's average price."""

MAX_PRICE_CENTS = 10_000_000 * 100
"""Ten million USD per BTC: anything above is a typo, not a price."""
MAX_BTC_SATOSHIS = 21_000_000 * 100_000_000
MAX_USD_CENTS = 10**12 * 100


def usd(cents: int) -> Decimal:
    return EXACT.scaleb(Decimal(cents), -USD_PLACES)


def btc(satoshis: int) -> Decimal:
    return EXACT.scaleb(Decimal(satoshis), -BTC_PLACES)


def notional(cents: int, satoshis: int) -> Decimal:
    """USD value of ``satoshis`` at ``cents`` per BTC, exact (ten decimal places at most)."""
    return EXACT.scaleb(Decimal(cents * satoshis), -(USD_PLACES + BTC_PLACES))


def count(value: Decimal, places: int) -> int | None:
    """``value`` as a whole number of ``10**-places`` units, or None when it has finer digits
    (or is not finite, or is absurdly large)."""
    if not value.is_finite() or value.adjusted() > 30:
        return None
    numerator, denominator = value.as_integer_ratio()
    scale: int = 10**places
    if scale % denominator:
        return None
    return numerator * (scale // denominator)


def average_price(notional_units: int, satoshis: int) -> Decimal:
    """Volume-weighted average price in USD, rounded half-even to 8 decimals (a ratio need not
    terminate, so this is the one rounded figure the sandbox reports)."""
    value = ROUNDING.divide(Decimal(notional_units), Decimal(satoshis) * 100)
    return ROUNDING.quantize(value, Decimal("1e-8")).normalize(ROUNDING)
