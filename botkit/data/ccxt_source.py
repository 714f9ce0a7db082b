"""Market data from any exchange ccxt speaks: ``botkit record --source ccxt:EXCHANGE:SYMBOL``.

Each fetch reads the ticker, the L2 book (``--depth`` levels a side) and the recent trades through
ccxt's public REST API, with ccxt's rate limiter on, and keeps them as the wire bodies the
snapshot files hold (:mod:`botkit.data.jsonl`), so the recorder writes them as it writes a
Buttercoin recording: the same files, progress and gaps.

Numbers are exact: the exchange's JSON is parsed with every decimal number kept as its text, ccxt
runs in its string number mode (unified fields are those strings), and book levels are read as
``Decimal`` from the strings (ccxt's own level parser makes floats). Nothing passes through a
binary float. A failed fetch (network, rate limit, exchange error) is a gap: the tick is skipped.

``ccxt:buttercoin:BTC/USD`` uses :class:`botkit.ccxt.buttercoin` against the configured exchange
(the embedded sandbox by default): how the ccxt path is tested for real.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

from botkit.core.errors import ConfigError, MarketDataError, VenueUnavailable
from botkit.instrument import Instrument
from botkit.model import BookLevel, OrderBook, Side, Snapshot, Ticker, Trade


def parse_source(text: str) -> tuple[str, str]:
    """``ccxt:EXCHANGE:SYMBOL`` as (exchange id, symbol); a ConfigError with the form otherwise."""
    kind, _, rest = text.partition(":")
    exchange, _, symbol = rest.partition(":")
    if kind != "ccxt" or not exchange or not symbol:
        raise ConfigError("--source", f"{text!r} is not ccxt:EXCHANGE:SYMBOL",
                          "e.g. --source ccxt:binance:BTC/USDT (ccxt's exchange id and unified symbol)")
    return exchange, symbol


def _exchange(exchange_id: str, rest_url: str | None) -> Any:
    try:
        import ccxt
    except ImportError:
        raise ConfigError("--source", "ccxt is not installed", "pip install 'botkit[ccxt]'") from None
    if exchange_id == "buttercoin":
        from botkit.ccxt import buttercoin

        exchange: Any = buttercoin({"enableRateLimit": True})
    else:
        kind = getattr(ccxt, exchange_id, None)
        if not isinstance(kind, type) or exchange_id not in ccxt.exchanges:
            raise ConfigError("--source", f"ccxt has no exchange {exchange_id!r}",
                              "use one of ccxt.exchanges (e.g. binance, kraken, coinbase) or buttercoin")
        exchange = kind({"enableRateLimit": True})
        exchange.number = str  # ccxt's string number mode: unified fields are exact strings

        def exact_json(text: str) -> Any:
            return json.loads(text, parse_float=str)

        exchange.on_json_response = exact_json
    if rest_url is not None:
        exchange.urls["api"]["rest"] = rest_url
    return exchange


def _decimal(value: Any, what: str) -> Decimal:
    """An exact Decimal from ccxt's string (an int passes; a float never does)."""
    if isinstance(value, float):
        raise MarketDataError(f"{what} came as a float ({value!r}): not exact")
    if value is None:
        raise MarketDataError(f"{what} is missing")
    return Decimal(str(value))


