"""botkit: trading bots on the Buttercoin REST API v1.

Strategies import what they need from here: the ``hookimpl`` marker, the intent helpers and the
domain types. Nothing in a strategy touches HTTP.
"""

from typing import Any as _Any

from botkit.model import (
    Balances,
    BookLevel,
    BookUnits,
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
    TradeCursor,
    buy,
    cancel,
    cancel_all,
    sell,
)
from botkit.strategy.bars import Bar
from botkit.strategy.context import StrategyContext, StrategyState
from botkit.strategy.history import BarHistory
from botkit.strategy.hookspecs import hookimpl
from botkit.strategy.params import Param, Params, param

__version__ = "0.1.0"

__all__ = [
    "Balances",
    "Bar",
    "BarHistory",
    "BookLevel",
    "BookUnits",
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
    "Param",
    "Params",
    "PlaceOrder",
    "Side",
    "Snapshot",
    "StrategyContext",
    "StrategyState",
    "Ticker",
    "Trade",
    "TradeCursor",
    "__version__",
    "buy",
    "cancel",
    "cancel_all",
    "hookimpl",
    "param",
    "sell",
]


def __getattr__(name: str) -> _Any:
    """``botkit.optimize(...)``, the notebook's way into :func:`botkit.backtest.optimize`: loaded
    only when asked for, so the strategy API a strategy imports never loads the backtester (the
    one import against the layering, listed in docs/architecture.md)."""
    if name == "optimize":
        from botkit.backtest.optimizer.api import optimize

        return optimize
    raise AttributeError(f"module 'botkit' has no attribute {name!r}")
