"""The live venue and live market data: the engine's port onto a real (or sandbox) exchange.

Client errors are translated into the engine's terms here, and only here:

=====================================  ===================  =================================
client error                           on a read            on placing an order
=====================================  ===================  =================================
TransportError, never reached server   VenueUnavailable     VenueUnavailable (certainly unsent)
TransportError, may have reached it    VenueUnavailable     OutcomeUnknown
429 RateLimitedError                   VenueUnavailable     VenueUnavailable (refused unread)
other 4xx                              VenueError           OrderRejected
5xx ServerError                        VenueUnavailable     OutcomeUnknown
MalformedResponseError                 MarketDataError      OutcomeUnknown
=====================================  ===================  =================================
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from decimal import ROUND_UP, Decimal
from typing import TYPE_CHECKING

from botkit.client import (
    BaseButtercoinClientError,
    ButtercoinApiError,
    MalformedResponseError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    parse,
)
from botkit.core.errors import (
    MarketDataError,
    OrderRejected,
    OutcomeUnknown,
    VenueError,
    VenueUnavailable,
)
from botkit.instrument import BUTTERCOIN
from botkit.model import USD_TICK, Balances, Order, OrderStatus, OrderType, Side, Snapshot

if TYPE_CHECKING:  # the typed client loads requests: a backtest, which never talks HTTP, does not
    from botkit.client import Buttercoin

log = logging.getLogger("botkit.venues.buttercoin")

OPEN_WIRE_STATUSES = (OrderStatus.OPENED, OrderStatus.PARTIAL)


def _read_error(exc: BaseButtercoinClientError, what: str) -> VenueError:
    if isinstance(exc, MalformedResponseError):
        return MarketDataError(f"{what}: {exc}")
    if isinstance(exc, RateLimitedError):
        return VenueUnavailable(f"{what}: rate limited: {exc.message}", retry_at_ms=exc.reset_ms)
    if isinstance(exc, TransportError | ServerError):
        return VenueUnavailable(f"{what}: {exc}")
    return VenueError(f"{what}: {exc}")


class ButtercoinMarketData:
    """Fetches the ticker, the order book and recent trades as one snapshot.

    ``last_raw`` keeps the exact bodies of the last fetch so that a recorder can write what the
    engine saw, byte for byte in meaning, for later replay.
    """

    def __init__(self, api: Buttercoin, *, with_trades: bool = True) -> None:
        self.api = api
        self.with_trades = with_trades
        self.last_raw: dict[str, object] | None = None

    def fetch(self, now_ms: int | None = None) -> Snapshot:
        ts = now_ms if now_ms is not None else time.time_ns() // 1_000_000
        client = self.api.client
        try:
            raw_ticker = client.get_ticker()
            raw_book = client.get_order_book()
            raw_trades = client.get_trade_history() if self.with_trades else None
            snapshot = Snapshot(
                ts=ts,
                ticker=parse.ticker(raw_ticker),
                book=parse.order_book(raw_book),
                trades=parse.trades(raw_trades) if self.with_trades else (),  # null is not "no trades"
            )
        except BaseButtercoinClientError as exc:
            raise _read_error(exc, "market data") from None
        self.last_raw = {"ts": ts, "ticker": raw_ticker, "orderbook": raw_book}
        if self.with_trades:
            self.last_raw["trades"] = raw_trades
        return snapshot


class ButtercoinVenue:
    """The :class:`~botkit.venues.port.Venue` port over the signed Buttercoin client."""

    def __init__(self, api: Buttercoin, *, name: str = "live", label: str | None = None) -> None:
        self.api = api
        self.name = name
        """``sandbox`` on the embedded sandbox: the journal's runs say so, and so do ``botkit
        status`` and the dashboard, so a demo run never reads as live trading."""
        self.label = label or f"the exchange at {api.client.base_url}"
        """What people are told this venue is (the embedded sandbox is not a live exchange)."""
        self.instrument = BUTTERCOIN
        self._last: Snapshot | None = None

    @property
    def order_revision(self) -> None:
        """None: what changed on the exchange is only known by reading the orders back."""
        return None

    def __repr__(self) -> str:
        return f"ButtercoinVenue({self.api.client.base_url!r})"

    def observe(self, snapshot: Snapshot) -> None:
        self._last = snapshot

    def balances(self) -> Balances:
        try:
            return self.api.balances()
        except BaseButtercoinClientError as exc:
            raise _read_error(exc, "balances") from None

    def place_order(self, side: Side, quantity: Decimal, price: Decimal | None) -> str:
        amount = quantity
        if price is None and side is Side.BUY:
            # Buttercoin has no BTC-quantity market buy: spend the USD it costs at the best ask.
            ask = self._last.best_ask if self._last is not None else None
            if ask is None:
                raise OrderRejected("market buy needs a best ask to size the USD amount", code="no_market")
            amount = (quantity * ask).quantize(USD_TICK, rounding=ROUND_UP)
        try:
            return self.api.place_order(side, amount, price)
        except TransportError as exc:
            if exc.may_have_reached_server:
                raise OutcomeUnknown(str(exc)) from None
            raise VenueUnavailable(str(exc)) from None
        except RateLimitedError as exc:
            raise VenueUnavailable(f"rate limited: {exc.message}", retry_at_ms=exc.reset_ms) from None
        except ServerError as exc:
            raise OutcomeUnknown(f"HTTP {exc.status}: {exc.message}") from None
        except ButtercoinApiError as exc:
            raise OrderRejected(f"HTTP {exc.status} {exc.code}: {exc.message}", code=exc.code) from None
        except MalformedResponseError as exc:
            raise OutcomeUnknown(str(exc)) from None
        except BaseButtercoinClientError as exc:
            raise OutcomeUnknown(str(exc)) from None

    def cancel_order(self, order_id: str) -> None:
        try:
            self.api.cancel_order(order_id)
        except TransportError as exc:
            raise (OutcomeUnknown if exc.may_have_reached_server else VenueUnavailable)(str(exc)) from None
        except (RateLimitedError, ServerError) as exc:
            raise VenueUnavailable(str(exc)) from None
        except ButtercoinApiError as exc:
            raise OrderRejected(f"HTTP {exc.status} {exc.code}: {exc.message}", code=exc.code) from None
        except BaseButtercoinClientError as exc:
            raise OutcomeUnknown(str(exc)) from None

    def order(self, order_id: str) -> Order:
        try:
            return self._read_one(order_id)
        except BaseButtercoinClientError as exc:
            raise _read_error(exc, f"order {order_id}") from None

    def _read_one(self, order_id: str) -> Order:
        """GET one order. An answer about another order is corrupt: taken as it is, it would
        make ours look gone from the exchange (and be marked vanished)."""
        order = self.api.order(order_id)
        if order.order_id != order_id:
            raise MalformedResponseError(
                f"malformed exchange data: asked for order {order_id}, the answer is order {order.order_id}")
        return _normalize(order)

    def orders(self, order_ids: Sequence[str]) -> Sequence[Order]:
        """The open listing covers orders still open; those that closed are read one by one."""
        if not order_ids:
            return []
        wanted = set(order_ids)
        found = [o for o in self.open_orders() if o.order_id in wanted] if len(wanted) > 1 else []
        for order_id in sorted(wanted - {o.order_id for o in found}):
            try:
                found.append(self._read_one(order_id))
            except NotFoundError:
                log.error("the exchange does not know order %s (404)", order_id)
            except BaseButtercoinClientError as exc:
                raise _read_error(exc, f"order {order_id}") from None
        return found

    def orders_since(self, since_ms: int) -> Sequence[Order]:
        try:
            return [_normalize(o) for o in self.api.orders(since_ms=max(0, since_ms))]
        except BaseButtercoinClientError as exc:
            raise _read_error(exc, "orders") from None

    def open_orders(self) -> Sequence[Order]:
        result: list[Order] = []
        try:
            for status in OPEN_WIRE_STATUSES:
                result.extend(_normalize(o) for o in self.api.orders(status=status))
        except BaseButtercoinClientError as exc:
            raise _read_error(exc, "open orders") from None
        return result

    def close(self) -> None:
        self.api.client.close()


def _normalize(order: Order) -> Order:
    """Show a ``USD_BTC`` market sell (how Buttercoin takes a market buy) as the BTC buy it is."""
    if order.instrument != "USD_BTC":
        return order
    bought = sum((f.quantity for f in order.fills), Decimal(0))
    side = Side.BUY if order.side is Side.SELL else Side.SELL
    quantity = bought if not order.is_open and bought > 0 else max(bought, order.quantity)
    return replace(order, side=side, order_type=OrderType.MARKET, quantity=quantity, filled=bought,
                   instrument="BTC_USD")