class CcxtMarketData:
    """Snapshots (and their wire bodies, ``last_raw``) of one market through ccxt."""

    def __init__(self, exchange_id: str, symbol: str, *, depth: int = 20, rest_url: str | None = None) -> None:
        self.exchange = _exchange(exchange_id, rest_url)
        self.symbol = symbol
        self.depth = depth
        self.label = f"ccxt {exchange_id} {symbol}"
        self.last_raw: dict[str, Any] | None = None
        exchange = self.exchange

        def level(bidask: Any, price_key: Any = 0, amount_key: Any = 1, count_key: Any = 2) -> list[Decimal]:
            return [_decimal(exchange.safe_string(bidask, price_key), "book price"),
                    _decimal(exchange.safe_string(bidask, amount_key), "book amount")]

        exchange.parse_order_book_bid_ask = level  # Decimals: exact, and they sort as numbers
        try:
            market = exchange.load_markets()[symbol]
        except KeyError:
            raise ConfigError("--source", f"{exchange_id} has no market {symbol!r}",
                              "give ccxt's unified symbol, e.g. BTC/USDT") from None
        except Exception as exc:  # ccxt's errors: the exchange could not be asked
            raise VenueUnavailable(f"{self.label}: loading markets: {exc}") from None
        self.instrument = _instrument(exchange, market)

    def fetch(self, now_ms: int | None = None) -> Snapshot:
        ts = now_ms if now_ms is not None else time.time_ns() // 1_000_000
        exchange, symbol = self.exchange, self.symbol
        try:
            ticker = exchange.fetch_ticker(symbol)
            book = exchange.fetch_order_book(symbol, self.depth)
            trades = exchange.fetch_trades(symbol)
        except Exception as exc:  # ccxt's NetworkError, RateLimitExceeded, ExchangeError...
            raise VenueUnavailable(f"{self.label}: {type(exc).__name__}: {exc}") from None
        bids = _levels(book["bids"][: self.depth])
        asks = _levels(book["asks"][: self.depth])
        prints = [Trade(int(t["timestamp"]), _decimal(t["price"], "trade price"), _decimal(t["amount"], "trade amount"),
                        Side.SELL if t["side"] == "sell" else Side.BUY) for t in trades if t.get("timestamp")]
        prints.reverse()  # newest first, as the snapshot files list them
        bid = bids[0].price if bids else Decimal(0)
        ask = asks[0].price if asks else Decimal(0)
        last = ticker.get("last")
        snapshot = Snapshot(ts, Ticker(_decimal(last, "ticker last") if last is not None else Decimal(0), bid, ask),
                            OrderBook(tuple(bids), tuple(asks)), tuple(prints))
        self.last_raw = {
            "ts": ts,
            "ticker": {"currency": "USD", "last": snapshot.ticker.last, "bid": bid, "ask": ask},
            "orderbook": {"bid": [{"price": lv.price, "quantity": lv.quantity} for lv in bids],
                          "ask": [{"price": lv.price, "quantity": lv.quantity} for lv in asks]},
            "trades": [_wire(t) for t in prints],
        }
        return snapshot

    def close(self) -> None:
        session = getattr(self.exchange, "session", None)
        if session is not None:
            session.close()


def _levels(rows: Any) -> list[BookLevel]:
    """A side's levels as exact Decimals, levels of zero amount left out."""
    levels = [BookLevel(_decimal(row[0], "book price"), _decimal(row[1], "book amount")) for row in rows]
    return [level for level in levels if level.quantity > 0]


def _wire(trade: Trade) -> dict[str, Any]:
    quote = trade.price * trade.quantity
    if trade.taker_side is Side.SELL:
        return {"spent": trade.quantity, "spentCurrency": "BTC", "earned": quote, "earnedCurrency": "USD",
                "timestamp": trade.ts}
    return {"spent": quote, "spentCurrency": "USD", "earned": trade.quantity, "earnedCurrency": "BTC",
            "timestamp": trade.ts}


def _instrument(exchange: Any, market: Any) -> Instrument:
    """The market's grid and fees from ccxt's market description (tick sizes, minimum, fees)."""
    from ccxt.base.decimal_to_precision import DECIMAL_PLACES, TICK_SIZE

    precision, limits = market.get("precision") or {}, market.get("limits") or {}

    def step(value: Any, fallback: str) -> Decimal:
        if value is None:
            return Decimal(fallback)
        if exchange.precisionMode == TICK_SIZE:
            return Decimal(str(value))
        if exchange.precisionMode == DECIMAL_PLACES:
            return Decimal(1).scaleb(-int(Decimal(str(value))))
        return Decimal(fallback)  # significant digits: no fixed grid

    price = step(precision.get("price"), "0.00000001")
    size = step(precision.get("amount"), "0.00000001")
    minimum = (limits.get("amount") or {}).get("min")
    min_size = Decimal(str(minimum)) if minimum else size
    if min_size % size:
        min_size = size
    maker, taker = market.get("maker"), market.get("taker")
    return Instrument(price, size, min_size, str(market.get("base") or "BTC"), str(market.get("quote") or "USD"),
                      Decimal(str(maker or 0)) * 10_000, Decimal(str(taker or 0)) * 10_000, exchange.id,
                      str(market.get("id") or market.get("symbol")))
