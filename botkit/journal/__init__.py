"""The SQLAlchemy journal of orders, fills, runs, balances, strategy state and risk rejections.

A lazy facade (:mod:`botkit.core.lazy`): the PnL rule (``journal/pnl.py``), which the backtest's
statistics share, needs no SQLAlchemy; the database comes in with the first ``Journal``.
"""

from typing import TYPE_CHECKING as _TYPE_CHECKING

from botkit.core.lazy import lazy_facade as _lazy_facade

if _TYPE_CHECKING:
    from botkit.journal.journal import Journal, OrderRecord

__getattr__, __dir__ = _lazy_facade(__name__, {"Journal": "botkit.journal.journal",
                                              "OrderRecord": "botkit.journal.journal"})

__all__ = ["Journal", "OrderRecord"]
