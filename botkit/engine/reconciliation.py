"""Reconciliation with the venue: learn fills and status changes of open orders (each fill journaled
once), resolve orders of unknown outcome from the exchange's orders, bind orders that turn up late,
and at start-up deal with what happened while the bot was down, before any strategy runs."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable

from botkit.core.errors import VenueError
from botkit.core.output import money
from botkit.engine.base import EngineBase
from botkit.engine.state import CLOCK_SKEW_MS, TickReport, report_error
from botkit.journal import OrderRecord
from botkit.model import ZERO, Order, OrderFlag, OrderState, OrderType, Side

log = logging.getLogger("botkit.engine")


class Reconciliation(EngineBase):
    """What the venue knows, brought into the journal and the strategies."""

    def _sync(self, now: int, report: TickReport | None = None) -> bool:
        """Learn fills and status changes of the open orders and deliver them to their strategies;
        False when the venue could not be read."""
        revision = self.venue.order_revision
        if revision is not None and revision == self._synced_revision:
            return True  # the venue says no order changed since the last sync
        bound = [r for r in self.unfinished.values() if r.exchange_order_id is not None and r.status.is_open]
        if not bound:
            return True
        try:
            orders = self.venue.orders([r.exchange_order_id for r in bound if r.exchange_order_id])
        except VenueError as exc:
            report_error(report, f"order sync failed: {exc}")
            return False
        self._synced_revision = revision
        by_id = {o.order_id: o for o in orders}
        for record in bound:
            order = by_id.get(record.exchange_order_id or "")
            if order is not None:
                self._apply(record, order, now, report)
            else:
                # The venue says it has no such order (an exchange restored from an older state):
                # nothing more can be learnt about it, so stop tracking it, loudly.
                self.journal.set_status(record, OrderState.VANISHED, now, detail="the venue does not know this order")
                self.unfinished.pop(record.local_id, None)
                report_error(report, f"order {record.local_id} ({record.exchange_order_id}) vanished from the venue")
        return True

    def _apply(self, record: OrderRecord, order: Order, now: int, report: TickReport | None) -> None:
        if (OrderState.of(order.status) is record.status and order.filled == record.filled
                and len(order.fills) <= record.fills_seen):
            return
        assert self.run_id is not None
        old_status = record.status
        fills = self.journal.apply(record, order, self.run_id, now)
        self._balances_dirty = True
        host = self._hosts.get(record.strategy)
        view = dataclasses.replace(order, tag=record.tag)
        for fill in fills:
            signed = fill.quantity if record.side is Side.BUY else -fill.quantity
            self.positions[record.strategy] = self.positions.get(record.strategy, ZERO) + signed
            if report is not None:
                report.fills += 1
            log.info("fill: %s %s %s BTC @ %s USD fee %s (%s, order %s)", record.strategy, record.side.value,
                     money(fill.quantity, "BTC"), money(fill.price, "USD"), money(fill.fee, fill.fee_currency),
                     fill.liquidity.value, order.order_id)
            if host is not None:
                self._refresh_ctx(host, now)
                self._call(host, "botkit_on_fill", fill=fill, order=view, ctx=host.ctx)
        if not order.is_open:
            self.unfinished.pop(record.local_id, None)
        if host is not None and OrderState.of(order.status) is not old_status:
            self._refresh_ctx(host, now)
            self._call(host, "botkit_on_order_update", order=view, ctx=host.ctx)

    def _resolve_unknown(self, now: int, report: TickReport | None = None) -> None:
        if not self._unfinished_summary().unresolved:
            return
        unresolved = [r for r in self.unfinished.values() if r.is_unresolved]
        since = min(r.sent_at for r in unresolved) - CLOCK_SKEW_MS
        try:
            orders = self.venue.orders_since(since)
        except VenueError as exc:
            report_error(report, f"cannot read orders to resolve unknown outcomes: {exc}")
            return
        taken = self.journal.known_exchange_ids(o.order_id for o in orders)
        taken |= {r.exchange_order_id for r in self.unfinished.values() if r.exchange_order_id}
        for record in sorted(unresolved, key=lambda r: r.local_id):
            candidates = [o for o in orders if o.order_id not in taken and _matches(record, o)]
            if len(candidates) == 1:
                order = candidates[0]
                taken.add(order.order_id)
                self.journal.bind(record, order.order_id, now, detail=f"resolved: {order.order_id}")
                log.info("order %d resolved: it was placed as %s", record.local_id, order.order_id)
                self._apply(record, order, now, report)
                if order.is_open:
                    self.risk.open_orders += 1
            elif len(candidates) > 1:
                log.error("order %d: %d exchange orders match; left unresolved for an operator",
                          record.local_id, len(candidates))
            elif now - record.sent_at >= self.settings.resolve_window_ms:
                self.journal.set_status(record, OrderState.NOT_PLACED, now,
                                        detail=f"not found on the exchange within {self.settings.resolve_window_ms} ms")
                self.unfinished.pop(record.local_id, None)
                log.warning("order %d declared not placed: not on the exchange after %d ms", record.local_id,
                            now - record.sent_at)
        self._find_late(orders, taken, now, report)

    def _find_late(self, orders: Iterable[Order], taken: set[str], now: int, report: TickReport | None) -> None:
        """Bind an order that appears on the exchange after its journal row was declared not placed."""
        strays = [o for o in orders if o.order_id not in taken]
        if not strays:
            return
        oldest = min(o.created_ts for o in strays) - self.settings.resolve_window_ms - CLOCK_SKEW_MS
        for record in self.journal.not_placed_since(oldest):
            for order in strays:
                if order.order_id not in taken and _matches(record, order):
                    taken.add(order.order_id)
                    self.journal.bind(record, order.order_id, now, flag=OrderFlag.LATE)
                    log.error("order %d turned up late on the exchange as %s (declared not placed before); "
                              "now tracked", record.local_id, order.order_id)
                    self.unfinished[record.local_id] = record
                    self._apply(record, order, now, report)
                    break

    def _reconcile_at_start(self, now: int) -> None:
        """Before any strategy runs: resolve unknowns, journal fills missed while down, and deal
        with exchange orders the journal does not know."""
        for record in self.unfinished.values():
            if record.status is OrderState.PENDING:
                # The daemon stopped between journaling and learning the reply: maybe sent.
                self.journal.set_status(record, OrderState.UNKNOWN, now, detail="found pending at start-up")
        self._resolve_unknown(now)
        self._sync(now)
        try:
            open_orders = self.venue.open_orders()
        except VenueError as exc:
            log.error("cannot list open orders at start-up: %s", exc)
            return
        known = self.journal.known_exchange_ids(o.order_id for o in open_orders)
        for order in open_orders:
            if order.order_id in known:
                continue
            policy = self.settings.unknown_orders
            log.warning("exchange order %s (%s %s @ %s) is not in the journal: %s", order.order_id,
                        order.side.value, order.quantity, order.price, policy)
            if policy == "adopt":
                assert self.run_id is not None
                record = self.journal.adopt(self.run_id, self.venue.name, order, now)
                self.unfinished[record.local_id] = record
                self._apply(record, order, now, None)
            elif policy == "cancel":
                try:
                    self.venue.cancel_order(order.order_id)
                except VenueError as exc:
                    log.error("could not cancel unknown order %s: %s", order.order_id, exc)


def _matches(record: OrderRecord, order: Order) -> bool:
    """Could this exchange order be the one this journal row sent? (side, type, price, quantity)"""
    if order.side is not record.side or order.order_type.value != record.order_type:
        return False
    if order.order_type is OrderType.MARKET:
        return True  # market buys travel as USD amounts; one unknown per side keeps this unambiguous
    return order.price == record.price and order.quantity == record.quantity
