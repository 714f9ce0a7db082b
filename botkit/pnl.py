"""Profit and loss from a sequence of fills, by the average-cost method, exactly.

Average cost (rather than FIFO) because a market maker's inventory turns over in many small
pieces and average cost gives the same total with one running number. Fees are in USD and are
reported apart from the realized trading PnL (``net = realized - fees``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from botkit.model import ZERO, Side


@dataclass(slots=True)
class PnL:
    position: Decimal = ZERO
    average_cost: Decimal = ZERO
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    volume: Decimal = ZERO
    """Traded notional in USD (turnover)."""
    fills: int = 0
    wins: int = 0
    losses: int = 0
    """Closing fills that realized a gain or a loss (before fees)."""

    def add(self, side: Side, price: Decimal, quantity: Decimal, fee: Decimal) -> Decimal:
        """Apply one fill; returns the PnL it realized (zero when it only opened or added)."""
        signed = quantity if side is Side.BUY else -quantity
        self.fees += fee
        self.volume += price * quantity
        self.fills += 1
        realized = ZERO
        if self.position == 0 or (self.position > 0) == (signed > 0):
            total = self.position + signed
            self.average_cost = (self.average_cost * abs(self.position) + price * quantity) / abs(total)
            self.position = total
            return realized
        closing = min(quantity, abs(self.position))
        direction = 1 if self.position > 0 else -1
        realized = (price - self.average_cost) * closing * direction
        self.realized += realized
        if realized > 0:
            self.wins += 1
        elif realized < 0:
            self.losses += 1
        self.position += signed
        if self.position == 0:
            self.average_cost = ZERO
        elif (self.position > 0) != (direction > 0):
            self.average_cost = price  # flipped through zero: the rest opened at this price
        return realized

    @property
    def net(self) -> Decimal:
        return self.realized - self.fees

    def unrealized(self, mark: Decimal) -> Decimal:
        return (mark - self.average_cost) * self.position


def from_fills(fills: Iterable[tuple[Side, Decimal, Decimal, Decimal]]) -> PnL:
    """PnL of ``(side, price, quantity, fee)`` fills in time order."""
    pnl = PnL()
    for side, price, quantity, fee in fills:
        pnl.add(side, price, quantity, fee)
    return pnl
