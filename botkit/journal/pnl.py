"""Profit and loss from a sequence of fills, by the average-cost method: botkit's one PnL method.

``botkit journal pnl``, ``botkit status``, the engine's metrics and the backtest report all use
:class:`PnL`, so a backtest's report and ``botkit journal pnl`` of its kept journal agree to the
digit. Average cost (rather than FIFO) because a market maker's inventory turns over in many small
pieces and average cost follows it with one running number instead of a queue of lots. Fees are in
USD and are reported apart from the realized trading PnL (``net = realized - fees``).

The open position's **cost** (what it was bought for, or sold for when short) is kept rather than
its average price, and every sum and product is exact (:data:`botkit.core.money.EXACT` raises rather than rounds).
The one inexact step of the method is the share of the cost a partial close takes away
(``cost × closed / held``): when that quotient does not terminate it is rounded to
:data:`SPLIT_QUANTUM` (1e-20 USD), and the cost left behind is what remains, so nothing is lost.
Hence, exactly and for any fills::

    realized + unrealized(mark) == Σ sells' notional − Σ buys' notional + position × mark
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, Rounded

from botkit.core.money import EXACT, ZERO
from botkit.model import Side

_SPLIT = Context(prec=100)
SPLIT_QUANTUM = Decimal("1e-20")
"""A partial close's share of the cost is rounded to this (USD) when it does not terminate."""


@dataclass(slots=True)
class PnL:
    position: Decimal = ZERO
    """BTC held: positive long, negative short."""
    cost: Decimal = ZERO
    """What the open position cost in USD (negative for a short: what it was sold for)."""
    realized: Decimal = ZERO
    """PnL of the closed quantity, before fees: (price − average cost) × quantity closed."""
    fees: Decimal = ZERO
    volume: Decimal = ZERO
    """Traded notional in USD (turnover)."""
    fills: int = 0
    closes: int = 0
    """Fills that closed (all or part of) the position: each one ends a round trip or a piece of one."""
    wins: int = 0
    """Closing fills whose realized PnL beat their own fee (the share of it for the part that closed)."""

    @property
    def average_cost(self) -> Decimal:
        """The open position's average price (zero when flat); a ratio, so up to 28 digits."""
        return self.cost / self.position if self.position else ZERO

    def add(self, side: Side, price: Decimal, quantity: Decimal, fee: Decimal) -> Decimal:
        """Apply one fill; returns the PnL it realized (zero when it only opened or added)."""
        notional = EXACT.multiply(price, quantity)
        signed, signed_notional = (quantity, notional) if side is Side.BUY else (-quantity, -notional)
        self.fees = EXACT.add(self.fees, fee)
        self.volume = EXACT.add(self.volume, notional)
        self.fills += 1
        if self.position == 0 or (self.position > 0) == (signed > 0):
            self.position = EXACT.add(self.position, signed)
            self.cost = EXACT.add(self.cost, signed_notional)
            return ZERO
        held = abs(self.position)
        closing = min(quantity, held)
        taken = self.cost if closing == held else _share(self.cost, closing, held)
        closed_notional = notional if closing == quantity else EXACT.multiply(price, closing)
        # long: sold `closing` for closed_notional, it cost `taken`; short: bought it back for
        # closed_notional, it had been sold for -taken.
        realized = EXACT.subtract(closed_notional if self.position > 0 else -closed_notional, taken)
        self.realized = EXACT.add(self.realized, realized)
        self.closes += 1
        if EXACT.multiply(realized, quantity) > EXACT.multiply(fee, closing):  # realized > fee × closing / quantity
            self.wins += 1
        self.position = EXACT.add(self.position, signed)
        if closing == held:  # flat, or flipped through zero: the rest opened at this price
            self.cost = EXACT.multiply(price, self.position)
        else:
            self.cost = EXACT.subtract(self.cost, taken)
        return realized

    @property
    def net(self) -> Decimal:
        return EXACT.subtract(self.realized, self.fees)

    def unrealized(self, mark: Decimal) -> Decimal:
        """The open position's PnL at ``mark``: (mark − average cost) × position, exactly."""
        return EXACT.subtract(EXACT.multiply(mark, self.position), self.cost)

    @property
    def win_rate(self) -> float | None:
        """Winning closing fills ÷ closing fills (None when nothing closed)."""
        return self.wins / self.closes if self.closes else None


def _share(cost: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """``cost × part / whole``: exact when it terminates, else rounded to :data:`SPLIT_QUANTUM`."""
    product = EXACT.multiply(cost, part)
    try:
        return EXACT.divide(product, whole)
    except (Inexact, Rounded):
        return _SPLIT.divide(product, whole).quantize(SPLIT_QUANTUM, context=_SPLIT)


def from_fills(fills: Iterable[tuple[Side, Decimal, Decimal, Decimal]]) -> PnL:
    """PnL of ``(side, price, quantity, fee)`` fills in time order."""
    pnl = PnL()
    for side, price, quantity, fee in fills:
        pnl.add(side, price, quantity, fee)
    return pnl
