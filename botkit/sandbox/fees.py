"""The sandbox's fee schedule: each fill is charged in USD by botkit's one fee rule,
:func:`botkit.core.money.fee` (``notional × bps / 10000``, exact), as the simulated venue's fills are.

The resting order pays the maker rate and the incoming one the taker rate. A buy order reserves
its worst case, the higher of the two rates, because when it is placed nobody knows whether it
will take or rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from botkit.core import money
from botkit.core.numbers import exact_decimal


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    maker_bps: Decimal = Decimal(10)
    taker_bps: Decimal = Decimal(20)
    taker_rate: Decimal = field(init=False)
    """The taker fee per USD of notional (what a market buy's budget must leave room for)."""

    def __post_init__(self) -> None:
        for name in ("maker_bps", "taker_bps"):
            value = exact_decimal(getattr(self, name), name)  # a NumberError (ValueError) when hostile
            object.__setattr__(self, name, value)
            if value < 0 or value >= 10_000:
                raise ValueError(f"{name} must be between 0 and 10000, not {value}")
        object.__setattr__(self, "taker_rate", money.fee_rate(self.taker_bps))

    @property
    def reserve_bps(self) -> Decimal:
        """The rate a buy order reserves fees at: the worse of maker and taker (whether it will
        take or rest is unknown when it is placed)."""
        return max(self.maker_bps, self.taker_bps)

    def maker_fee(self, notional: Decimal) -> Decimal:
        return money.fee(notional, self.maker_bps)

    def taker_fee(self, notional: Decimal) -> Decimal:
        return money.fee(notional, self.taker_bps)
