"""The SQLAlchemy journal of orders, fills, runs, balances, strategy state and risk rejections."""

from botkit.journal.journal import Journal, OrderRecord

__all__ = ["Journal", "OrderRecord"]
