"""botkit's built-in pre-trade risk rules, as an ordinary plugin of the ``botkit_check_intent`` hook.

Each rule returns a reason in words; the engine journals it with the rule's name. The daily loss
limit is a kill switch: once tripped, every new order is refused until the next UTC day, while
cancels still go through so that a halted bot can always get flat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botkit.core.money import WIDE
from botkit.core.times import DAY_MS
from botkit.model import ZERO, PlaceOrder, Side, Snapshot
from botkit.strategy.context import StrategyContext
from botkit.strategy.hookspecs import hookimpl


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_order_quantity: Decimal
    max_position: Decimal
    max_notional: Decimal
    max_open_orders: int
    price_band_bps: Decimal
    daily_loss_limit: Decimal
    min_balance_usd: Decimal
    min_balance_btc: Decimal

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> RiskLimits:
        return cls(**{name: section[name] for name in cls.__dataclass_fields__})


class RiskRejected(Exception):
    """Carries the rule name with the reason, so the journal can group rejections by rule."""

    def __init__(self, rule: str, reason: str) -> None:
        super().__init__(reason)
        self.rule = rule
        self.reason = reason


class AccountRisk:
    """The built-in rules, with the account-wide numbers the engine keeps current.

    ``open_orders`` counts the bot's live orders (all strategies), ``available`` is what the
    account can still commit (totals minus what open orders reserve), and ``equity`` is the
    account's value in USD at mid, from which the day's loss is measured.
    """

    def __init__(self, limits: RiskLimits) -> None:
        self.limits = limits
        self.open_orders = 0
        self.available_usd = ZERO
        self.available_btc = ZERO
        self.day = -1
        self.day_start_equity: Decimal | None = None
        self._floor: Decimal | None = None
        """The equity under which the day's loss exceeds the limit: a comparison per tick, not a
        subtraction (worked out in 100 digits, so exact for any money, and never an error)."""
        self.equity: Decimal | None = None
        self.halted_reason: str | None = None

    def update(self, now: int, equity: Decimal | None, available_usd: Decimal, available_btc: Decimal,
               open_orders: int) -> None:
        """Refresh the account view at the start of a tick; trips the kill switch if need be."""
        day = now // DAY_MS
        if day != self.day:
            self.day = day
            self._start_day(equity)
            self.halted_reason = None
        elif self.day_start_equity is None:
            self._start_day(equity)
        self.equity = equity
        self.available_usd = available_usd
        self.available_btc = available_btc
        self.open_orders = open_orders
        floor, start = self._floor, self.day_start_equity
        if floor is not None and start is not None and equity is not None and equity < floor \
                and self.halted_reason is None:
            loss = WIDE.subtract(start, equity)
            self.halted_reason = (f"daily loss {loss} USD exceeds the limit of {self.limits.daily_loss_limit} USD:"
                                  " new orders halted until the next UTC day")

    def _start_day(self, equity: Decimal | None) -> None:
        """Measure the day's loss from ``equity`` on."""
        self.day_start_equity = equity
        self._floor = None if equity is None else WIDE.subtract(equity, self.limits.daily_loss_limit)

    def trip(self, reason: str) -> None:
        """Halt new orders now (an operator's kill switch), until :meth:`reset` or the next UTC day."""
        self.halted_reason = reason

    def reset(self) -> None:
        """Allow new orders again; the day's loss is measured from now on, or the loss that
        tripped the switch would trip it again at the next tick."""
        self.halted_reason = None
        self._start_day(self.equity)

    def check(self, intent: PlaceOrder, snapshot: Snapshot, ctx: StrategyContext) -> None:
        """Raise :class:`RiskRejected` with the first rule the intent breaks."""
        lim = self.limits
        base, quote = ctx.instrument.base, ctx.instrument.quote  # the market's currencies, for the messages
        if self.halted_reason is not None:
            raise RiskRejected("daily_loss_limit", self.halted_reason)
        if intent.quantity > lim.max_order_quantity:
            raise RiskRejected("max_order_quantity",
                               f"quantity {intent.quantity} {base} exceeds max_order_quantity {lim.max_order_quantity}")
        signed = intent.quantity if intent.side is Side.BUY else -intent.quantity
        pending = sum(((o.quantity - o.filled) if o.side is Side.BUY else -(o.quantity - o.filled)
                       for o in ctx.open_orders if o.side is intent.side), ZERO)
        worst = ctx.position + pending + signed
        if abs(worst) > lim.max_position:
            raise RiskRejected("max_position",
                               f"position could reach {worst} {base} (max_position {lim.max_position})")
        reference = intent.price
        if reference is None:
            reference = snapshot.best_ask if intent.side is Side.BUY else snapshot.best_bid
        if reference is None:
            raise RiskRejected("no_market", "no price on the other side of the book for a market order")
        notional = reference * intent.quantity
        if notional > lim.max_notional:
            raise RiskRejected("max_notional", f"notional {notional} {quote} exceeds max_notional {lim.max_notional}")
        if self.open_orders >= lim.max_open_orders:
            raise RiskRejected("max_open_orders",
                               f"{self.open_orders} orders open (max_open_orders {lim.max_open_orders})")
        mid = snapshot.mid
        if intent.price is not None and mid is not None and mid > 0:
            distance = abs(intent.price - mid) / mid * 10000
            if distance > lim.price_band_bps:
                raise RiskRejected("price_band", f"price {intent.price} is {distance:.0f} bps from mid {mid} "
                                                 f"(price_band_bps {lim.price_band_bps})")
        if intent.side is Side.BUY:
            left = self.available_usd - notional
            if left < lim.min_balance_usd:
                raise RiskRejected("min_balance", f"buying {notional} {quote} would leave {left} {quote} available "
                                                  f"(min_balance_usd {lim.min_balance_usd})")
        else:
            left = self.available_btc - intent.quantity
            if left < lim.min_balance_btc:
                raise RiskRejected("min_balance", f"selling {intent.quantity} {base} would leave {left} {base} "
                                                  f"available (min_balance_btc {lim.min_balance_btc})")

    @hookimpl
    def botkit_check_intent(self, intent: PlaceOrder, snapshot: Snapshot, ctx: StrategyContext) -> str | None:
        """The built-in rules as an ordinary pre-trade check: None, or :class:`RiskRejected` naming
        the rule that refuses (the engine records the rule, not just a reason)."""
        self.check(intent, snapshot, ctx)
        return None
