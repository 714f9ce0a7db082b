"""A ccxt exchange for the Buttercoin v1 API (docs/buttercoin-api-v1.md): ``from botkit.ccxt import buttercoin``.

Any ccxt-based tool can then trade on Buttercoin, or on ``botkit sandbox`` by pointing
``urls['api']['rest']`` at it::

    exchange = buttercoin({"apiKey": KEY, "secret": SECRET})
    exchange.urls["api"]["rest"] = "http://127.0.0.1:8765"
    exchange.fetch_order_book("BTC/USD")

One market, ``BTC/USD`` (the wire's ``BTC_USD``). Numbers are exact: JSON bodies are parsed with
every decimal number kept as its text (never a binary float), and ccxt's unified fields are
those strings (its string number mode; ``Precise`` for arithmetic). Signing is the contract's HMAC
(:func:`botkit.client.signing.signature`, the function the client and the sandbox use), with a
per-instance millisecond clock that never repeats a value (the exchange refuses a replayed one).

A market buy is Buttercoin's ``USD_BTC`` market sell of a USD amount: pass ``params={"cost":
USD}`` (or a ``price``, then the cost is ``amount × price``), as ccxt's
``createMarketBuyOrderRequiresPrice`` convention has it.
"""

from __future__ import annotations

import json
from typing import Any

from ccxt.base.decimal_to_precision import TICK_SIZE
from ccxt.base.errors import (
    AuthenticationError,
    BadRequest,
    ExchangeError,
    ExchangeNotAvailable,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    PermissionDenied,
    RateLimitExceeded,
)
from ccxt.base.exchange import Exchange
from ccxt.base.precise import Precise

from botkit.client.signing import signature

_STATUS = {"opened": "open", "open": "open", "partial-filled": "open", "filled": "closed", "canceled": "canceled"}
_ERRORS: dict[int, type[ExchangeError]] = {
    400: BadRequest, 401: AuthenticationError, 403: PermissionDenied, 404: OrderNotFound, 429: RateLimitExceeded,
    503: ExchangeNotAvailable,
}
_MARKET = {
    "id": "BTC_USD", "symbol": "BTC/USD", "base": "BTC", "quote": "USD", "baseId": "BTC", "quoteId": "USD",
    "settle": None, "settleId": None, "type": "spot", "spot": True, "margin": False, "swap": False,
    "future": False, "option": False, "active": True, "contract": False, "linear": None, "inverse": None,
    "contractSize": None, "expiry": None, "expiryDatetime": None, "strike": None, "optionType": None,
    "taker": "0.002", "maker": "0.001",
    "precision": {"amount": "0.00000001", "price": "0.01"},
    "limits": {"amount": {"min": "0.0001", "max": None}, "price": {"min": "0.01", "max": None},
               "cost": {"min": None, "max": None}, "leverage": {"min": None, "max": None}},
    "created": None, "info": {},
}


