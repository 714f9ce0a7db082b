"""The engine's first look at what a strategy returned: is it a well-formed intent at all?

Risk rules judge whether an order is wise; this module only judges whether it is an order: exact
positive amounts on the exchange's grid. A strategy returning anything else is failing.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from botkit.model import (
    BTC_STEP,
    MIN_QUANTITY,
    USD_TICK,
    CancelAll,
    CancelOrder,
    Intent,
    PlaceOrder,
    Side,
)


class JunkResult(Exception):
    """A strategy returned something that is not None or an iterable of intents."""


def collect(result: Any, limit: int) -> list[Intent]:
    """Turn a hook's return value into a list of intent objects, refusing anything else."""
    if result is None:
        return []
    if isinstance(result, PlaceOrder | CancelOrder | CancelAll):
        return [result]
    if isinstance(result, str | bytes | dict) or not isinstance(result, Iterable):
        raise JunkResult(f"returned {type(result).__name__}, not an iterable of intents")
    intents: list[Intent] = []
    for item in result:
        if not isinstance(item, PlaceOrder | CancelOrder | CancelAll):
            raise JunkResult(f"returned a {type(item).__name__} among its intents ({_show(item)})")
        intents.append(item)
        if len(intents) > limit:
            raise JunkResult(f"returned more than {limit} intents in one tick")
    return intents


def check_order(intent: PlaceOrder) -> str | None:
    """Why this order intent is malformed, or None when it is fine."""
    quantity, price = intent.quantity, intent.price
    # A PlaceOrder built by hand, around buy()/sell(), can hold anything: a side that is only
    # equal to Side.BUY ("buy") would be risk-checked as a sell, and odd values break the journal.
    side: object = intent.side
    tag: object = intent.tag
    if not isinstance(side, Side):
        return f"side must be Side.BUY or Side.SELL, got {_show(side)}"
    if not isinstance(tag, str):
        return f"tag must be a string, got {type(tag).__name__}"
    if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
        return f"quantity must be a positive number, got {quantity}"
    if quantity < MIN_QUANTITY:
        return f"quantity {quantity} BTC is below the minimum of {MIN_QUANTITY}"
    if quantity % BTC_STEP != 0:
        return f"quantity {quantity} has more than 8 decimals"
    if price is not None:
        if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
            return f"price must be a positive number, got {price}"
        if price % USD_TICK != 0:
            return f"price {price} is not a multiple of the {USD_TICK} USD tick"
    return None


def _show(item: Any) -> str:
    text = repr(item)
    return text if len(text) <= 60 else text[:57] + "..."
