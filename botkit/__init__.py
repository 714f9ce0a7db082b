"""botkit: trading bots on the Buttercoin REST API v1.

Strategies import what they need from here: the ``hookimpl`` marker, the intent helpers and the
domain types. Nothing in a strategy touches HTTP.
"""

from botkit.model import (
    Balances,
    BookLevel,
    CancelAll,
    CancelOrder,
    Fill,
    Intent,
    Liquidity,
    Order,
    OrderBook,
    OrderFlag,
    OrderState,
    OrderStatus,
    OrderType,
    PlaceOrder,
    Side,
    Snapshot,
    Ticker,
    Trade,
    buy,
    cancel,
    cancel_all,
    sell,
)
from botkit.strategy.context import StrategyContext, StrategyState
from botkit.strategy.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = [
    "Balances",
    "BookLevel",
    "CancelAll",
    "CancelOrder",
    "Fill",
    "Intent",
    "Liquidity",
    "Order",
    "OrderBook",
    "OrderFlag",
    "OrderState",
    "OrderStatus",
    "OrderType",
    "PlaceOrder",
    "Side",
    "Snapshot",
    "StrategyContext",
    "StrategyState",
    "Ticker",
    "Trade",
    "__version__",
    "buy",
    "cancel",
    "cancel_all",
    "hookimpl",
    "sell",
]
