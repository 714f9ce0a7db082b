"""Market data: the ticker, the order book's depth and the public trades, as the API shows them."""

from __future__ import annotations

from typing import Any

from botkit.sandbox import units
from botkit.sandbox.exchange.base import ExchangeBase, TradeRecord


class MarketDataDesk(ExchangeBase):
    """The public market data."""

    def best_prices(self) -> tuple[int | None, int | None]:
        """Best bid and ask in cents (None for an empty side)."""
        with self.lock:
            return self.book.bids.best_price(), self.book.asks.best_price()

    def last_price(self) -> int:
        with self.lock:
            return self._last_price

    def ticker(self) -> dict[str, Any]:
        """An empty side or no trade yet shows as 0 (the contract's fields are numbers)."""
        with self.lock:
            bid, ask = self.book.bids.best_price(), self.book.asks.best_price()
            return {
                "currency": "USD",
                "last": units.usd(self._last_price),
                "bid": units.usd(bid or 0),
                "ask": units.usd(ask or 0),
            }

    def depth(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        with self.lock:
            return self.book.bids.depth(), self.book.asks.depth()

    def order_book_view(self) -> dict[str, Any]:
        bids, asks = self.depth()
        return {
            "bid": [{"price": units.usd(p), "quantity": units.btc(q)} for p, q in bids],
            "ask": [{"price": units.usd(p), "quantity": units.btc(q)} for p, q in asks],
            "price_currency": "USD",
            "quantity_currency": "BTC",
        }

    def trades(self, limit: int = 100) -> list[TradeRecord]:
        """The most recent public trades, newest first."""
        with self.lock:
            count = min(limit, len(self._trades))
            return [self._trades[-1 - i] for i in range(count)]

    def trades_view(self) -> list[dict[str, Any]]:
        return [t.view() for t in self.trades(100)]
