"""The fee rule, in one place: each fill is charged in USD, ``notional × bps / 10000``, exact.

The resting order pays the maker rate and the incoming one the taker rate. A buy order reserves
its worst case, the higher of the two rates, because when it is placed nobody knows whether it
will take or rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from botkit.numbers import exact_decimal
from botkit.sandbox import money


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    maker_bps: Decimal = Decimal(10)
    taker_bps: Decimal = Decimal(20)
    maker_rate: Decimal = field(init=False)
    taker_rate: Decimal = field(init=False)
    reserve_rate: Decimal = field(init=False)
    """What a buy order reserves for fees, per USD of notional: the worse of the two rates."""

    def __post_init__(self) -> None:
        for name in ("maker_bps", "taker_bps"):
            value = exact_decimal(getattr(self, name), name)  # a NumberError (ValueError) when hostile
            object.__setattr__(self, name, value)
            if value < 0 or value >= 10_000:
                raise ValueError(f"{name} must be between 0 and 10000, not {value}")
        object.__setattr__(self, "maker_rate", money.bps_rate(self.maker_bps))
        object.__setattr__(self, "taker_rate", money.bps_rate(self.taker_bps))
        object.__setattr__(self, "reserve_rate", max(self.maker_rate, self.taker_rate))

    @property
    def reserve_bps(self) -> Decimal:
        """The rate a buy order reserves for: the worse of maker and taker."""
        return max(self.maker_bps, self.taker_bps)

    def maker_fee(self, notional: Decimal) -> Decimal:
        return money.mul(notional, self.maker_rate)

    def taker_fee(self, notional: Decimal) -> Decimal:
        return money.mul(notional, self.taker_rate)
