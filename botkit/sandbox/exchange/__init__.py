"""The sandbox exchange: one :class:`Exchange` behind one lock, built from desks (accounts, orders,
market data, transactions) that share its state (``base.py``)."""

from __future__ import annotations

from botkit.sandbox.exchange.base import ChangeSet, ExchangeError, TradeRecord, new_order_id
from botkit.sandbox.exchange.exchange import Exchange

__all__ = ["ChangeSet", "Exchange", "ExchangeError", "TradeRecord", "new_order_id"]