class buttercoin(Exchange):  # noqa: N801 - ccxt's naming: the class is the exchange's id
    """The Buttercoin v1 REST API as a ccxt exchange (see the module docstring)."""

    number = str
    """ccxt's string number mode: the unified fields (prices, amounts, balances) are the exact
    decimal strings, never floats."""

    def describe(self) -> Any:
        return self.deep_extend(super().describe(), {
            "id": "buttercoin",
            "name": "Buttercoin",
            "countries": ["US"],
            "version": "v1",
            "rateLimit": 500,  # 120 requests a minute
            "pro": False,
            "has": {
                "CORS": None, "spot": True, "margin": False, "swap": False, "future": False, "option": False,
                "cancelOrder": True, "createOrder": True, "createMarketBuyOrderRequiresPrice": True,
                "fetchBalance": True, "fetchMarkets": True, "fetchOpenOrders": True, "fetchOrder": True,
                "fetchOrderBook": True, "fetchOrders": True, "fetchClosedOrders": True, "fetchTicker": True,
                "fetchTrades": True,
            },
            "urls": {
                "api": {"rest": "https://api.buttercoin.com"},
                "www": "https://www.buttercoin.com",
                "doc": "docs/buttercoin-api-v1.md",
            },
            "api": {
                "public": {"get": ["ticker", "orderbook", "trades"]},
                "private": {
                    "get": ["key", "account/balances", "orders", "orders/{id}"],
                    "post": ["orders"],
                    "delete": ["orders/{id}"],
                },
            },
            "requiredCredentials": {"apiKey": True, "secret": True},
            "precisionMode": TICK_SIZE,
            "fees": {"trading": {"maker": 0.001, "taker": 0.002, "percentage": True, "tierBased": False}},
        })

    # ------------------------------------------------------------------ transport

    _last_nonce = 0

    def nonce(self) -> int:
        """Milliseconds, strictly increasing for this instance (the exchange refuses a repeat)."""
        self._last_nonce = max(self.milliseconds(), self._last_nonce + 1)
        return self._last_nonce

    def on_json_response(self, text: str) -> Any:
        """JSON with every decimal number kept as its text: exact, never a float."""
        return json.loads(text, parse_float=str)

    def sign(self, path: str, api: Any = "public", method: str = "GET", params: Any = None,
             headers: Any = None, body: Any = None) -> Any:
        params = params or {}
        url = self.urls["api"]["rest"].rstrip("/") + "/v1/" + self.implode_params(path, params)
        query = self.omit(params, self.extract_params(path))
        if method in ("GET", "DELETE"):
            if query:
                url += "?" + "&".join(f"{key}={self.encode_uri_component(str(value)).replace('%3A', ':')}"
                                      for key, value in query.items())
        else:
            body = self.json(query)
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api == "private" or (isinstance(api, list) and "private" in api):
            self.check_required_credentials()
            stamp = self.nonce()
            headers["X-Buttercoin-Access-Key"] = self.apiKey
            headers["X-Buttercoin-Date"] = str(stamp)
            headers["X-Buttercoin-Signature"] = signature(self.secret, stamp, url, body or b"")
        return {"url": url, "method": method, "body": body, "headers": headers}

    def handle_errors(self, code: int, reason: str, url: str, method: str, headers: Any, body: str,
                      response: Any, request_headers: Any, request_body: Any) -> None:
        if code < 400:
            return
        message = body
        if isinstance(response, dict) and isinstance(response.get("errors"), list) and response["errors"]:
            first = response["errors"][0]
            message = f"{first.get('code')}: {first.get('message')}"
        error: type[ExchangeError] = _ERRORS.get(code, ExchangeError)
        if code == 400 and "insufficient" in message:
            error = InsufficientFunds
        elif code == 400 and method == "POST":
            error = InvalidOrder
        raise error(f"{self.id} {method} {url}: {code} {message}")

    # ------------------------------------------------------------------ public data

    def fetch_markets(self, params: Any = None) -> list[Any]:
        return [dict(_MARKET)]

    def fetch_ticker(self, symbol: str, params: Any = None) -> Any:
        self.load_markets()
        ticker = self.request("ticker", "public", "GET", params or {})
        return self.safe_ticker({
            "symbol": self.market(symbol)["symbol"], "timestamp": None, "datetime": None,
            "last": self.safe_string(ticker, "last"), "close": self.safe_string(ticker, "last"),
            "bid": self.safe_string(ticker, "bid"), "ask": self.safe_string(ticker, "ask"), "info": ticker,
        })

    def fetch_order_book(self, symbol: str, limit: int | None = None, params: Any = None) -> Any:
        self.load_markets()
        book = self.request("orderbook", "public", "GET", params or {})
        if limit is not None:
            book = {**book, "bid": book["bid"][:limit], "ask": book["ask"][:limit]}
        # Levels as the exact strings, in the exchange's order (best first): ccxt's parse_order_book
        # would make floats of them, and sorting strings would put "99.5" above "100".
        def side(levels: Any) -> list[list[str]]:
            return [[self.safe_string(lv, "price"), self.safe_string(lv, "quantity")] for lv in levels]

        return {"symbol": self.market(symbol)["symbol"], "bids": side(book["bid"]), "asks": side(book["ask"]),
                "timestamp": None, "datetime": None, "nonce": None, "info": book}

    def fetch_trades(self, symbol: str, since: int | None = None, limit: int | None = None,
                     params: Any = None) -> Any:
        self.load_markets()
        market = self.market(symbol)
        response = self.request("trades", "public", "GET", params or {})
        trades = response.get("trades", []) if isinstance(response, dict) else response
        return self.parse_trades(trades, market, since, limit)

    def parse_trade(self, trade: Any, market: Any = None) -> Any:
        sold = trade.get("spentCurrency") == "BTC"
        amount = self.safe_string(trade, "spent" if sold else "earned")
        cost = self.safe_string(trade, "earned" if sold else "spent")
        timestamp = self.safe_integer(trade, "timestamp")
        return self.safe_trade({
            "info": trade, "id": None, "order": None, "timestamp": timestamp, "datetime": self.iso8601(timestamp),
            "symbol": "BTC/USD", "type": None, "side": "sell" if sold else "buy", "takerOrMaker": "taker",
            "price": Precise.string_div(cost, amount), "amount": amount, "cost": cost, "fee": None,
        }, market)

    # ------------------------------------------------------------------ account

    def fetch_balance(self, params: Any = None) -> Any:
        response = self.request("account/balances", "private", "GET", params or {})
        result: dict[str, Any] = {"info": response}
        for currency in response:
            account = self.account()
            account["total"] = self.safe_string(response, currency)
            result[self.safe_currency_code(currency)] = account
        return self.safe_balance(result)

    def create_order(self, symbol: str, type: str, side: str, amount: Any, price: Any = None,
                     params: Any = None) -> Any:
        self.load_markets()
        params = dict(params or {})
        body: dict[str, Any] = {"instrument": "BTC_USD", "side": side, "orderType": type}
        if type == "limit":
            body["price"] = self.number_to_string(price)
            body["quantity"] = self.number_to_string(amount)
        elif side == "buy":  # Buttercoin: a market buy is a USD_BTC market sell of the USD to spend
            cost = params.pop("cost", None)
            if cost is None:
                if price is None:
                    raise InvalidOrder(f"{self.id} a market buy needs params['cost'] (USD to spend) or a price")
                cost = Precise.string_mul(self.number_to_string(amount), self.number_to_string(price))
            body.update({"instrument": "USD_BTC", "side": "sell", "quantity": self.number_to_string(cost)})
        else:
            body["quantity"] = self.number_to_string(amount)
        self.request("orders", "private", "POST", self.extend(body, params))
        location = self.safe_string(self.last_response_headers or {}, "Location", "")
        order_id = location.rsplit("/", 1)[-1] if location else None
        if not order_id:
            raise ExchangeError(f"{self.id} create_order: no Location header in the answer")
        return self.safe_order({"id": order_id, "info": {"Location": location}, "symbol": "BTC/USD",
                                "type": type, "side": side, "amount": self.number_to_string(amount),
                                "price": None if price is None else self.number_to_string(price)})

    def cancel_order(self, id: str, symbol: str | None = None, params: Any = None) -> Any:
        self.request("orders/{id}", "private", "DELETE", self.extend({"id": id}, params or {}))
        return self.safe_order({"id": id, "info": {}, "status": "canceled"})

    def fetch_order(self, id: str, symbol: str | None = None, params: Any = None) -> Any:
        return self.parse_order(self.request("orders/{id}", "private", "GET", self.extend({"id": id}, params or {})))

    def fetch_orders(self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
                     params: Any = None) -> Any:
        query = dict(params or {})
        if since is not None:
            query["dateMin"] = self.iso8601(since // 1000 * 1000).replace(".000", "")
        response = self.request("orders", "private", "GET", query)
        orders = response.get("results", []) if isinstance(response, dict) else response
        return self.parse_orders(orders, None, since, limit)

    def fetch_open_orders(self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
                          params: Any = None) -> Any:
        orders = self.fetch_orders(symbol, since, None, params)
        return self.filter_by_since_limit([o for o in orders if o["status"] == "open"], since, limit)

    def fetch_closed_orders(self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
                            params: Any = None) -> Any:
        orders = self.fetch_orders(symbol, since, None, params)
        return self.filter_by_since_limit([o for o in orders if o["status"] != "open"], since, limit)

    def parse_order(self, order: Any, market: Any = None) -> Any:
        created = next((e.get("eventDate") for e in order.get("events") or []
                        if isinstance(e, dict) and e.get("eventType") == "created"), None)
        timestamp = self.parse8601(created) if created else None
        usd_btc = order.get("instrument") == "USD_BTC"
        side = self.safe_string(order, "side")
        if usd_btc:  # a market buy, as Buttercoin spells it: its quantity is USD
            side = "buy" if side == "sell" else "sell"
        quantity = self.safe_string(order, "quantity")
        return self.safe_order({
            "info": order, "id": self.safe_string(order, "orderId"), "clientOrderId": None,
            "timestamp": timestamp, "datetime": self.iso8601(timestamp), "lastTradeTimestamp": None,
            "symbol": "BTC/USD", "type": self.safe_string(order, "orderType"), "timeInForce": None,
            "postOnly": None, "side": side, "price": self.safe_string(order, "price"),
            "stopPrice": None, "triggerPrice": None,
            "amount": None if usd_btc else quantity, "cost": quantity if usd_btc else None,
            "average": self.safe_string(order, "averagePrice"),
            "filled": None if usd_btc else self.safe_string(order, "quantityFilled"),
            "remaining": None, "status": _STATUS.get(self.safe_string(order, "status", "")),
            "fee": {"cost": self.safe_string(order, "fees"), "currency": "USD"} if "fees" in order else None,
            "trades": None,
        }, market)


__all__ = ["buttercoin"]
