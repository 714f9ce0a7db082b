"""Orders: submitting (matched in full before the call returns), settling fills with their fees,
cancelling, and reading orders back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botkit.core import money
from botkit.model import Order
from botkit.sandbox import units
from botkit.sandbox.accounts import MARKET, USER, Account
from botkit.sandbox.exchange.base import (
    INSTRUMENTS,
    MAKER,
    ORDER_TYPES,
    SIDES,
    TAKER,
    ExchangeBase,
    ExchangeError,
    TradeRecord,
    amount_units,
    bad,
    new_order_id,
)
from botkit.sandbox.orders import (
    BTC_USD,
    CANCELED,
    FILLED,
    LIMIT,
    OPEN_STATUSES,
    OPENED,
    PARTIAL,
    STATUSES,
    USD_BTC,
    ExchangeOrder,
    FillRecord,
)
from botkit.sandbox.orders import (
    MARKET as MARKET_ORDER,
)


class OrderDesk(ExchangeBase):
    """Orders, matching and settlement."""

    def submit_order(
        self,
        key: str,
        side: str,
        order_type: str,
        price: Decimal | str | int | None,
        quantity: Decimal | str | int,
        instrument: str = BTC_USD,
    ) -> str:
        """Validate, reserve, match and (for a limit order) rest; return the new order's id.

        Raises :class:`ExchangeError` (400) for a malformed order or insufficient funds.
        """
        side = str(side)
        order_type = str(order_type)
        if instrument not in INSTRUMENTS:
            raise bad("invalid_instrument", f"instrument must be one of {', '.join(INSTRUMENTS)}")
        if side not in SIDES:
            raise bad("invalid_side", "side must be 'buy' or 'sell'")
        if order_type not in ORDER_TYPES:
            raise bad("invalid_order_type", "orderType must be 'limit' or 'market'")
        if instrument == USD_BTC:
            if order_type != MARKET_ORDER or side != "sell":
                raise bad(
                    "unsupported_order",
                    "USD_BTC supports only a market sell (spend a USD amount on bitcoin)",
                )
        elif order_type == MARKET_ORDER and side == "buy":
            raise bad(
                "market_buy_not_supported",
                "a market buy of BTC_USD is not supported: send a USD_BTC market sell instead",
            )
        if order_type == LIMIT:
            if price is None:
                raise bad("missing_price", "a limit order needs a price")
            cents = amount_units(price, money.USD_PLACES, "price", units.MAX_PRICE_CENTS)
        else:
            if price is not None:
                raise bad("price_not_allowed", "a market order takes no price")
            cents = 0
        if instrument == USD_BTC:
            amount = amount_units(quantity, money.USD_PLACES, "quantity", units.MAX_USD_CENTS)
            qty_value = units.usd(amount)
            remaining = 0
        else:
            amount = amount_units(quantity, money.BTC_PLACES, "quantity", units.MAX_BTC_SATOSHIS)
            qty_value = units.btc(amount)
            remaining = amount
        is_buy = (side == "buy") == (instrument == BTC_USD)
        schedule = self.fee_schedule
        if instrument == USD_BTC:
            reserve = qty_value
        elif is_buy:
            value = units.notional(cents, amount)
            reserve = money.add(value, money.fee(value, schedule.reserve_bps))
        else:
            reserve = qty_value
        currency = "USD" if is_buy else "BTC"
        with self.lock:
            account = self._account(key)
            if account.available(currency) < reserve:
                raise bad(
                    "insufficient_funds",
                    f"insufficient funds: the order needs {reserve} {currency}, "
                    f"{account.available(currency)} {currency} is available",
                )
            now = self.now_ms()
            self._order_seq += 1
            record = ExchangeOrder(
                order_id=new_order_id(),
                key=key,
                instrument=instrument,
                side=side,
                order_type=order_type,
                price=cents,
                quantity=qty_value,
                remaining=remaining,
                created_ms=now,
                seq=self._order_seq,
                reserved=reserve,
                reserve_bps=schedule.reserve_bps,
            )
            account.reserved[currency] = money.add(account.reserved[currency], reserve)
            self._orders[record.order_id] = record
            if account.kind == USER:
                account.order_ids.append(record.order_id)
            if instrument == USD_BTC:
                exhausted = self._spend_budget(record, now)
                complete = record.filled and (not exhausted or not record.reserved)
                self._close(record, FILLED if complete else CANCELED, now)
            else:
                fills = self.book.match(is_buy, cents if order_type == LIMIT else None, amount)
                if fills:
                    self._settle(record, fills, now)
                if not record.remaining:
                    self._close(record, FILLED, now)
                elif order_type == LIMIT:
                    self.book.add(record)
                    self._touch_order(record)
                else:
                    self._close(record, CANCELED, now)
            self._touch_account(key)
            return record.order_id

    def _spend_budget(self, record: ExchangeOrder, now: int) -> bool:
        """Walk the asks with a USD budget (fees included). True if the asks ran out first."""
        factor = money.add(Decimal(1), self.fee_schedule.taker_rate)
        asks = self.book.asks
        while True:
            level = asks.best()
            if level is None:
                return True
            # satoshis affordable at this price: budget / (cents/100 * 1e-8 * (1 + rate))
            budget = money.EXACT.scaleb(record.reserved, 10)
            affordable = int(money.FLOOR.divide_int(budget, money.mul(Decimal(level.price), factor)))
            if affordable <= 0:
                return False
            fills = self.book.match(True, level.price, min(affordable, level.total))
            self._settle(record, fills, now)

    def _settle(self, taker: ExchangeOrder, fills: list[tuple[ExchangeOrder, int]], now: int) -> None:
        schedule = self.fee_schedule
        accounts = self._accounts
        for maker, quantity in fills:
            price = maker.price
            value = units.notional(price, quantity)
            maker_fee = schedule.maker_fee(value)
            taker_fee = schedule.taker_fee(value)
            self._apply_fill(accounts[maker.key], maker, price, quantity, value, maker_fee, MAKER, now)
            taker.remaining -= quantity
            self._apply_fill(accounts[taker.key], taker, price, quantity, value, taker_fee, TAKER, now)
            self.fees_collected = money.add(self.fees_collected, money.add(maker_fee, taker_fee))
            self._trade_seq += 1
            trade = TradeRecord(self._trade_seq, now, price, quantity, taker.is_buy)
            self._trades.append(trade)
            if self._changes is not None:
                self._changes.trades.append(trade)
            self._last_price = price
            if maker.remaining:
                maker.status = PARTIAL
                self._touch_order(maker)
            else:
                self._close(maker, FILLED, now)
            if maker.key != taker.key:
                self._touch_account(maker.key)
        if taker.remaining or taker.instrument == USD_BTC:
            taker.status = PARTIAL

    def _apply_fill(
        self,
        account: Account,
        order: ExchangeOrder,
        price: int,
        quantity: int,
        value: Decimal,
        fee: Decimal,
        liquidity: str,
        now: int,
    ) -> None:
        balances = account.balances
        reserved = account.reserved
        amount = units.btc(quantity)
        if order.is_buy:
            cost = money.add(value, fee)
            balances["BTC"] = money.add(balances["BTC"], amount)
            balances["USD"] = money.sub(balances["USD"], cost)
            if order.instrument == USD_BTC:
                release = cost
                order.spent = money.add(order.spent, cost)
            else:
                at_limit = units.notional(order.price, quantity)
                release = money.add(at_limit, money.fee(at_limit, order.reserve_bps))
            order.reserved = money.sub(order.reserved, release)
            reserved["USD"] = money.sub(reserved["USD"], release)
        else:
            balances["BTC"] = money.sub(balances["BTC"], amount)
            balances["USD"] = money.add(balances["USD"], money.sub(value, fee))
            order.reserved = money.sub(order.reserved, amount)
            reserved["BTC"] = money.sub(reserved["BTC"], amount)
        order.filled += quantity
        order.fees = money.add(order.fees, fee)
        order.notional_units += price * quantity
        order.fills.append(FillRecord(price, quantity, fee, liquidity, now))

    def _close(self, order: ExchangeOrder, status: str, now: int) -> None:
        """End an order's life: release what it still reserves; forget a simulated one."""
        order.status = status
        order.closed_ms = now
        if order.reserved:
            account = self._accounts[order.key]
            currency = order.reserve_currency
            account.reserved[currency] = money.sub(account.reserved[currency], order.reserved)
            order.reserved = money.ZERO
        account_kind = self._accounts[order.key].kind
        if account_kind == MARKET:
            self._orders.pop(order.order_id, None)
            if self._changes is not None:
                self._changes.orders.discard(order.order_id)
                self._changes.deleted_orders.add(order.order_id)
        else:
            self._touch_order(order)
            self._remember_closed(self._accounts[order.key], order.order_id)

    def _remember_closed(self, account: Account, order_id: str) -> None:
        account.closed_ids.append(order_id)
        while len(account.closed_ids) > self.order_history:
            old = account.closed_ids.popleft()
            self._orders.pop(old, None)
            account.order_ids.remove(old)
            if self._changes is not None:
                self._changes.orders.discard(old)
                self._changes.deleted_orders.add(old)

    def cancel_order(self, key: str, order_id: str) -> None:
        """Cancel an open order of ``key``: 404 if it is not theirs, 400 if no longer open."""
        with self.lock:
            order = self._orders.get(order_id)
            if order is None or order.key != key:
                raise ExchangeError(404, "not_found", f"no order {order_id!r} for this account")
            if order.status not in OPEN_STATUSES:
                raise bad("order_not_open", f"order {order_id} is {order.status}, not open: it cannot be canceled")
            self.book.cancel(order)
            self._close(order, CANCELED, self.now_ms())
            self._touch_account(key)

    def is_open(self, order_id: str) -> bool:
        with self.lock:
            order = self._orders.get(order_id)
            return order is not None and order.status in OPEN_STATUSES

    def open_orders_of(self, key: str) -> list[ExchangeOrder]:
        """Resting orders of one account, by price level (for the simulated market's restart)."""
        with self.lock:
            return [o for side in (self.book.bids, self.book.asks) for o in side.orders() if o.key == key]

    def _owned(self, key: str, order_id: str) -> ExchangeOrder:
        order = self._orders.get(order_id)
        if order is None or order.key != key:
            raise ExchangeError(404, "not_found", f"no order {order_id!r} for this account")
        return order

    def order(self, key: str, order_id: str) -> Order:
        with self.lock:
            return self._owned(key, order_id).to_model()

    def order_view(self, key: str, order_id: str) -> dict[str, Any]:
        with self.lock:
            return self._owned(key, order_id).view()

    def _select_orders(
        self,
        key: str,
        status: str | None,
        side: str | None,
        order_type: str | None,
        date_min: int | None,
        date_max: int | None,
    ) -> list[ExchangeOrder]:
        account = self._account(key)
        if status == "open":
            status = OPENED
        if status is not None and status not in STATUSES:
            raise bad("invalid_status", f"status must be one of {', '.join(STATUSES)}")
        if side is not None and side not in SIDES:
            raise bad("invalid_side", "side must be 'buy' or 'sell'")
        if order_type is not None and order_type not in ORDER_TYPES:
            raise bad("invalid_order_type", "orderType must be 'limit' or 'market'")
        selected = []
        for order_id in reversed(account.order_ids):
            order = self._orders[order_id]
            if status is not None and order.status != status:
                continue
            if side is not None and order.side != side:
                continue
            if order_type is not None and order.order_type != order_type:
                continue
            if date_min is not None and order.created_ms < date_min:
                continue
            if date_max is not None and order.created_ms > date_max:
                continue
            selected.append(order)
        return selected

    def orders(
        self,
        key: str,
        status: str | None = None,
        side: str | None = None,
        order_type: str | None = None,
        date_min: int | None = None,
        date_max: int | None = None,
    ) -> list[Order]:
        """The account's orders matching the filters, newest first (dates: inclusive, epoch ms)."""
        with self.lock:
            return [o.to_model() for o in self._select_orders(key, status, side, order_type, date_min, date_max)]

    def order_views(
        self,
        key: str,
        status: str | None = None,
        side: str | None = None,
        order_type: str | None = None,
        date_min: int | None = None,
        date_max: int | None = None,
    ) -> list[dict[str, Any]]:
        with self.lock:
            return [o.view() for o in self._select_orders(key, status, side, order_type, date_min, date_max)]
