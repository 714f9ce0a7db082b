"""Exact money for the sandbox: integer cents and satoshis in the book, exact Decimals in accounts.

The matching loop compares and subtracts plain integers (price in cents, quantity in satoshis);
only settlement turns them into :class:`~decimal.Decimal` amounts. Every Decimal operation on
money goes through :data:`EXACT`, a context that *traps* inexact results: if an amount could
ever be rounded the sandbox fails loudly instead of silently creating or destroying value.
"""

from __future__ import annotations

from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, Rounded

EXACT = Context(prec=80, traps=[Inexact, Rounded, InvalidOperation, DivisionByZero, Overflow])
"""Arithmetic that refuses to round: balances, fees and reserves must stay exact."""

ROUNDING = Context(prec=40)
"""For the one derived number that cannot be exact: an order's average price."""

ZERO = Decimal(0)
USD_PLACES = 2
"""Prices and USD amounts are whole cents."""
BTC_PLACES = 8
"""Bitcoin quantities are whole satoshis."""

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


add = EXACT.add
"""Exact sum (the context's bound methods: no wrapper call in the settlement loop)."""
sub = EXACT.subtract
mul = EXACT.multiply


def bps_rate(bps: Decimal) -> Decimal:
    """Basis points as a plain fraction (10 bps → 0.001), exact."""
    return EXACT.scaleb(bps, -4)


def units(value: Decimal, places: int) -> int | None:
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
