"""What every part of the engine shares: its working state, declared once, and the way a strategy
is called (isolated, its state journaled after each call). ``Engine`` is built from this base, the
write-ahead execution (execution.py) and the reconciliation with the venue (reconciliation.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pluggy

from botkit.engine.risk import AccountRisk
from botkit.engine.state import EngineSettings, TickReport
from botkit.journal import Journal, OrderRecord
from botkit.model import ZERO, Balances, Order, OrderStatus, OrderType, Side, Snapshot
from botkit.strategy.host import StrategyFailure, StrategyHost
from botkit.venues.port import Venue


@dataclass(slots=True)
class UnfinishedSummary:
    """What the engine derives from its unfinished orders at one journal revision (see
    :attr:`~botkit.journal.Journal.order_revision`): read every tick, recomputed when it moved."""

    revision: int
    """The journal's ``order_revision`` it was computed at."""
    count: int
    """The number of unfinished orders it was computed at."""
    open_orders: int
    unresolved: bool
    """Whether an order's outcome is unknown (the engine then reads the exchange's orders)."""
    reserved_usd: Decimal | None
    """USD the open buys hold; None when a market buy is among them (held at the ask of the tick)."""
    reserved_btc: Decimal
    views: dict[str, tuple[Order, ...]] = field(default_factory=dict)
    """Each strategy's ``ctx.open_orders``, built on first need."""


class EngineBase:
    """The engine's working state (set up by ``Engine.__init__``) and its strategy calls."""

    venue: Venue
    pm: pluggy.PluginManager
    strategies: list[StrategyHost]
    risk: AccountRisk
    journal: Journal
    settings: EngineSettings
    run_id: int | None
    ticks: int
    unfinished: dict[int, OrderRecord]
    """Unfinished orders by journal id: open on the venue, or of an outcome not resolved yet."""
    positions: dict[str, Decimal]
    balances: Balances
    start_equity: Decimal | None
    equity: Decimal | None
    last_snapshot: Snapshot | None
    totals: TickReport
    _balances_at: int
    _balances_dirty: bool
    _hosts: dict[str, StrategyHost]
    _deferred: list[tuple[StrategyHost, str, dict[str, Any]]] | None
    _checks: list[Any]
    _views: dict[int, tuple[tuple[Any, ...], Order]]
    _synced_revision: int | None
    """The venue's ``order_revision`` at the last order sync (None: never, or it has none)."""
    _summary: UnfinishedSummary | None

    def _unfinished_summary(self) -> UnfinishedSummary:
        """The open count, the reserves and the views of the unfinished orders, computed again only
        when the journal changed one of them or the engine took one in or let one go (every change
        of a record's fields is the journal's, so its revision and their number say when)."""
        unfinished = self.unfinished
        revision = self.journal.order_revision
        summary = self._summary
        if summary is not None and summary.revision == revision and summary.count == len(unfinished):
            return summary  # read at each step of a tick with orders open: two int tests
        open_orders = 0
        unresolved = False
        reserved_usd: Decimal | None = ZERO
        reserved_btc = ZERO
        for record in unfinished.values():
            status = record.status
            if status.is_open:
                open_orders += 1
            elif status.is_unresolved:
                unresolved = True
            if record.side is Side.BUY:
                if not record.price:
                    reserved_usd = None
                elif reserved_usd is not None:
                    reserved_usd += record.price * record.remaining
            else:
                reserved_btc += record.remaining
        summary = self._summary = UnfinishedSummary(revision, len(unfinished), open_orders, unresolved, reserved_usd,
                                                    reserved_btc)
        return summary

    def _refresh_ctx(self, host: StrategyHost, now: int) -> None:
        name = host.name
        if self.unfinished:
            views = self._unfinished_summary().views
            mine = views.get(name)
            if mine is None:
                mine = views[name] = tuple([self._order_view(r) for r in self.unfinished.values()
                                            if r.strategy == name and r.status.is_live])
        else:
            mine = ()
        host.ctx.refresh(now, self.positions.get(name, ZERO), self.balances, mine)

    def _order_view(self, record: OrderRecord) -> Order:
        """The strategies' view of an unfinished order, rebuilt only when the order changed: a
        market maker's quotes rest for many ticks, and each view is a dozen-field value."""
        key = (record.status, record.filled, record.exchange_order_id, record.fees, record.average_price)
        views = self._views
        cached = views.get(record.local_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        if len(views) > 2 * len(self.unfinished) + 64:  # forget finished orders' views
            for local_id in [i for i in views if i not in self.unfinished]:
                del views[local_id]
        view = views[record.local_id] = (key, _as_order(record))
        return view[1]

    def _save_state(self, host: StrategyHost) -> bool:
        """Journal the strategy's state changes; False (a failure of the strategy) if they cannot be."""
        changes = host.ctx.state.take_changes()
        if changes:
            try:
                self.journal.save_state(host.name, changes)
            except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
                host.fail("ctx.state", f"state is not JSON-serializable: {type(exc).__name__}: {exc}")
                return False
        return True

    def _call(self, host: StrategyHost, hook_name: str, **kwargs: Any) -> Any:
        if not host.implements(hook_name) or not host.active:
            return None
        if self._deferred is not None:
            self._deferred.append((host, hook_name, kwargs))
            return None
        try:
            return host.call(hook_name, **kwargs)
        except StrategyFailure:
            return None
        finally:
            self._save_state(host)


def _as_order(record: OrderRecord) -> Order:
    """The strategies' view of an unfinished order: one not placed yet (its outcome unresolved) reads as
    opened, under its ``local-N`` id, with ``is_placed`` False."""
    status = OrderStatus(record.status.value) if record.status.is_open else OrderStatus.OPENED
    return Order(
        order_id=record.order_id, side=record.side,
        order_type=OrderType(record.order_type), status=status, price=record.price, quantity=record.quantity,
        filled=record.filled, created_ts=record.created_at, average_price=record.average_price, fees=record.fees,
        tag=record.tag, is_placed=record.status.is_placed,
    )
