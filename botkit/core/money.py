"""Exact money, botkit's one home for it: the arithmetic context, the units and the fee rule.

The sandbox (its accounts and matching loop), the simulated venue (backtests and paper trading),
the PnL method and the snapshot readers all compute with the contexts here, count in the units
here and charge fees with :func:`fee`, so that an amount means the same everywhere and a rule
changed here changes for all of them.

* **Exact.** Every sum and product of money goes through :data:`EXACT`, a context that *traps*
  inexact results: if an amount could ever be rounded botkit fails loudly instead of silently
  creating or destroying value. Its 100 digits hold any product of two amounts that passed
  :func:`botkit.core.numbers.exact_decimal` (at most 80 significant digits each way).
* **Units.** USD (and prices, USD per BTC) in whole cents, BTC in whole satoshis:
  :data:`USD_PLACES`/:data:`USD_STEP`, :data:`BTC_PLACES`/:data:`BTC_STEP`, both in
  :data:`UNIT_STEPS` by currency (what :func:`botkit.core.output.money` rounds to for people).
* **Fees.** Each fill pays ``notional × bps / 10000`` USD, exact, never rounded: :func:`fee`.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, Rounded

EXACT = Context(prec=100, traps=[Inexact, Rounded, InvalidOperation, DivisionByZero, Overflow])
"""Arithmetic for money: 100 digits, and any rounding raises instead of passing silently."""
FLOOR = Context(prec=100, rounding=ROUND_DOWN)
"""For the one inexact question money asks, how many units some amount buys: truncated, never
rounded up (a budget is never overspent)."""
WIDE = Context(prec=100)
"""For a threshold compared with money (the daily loss limit's floor): exact for any amount money
holds, and rounded rather than an error past 100 digits (a limit set absurdly large in code must
not stop a tick)."""

ZERO = Decimal(0)
USD_PLACES = 2
"""Prices and USD amounts are whole cents."""
BTC_PLACES = 8
"""Bitcoin quantities are whole satoshis."""
USD_STEP = Decimal("0.01")
"""One cent."""
BTC_STEP = Decimal("0.00000001")
"""One satoshi: quantities carry at most eight decimals."""
UNIT_STEPS = {"USD": USD_STEP, "BTC": BTC_STEP}
"""The smallest unit of each currency: cents and satoshis."""


def fee_rate(bps: Decimal) -> Decimal:
    """Basis points as a plain fraction of the notional (10 bps → 0.0010), exact."""
    return EXACT.scaleb(bps, -4)


def fee(notional: Decimal, bps: Decimal) -> Decimal:
    """The fee rule: a fill of ``notional`` USD at ``bps`` basis points pays ``notional × bps /
    10000`` USD, exact (the same digits and exponent as ``notional × fee_rate(bps)``)."""
    return EXACT.scaleb(EXACT.multiply(notional, bps), -4)


def units_to_decimal(units: int, decimals: int) -> Decimal:
    """``units`` × 10^-``decimals`` as an exact Decimal (``40410, 2`` → ``Decimal('404.1')``).

    Trailing zeros are dropped, so it is the very Decimal the live client reads from the same
    JSON number (written in its shortest form); the result never depends on the thread's context.
    """
    if not units:
        return ZERO  # no trailing zeros to drop, and dropping them would never end
    while decimals and not units % 10:
        units //= 10
        decimals -= 1
    if not decimals:
        return Decimal(units)
    if 0 < decimals < len(TENTHS):  # a product with 10^-d is the coefficient scaled, faster than scaleb
        return mul(Decimal(units), TENTHS[decimals])
    return Decimal(units).scaleb(-decimals, EXACT)


TENTHS = tuple(Decimal(1).scaleb(-places) for places in range(19))
"""10^-d for d < 19: ``mul(Decimal(n), TENTHS[d])`` is ``n`` scaled, the same digits and exponent
as ``scaleb`` at about half its cost (the readers' hot paths: a level's number, a mid)."""


add = EXACT.add
"""Exact sum (the context's bound methods: no wrapper call in a settlement loop)."""
sub = EXACT.subtract
mul = EXACT.multiply
