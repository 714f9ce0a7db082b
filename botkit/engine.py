"""The engine: one tick turns a snapshot into journaled orders, the same way on every venue.

``Engine.tick(snapshot)`` is a plain method; the daemon's scheduler calls it with live snapshots
and the backtester with recorded ones. The snapshot's ``ts`` is the engine's clock, so a backtest
is deterministic and a strategy cannot tell which venue it runs on.

A tick: let the venue see the snapshot → learn fills and status changes of open orders → resolve
orders of unknown outcome → ask each strategy for intents → validate → risk → place or cancel
(write-ahead: journaled before sent) → learn the fills the new orders got.

Exactly-once placement, since Buttercoin has no client order id: an order is journaled as
``pending`` before the POST. A 202 binds it to the exchange's id. When the reply is lost (timeout,
cut connection, 5xx, unreadable answer) the order becomes ``unknown`` and is never re-sent; each
tick the account's orders since just before the send are read, and the one order not bound to any
journal row with the same side, type, price and quantity is bound to it. Only one unknown order is
allowed per side, so that match is never ambiguous. After ``resolve_window`` without a match the
order is declared ``not_placed``; should it turn up later anyway it is bound and flagged ``late``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pluggy

from botkit.context import StrategyContext
from botkit.crashpoints import crashpoint
from botkit.errors import OrderRejected, OutcomeUnknown, VenueError, VenueUnavailable
from botkit.journal import Journal, OrderRecord
from botkit.model import (
    MIN_QUANTITY,
    ZERO,
    Balances,
    CancelAll,
    CancelOrder,
    Fill,
    Intent,
    Order,
    OrderFlag,
    OrderState,
    OrderStatus,
    OrderType,
    PlaceOrder,
    Side,
    Snapshot,
)
from botkit.output import money
from botkit.risk import AccountRisk, RiskRejected
from botkit.strategy_host import StrategyFailure, StrategyHost
from botkit.validation import describe
from botkit.venues.port import Venue

log = logging.getLogger("botkit.engine")

BALANCE_REFRESH_MS = 10_000
"""Balances are re-read after any order activity, and at least this often otherwise."""
CANCEL_RESEND_MS = 5_000
"""A cancel already sent is not sent again for the same order within this time."""
CLOCK_SKEW_MS = 300_000
"""Margin when reading 'orders since'. The exchange refuses a signature more than 5 minutes off
its clock, so any order it accepted was created within 5 minutes of our idea of the time."""
RISK_PLUGIN_NAME = "botkit.risk"


@dataclass(frozen=True, slots=True)
class EngineSettings:
    on_shutdown: str = "cancel"
    unknown_orders: str = "cancel"
    resolve_window_ms: int = 30_000
    max_intents_per_tick: int = 20
    log_ticks: bool = True


@dataclass(slots=True)
class TickReport:
    """What one tick did, for the log line and the daemon's metrics."""

    ts: int
    mid: Decimal | None = None
    spread: Decimal | None = None
    position: Decimal = ZERO
    equity: Decimal | None = None
    equity_change: Decimal | None = None
    """The account's value now minus at the run's start (USD, at the mid): the holdings' price
    change included. Not the trading PnL, which ``botkit journal pnl`` shows."""
    open_orders: int = 0
    placed: int = 0
    cancelled: int = 0
    rejected: int = 0
    fills: int = 0
    failures: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StrategyView:
    """One strategy as observers see it."""

    name: str
    paused: bool
    total_failures: int


@dataclass(frozen=True, slots=True)
class EngineView:
    """The engine's state for observers (metrics, the daemon's heartbeat), read between ticks: a
    copy, so nobody outside the engine reads or changes its working attributes."""

    run_id: int | None
    ticks: int
    equity: Decimal | None
    start_equity: Decimal | None
    positions: Mapping[str, Decimal]
    open_orders: Mapping[str, int]
    """Open orders by strategy."""
    unresolved_orders: int
    kill_switch: str | None
    """Why the kill switch tripped, or None."""
    strategies: tuple[StrategyView, ...]

    @property
    def position(self) -> Decimal:
        """The strategies' net BTC."""
        return sum(self.positions.values(), ZERO)


class Engine:
    """Drives strategies against one venue, journaling everything."""

    def __init__(self, *, venue: Venue, pm: pluggy.PluginManager, strategies: Sequence[StrategyHost],
                 risk: AccountRisk, journal: Journal, settings: EngineSettings | None = None) -> None:
        self.venue = venue
        self.pm = pm
        self.strategies = list(strategies)
        self.risk = risk
        self.journal = journal
        self.settings = settings or EngineSettings()
        self.run_id: int | None = None
        self.ticks = 0
        self.live: dict[int, OrderRecord] = {}
        self.positions: dict[str, Decimal] = {}
        self.balances = Balances()
        self._balances_at = -1
        self._balances_dirty = True
        self.start_equity: Decimal | None = None
        self.equity: Decimal | None = None
        self.last_snapshot: Snapshot | None = None
        self.totals = TickReport(ts=0)
        self._hosts = {host.name: host for host in self.strategies}
        self._deferred: list[tuple[StrategyHost, str, dict[str, Any]]] | None = None
        self._checks = list(pm.hook.botkit_check_intent.get_hookimpls())
        self._health_journaled: dict[str, tuple[bool, int, str | None]] = {}
        self._kill_switch_journaled: str | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, now: int) -> None:
        """Open a run, reconcile with the venue before any strategy runs, then call on_start."""
        self.run_id = self.journal.begin_run(self.venue.name, now)
        self.positions = self.journal.positions()
        for record in self.journal.live_orders():
            self.live[record.local_id] = record
        self._deferred = []  # fills found while reconciling reach strategies after their on_start
        self._reconcile_at_start(now)
        deferred, self._deferred = self._deferred, None
        for host in self.strategies:
            host.ctx.state.update(self.journal.load_state(host.name))
            host.ctx.state.take_changes()
            self._refresh_ctx(host, now)
            self._call(host, "botkit_on_start", ctx=host.ctx)
        for host, hook_name, kwargs in deferred:
            self._refresh_ctx(host, now)
            self._call(host, hook_name, **kwargs)
        self.journal.begin_health(self.run_id, now, [host.health() for host in self.strategies])
        self._health_journaled = {host.name: host.health_key for host in self.strategies}
        log.info("run %d started on %s with %d strategies: %s", self.run_id,
                 self.venue.label,
                 len(self.strategies), ", ".join(h.name for h in self.strategies) or "none")

    def stop(self, now: int, *, status: str = "stopped") -> dict[str, Any]:
        """Call on_stop, cancel or leave open orders, and close the run with its summary."""
        assert self.run_id is not None, "start() was not called"
        for host in self.strategies:
            self._refresh_ctx(host, now)
            self._call(host, "botkit_on_stop", ctx=host.ctx)
        if self.settings.on_shutdown == "cancel":
            final = TickReport(ts=now)  # fills that race the cancels count in the run's totals
            for record in list(self.live.values()):
                if record.exchange_order_id and record.status.is_open:
                    self._send_cancel(record, now, force=True)
                    final.cancelled += 1
            self._sync(now, final)
            self._add_totals(final)
        self._journal_health(now)
        summary = self.summary()
        self.journal.end_run(self.run_id, now, status, summary)
        log.info("run %d %s: %s", self.run_id, status, _summary_line(summary))
        return summary

    def view(self) -> EngineView:
        """A read-only copy of what observers may know (see :class:`EngineView`)."""
        open_orders: dict[str, int] = {}
        unresolved = 0
        for record in self.live.values():
            if record.status.is_open:
                open_orders[record.strategy] = open_orders.get(record.strategy, 0) + 1
            elif record.is_unresolved:
                unresolved += 1
        return EngineView(
            run_id=self.run_id, ticks=self.ticks, equity=self.equity, start_equity=self.start_equity,
            positions=MappingProxyType(dict(self.positions)), open_orders=MappingProxyType(open_orders),
            unresolved_orders=unresolved, kill_switch=self.risk.halted_reason,
            strategies=tuple(StrategyView(h.name, h.paused, h.total_failures) for h in self.strategies),
        )

    # ------------------------------------------------------------------ an operator's control

    def pause_strategy(self, name: str, reason: str, now: int) -> int:
        """Pause strategy ``name`` and cancel its open orders (an operator takes it out of the
        market: quotes left resting would still trade); returns the cancels sent."""
        host = self._host(name)
        host.pause(reason)
        return self._cancel_where(now, lambda record: record.strategy == name)

    def resume_strategy(self, name: str) -> None:
        self._host(name).resume()

    def trip_kill_switch(self, reason: str) -> None:
        self.risk.trip(reason)

    def reset_kill_switch(self) -> None:
        self.risk.reset()

    def cancel_all(self, now: int) -> int:
        """Cancel every open order of the bot; returns the cancels sent (fills that race them are
        learnt at the next sync, as always)."""
        return self._cancel_where(now, lambda _record: True)

    def _cancel_where(self, now: int, chosen: Callable[[OrderRecord], bool]) -> int:
        sent = 0
        for record in list(self.live.values()):
            if (chosen(record) and record.exchange_order_id is not None and record.status.is_open
                    and self._send_cancel(record, now, force=True)):
                sent += 1
        self.totals.cancelled += sent
        return sent

    def _host(self, name: str) -> StrategyHost:
        host = self._hosts.get(name)
        if host is None:
            raise KeyError(f"no strategy {name} in this bot (it runs {', '.join(self._hosts) or 'none'})")
        return host

    def _equity_change(self) -> Decimal | None:
        return None if self.equity is None or self.start_equity is None else self.equity - self.start_equity

    def summary(self) -> dict[str, Any]:
        t = self.totals
        return {
            "ticks": self.ticks, "placed": t.placed, "cancelled": t.cancelled, "rejected": t.rejected,
            "fills": t.fills, "strategy_failures": t.failures,
            "open_orders": sum(1 for r in self.live.values() if r.status.is_open),
            "unresolved_orders": sum(1 for r in self.live.values() if r.is_unresolved),
            "start_equity": self.start_equity, "end_equity": self.equity,
            "equity_change": self._equity_change(),
            "positions": dict(sorted(self.positions.items())),
        }

    # ------------------------------------------------------------------ the tick

    def tick(self, snapshot: Snapshot) -> TickReport:
        """Process one snapshot; never raises for venue or strategy trouble (it is reported)."""
        now = snapshot.ts
        mid = snapshot.mid
        report = TickReport(ts=now, mid=mid, spread=None if mid is None else snapshot.spread)
        self.ticks += 1
        self.last_snapshot = snapshot
        self.venue.observe(snapshot)
        synced = self._sync(now, report)
        self._resolve_unknown(now, report)
        account_known = self._refresh_account(now, snapshot, report, mid) and synced
        if not account_known:
            # Orders or balances could not be read: strategies and risk rules would decide on a
            # stale account (a fill not yet seen, a position past its limit), so nobody trades.
            report.errors.append("strategies not asked this tick: the account's state could not be read")
        for host in self.strategies:
            if not host.active or not account_known:
                continue
            self._refresh_ctx(host, now)
            try:
                checked = host.ask(snapshot, self.settings.max_intents_per_tick)
            except StrategyFailure:
                report.failures += 1
                continue
            finally:
                if not self._save_state(host):
                    report.failures += 1
            malformed = 0
            first_problem = ""
            for intent, problem in checked:
                if problem is None:
                    self._execute(host, intent, snapshot, now, report)
                else:
                    malformed += 1
                    first_problem = first_problem or problem
                    self._reject(host, intent, "invalid", problem, now, report)
            if malformed:
                # Counted last, so that a well-behaved botkit_on_rejection call does not end the streak.
                host.fail("botkit_on_snapshot", f"returned {malformed} malformed intent(s), refused: {first_problem}")
                report.failures += 1
        if report.placed or report.cancelled:
            self._sync(now, report)
        report.open_orders = sum(1 for r in self.live.values() if r.status.is_open)
        report.position = sum(self.positions.values(), ZERO)
        report.equity = self.equity
        report.equity_change = self._equity_change()
        self._add_totals(report)
        self._journal_health(now)
        if self.settings.log_ticks:
            log.info("%s", _tick_line(report))
        return report

    def _journal_health(self, now: int) -> None:
        """Journal what changed in the strategies' health and in the kill switch, for ``botkit
        status`` (another process). Compared with what was last journaled, not with the previous
        tick, so a write that failed is made at the next tick."""
        assert self.run_id is not None
        for host in self.strategies:
            key = host.health_key
            if self._health_journaled.get(host.name) != key:
                self.journal.set_health(self.run_id, now, host.health())
                self._health_journaled[host.name] = key
        halted = self.risk.halted_reason
        if halted != self._kill_switch_journaled:
            self.journal.set_kill_switch(self.run_id, now, halted)
            self._kill_switch_journaled = halted
            if halted is None:
                log.info("kill switch reset: new orders allowed again")
            else:
                log.error("kill switch tripped: %s", halted)

    def _add_totals(self, report: TickReport) -> None:
        t = self.totals
        t.placed += report.placed
        t.cancelled += report.cancelled
        t.rejected += report.rejected
        t.fills += report.fills
        t.failures += report.failures

    # ------------------------------------------------------------------ account

    def _refresh_account(self, now: int, snapshot: Snapshot, report: TickReport | None,
                         mid: Decimal | None) -> bool:
        """Update balances (when due), equity and the risk view; False when balances were due but
        could not be read."""
        known = True
        if self._balances_dirty or self._balances_at < 0 or now - self._balances_at >= BALANCE_REFRESH_MS:
            try:
                self.balances = self.venue.balances()
                self._balances_at = now
                self._balances_dirty = False
            except VenueError as exc:
                _report_error(report, f"balances unavailable: {exc}")
                known = False
        if mid is not None and self.balances:
            self.equity = self.balances.usd + self.balances.btc * mid
            if self.start_equity is None:
                self.start_equity = self.equity
        reserved_usd = ZERO
        reserved_btc = ZERO
        open_count = 0
        for record in self.live.values():
            open_count += 1
            remaining = record.remaining
            if record.side is Side.BUY:
                reserved_usd += (record.price or snapshot.best_ask or ZERO) * remaining
            else:
                reserved_btc += remaining
        self.risk.update(now, self.equity, self.balances.usd - reserved_usd, self.balances.btc - reserved_btc,
                         open_count)
        return known

    def _refresh_ctx(self, host: StrategyHost, now: int) -> None:
        name = host.name
        mine = tuple(_as_order(r) for r in self.live.values()
                     if r.strategy == name and r.status.is_live) if self.live else ()
        host.ctx.refresh(now, self.positions.get(name, ZERO), self.balances, mine)

    def _save_state(self, host: StrategyHost) -> bool:
        """Journal the strategy's state changes; False (a failure of the strategy) if they cannot be."""
        if not host.ctx.state.dirty:
            return True
        changes = host.ctx.state.take_changes()
        if changes:
            try:
                self.journal.save_state(host.name, changes)
            except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
                host.fail("ctx.state", f"state is not JSON-serializable: {type(exc).__name__}: {exc}")
                return False
        return True

    # ------------------------------------------------------------------ intents

    def _execute(self, host: StrategyHost, intent: Intent, snapshot: Snapshot, now: int, report: TickReport) -> None:
        if isinstance(intent, PlaceOrder):
            self._place(host, intent, snapshot, now, report)
        elif isinstance(intent, CancelOrder):
            record = self._find_own(host.name, intent.order_id)
            if record is None:
                self._reject(host, intent, "cancel", f"{intent.order_id} is not an open order of {host.name}",
                             now, report)
            elif record.exchange_order_id is None:
                self._reject(host, intent, "cancel", f"{intent.order_id} has no exchange id yet (outcome unknown)",
                             now, report)
            elif self._send_cancel(record, now):
                report.cancelled += 1
        elif isinstance(intent, CancelAll):
            for record in list(self.live.values()):
                if (record.strategy == host.name and record.exchange_order_id is not None
                        and record.status.is_open and intent.side in (None, record.side)
                        and self._send_cancel(record, now)):
                    report.cancelled += 1

    def _place(self, host: StrategyHost, intent: PlaceOrder, snapshot: Snapshot, now: int, report: TickReport) -> None:
        if intent.quantity < MIN_QUANTITY:
            self._reject(host, intent, "min_quantity",
                         f"quantity {intent.quantity} BTC is below the minimum of {MIN_QUANTITY}", now, report)
            return
        if any(r.is_unresolved and r.side is intent.side for r in self.live.values()):
            self._reject(host, intent, "unresolved",
                         f"an earlier {intent.side.value} order's outcome is still unknown; waiting to resolve it",
                         now, report)
            return
        # The rules read position and open orders from the context: the engine's own numbers, fresh
        # (orders placed earlier this tick included; whatever the strategy wrote there, ignored).
        self._refresh_ctx(host, now)
        refusal = self._risk_refusal(intent, snapshot, host.ctx)
        if refusal is not None:
            self._reject(host, intent, *refusal, now, report)
            return
        assert self.run_id is not None
        record = self.journal.record_pending(self.run_id, self.venue.name, host.name, intent.tag, intent.side,
                                             intent.order_type.value, intent.price, intent.quantity, now)
        self.live[record.local_id] = record
        crashpoint("order.pending")
        try:
            order_id = self.venue.place_order(intent.side, intent.quantity, intent.price)
        except OrderRejected as exc:
            self.journal.set_status(record, OrderState.REJECTED, now, error=str(exc))
            del self.live[record.local_id]
            self._reject(host, intent, "exchange", str(exc), now, report, journal=False)
            return
        except VenueUnavailable as exc:
            self.journal.set_status(record, OrderState.NOT_PLACED, now, error=str(exc))
            del self.live[record.local_id]
            self._reject(host, intent, "unavailable", str(exc), now, report, journal=False)
            return
        except (OutcomeUnknown, VenueError) as exc:
            self.journal.set_status(record, OrderState.UNKNOWN, now, error=str(exc))
            log.warning("order %d (%s %s %s @ %s) outcome unknown: %s; resolving from the exchange's orders",
                        record.local_id, host.name, intent.side.value, intent.quantity, intent.price or "market", exc)
            report.errors.append(f"order {record.local_id} outcome unknown")
            return
        crashpoint("order.placed")
        self.journal.bind(record, order_id, now)
        self._balances_dirty = True
        self.risk.open_orders += 1
        report.placed += 1

    def _risk_refusal(self, intent: PlaceOrder, snapshot: Snapshot, ctx: StrategyContext) -> tuple[str, str] | None:
        """(rule, reason) of the first pre-trade check that refuses the order, or None.

        Fail closed: a check that raises, or answers anything but a reason or None, refuses the
        order under rule ``risk`` (logged with its traceback), and the tick goes on.
        """
        try:
            self.risk.check(intent, snapshot, ctx)
        except RiskRejected as exc:
            return exc.rule, exc.reason
        except Exception as exc:
            log.exception("the built-in risk rules raised on %s; order refused", describe(intent))
            return "risk", f"the built-in risk rules raised {type(exc).__name__}"
        for impl in self._checks:
            name = str(impl.plugin_name)
            if name == RISK_PLUGIN_NAME:
                continue
            arguments = {"intent": intent, "snapshot": snapshot, "ctx": ctx}
            try:
                reason = impl.function(**{k: arguments[k] for k in impl.argnames})
            except (Exception, SystemExit) as exc:  # sys.exit() in a check must not stop the daemon
                log.error("pre-trade check %s raised %s on %s; order refused (fail closed)", name,
                          type(exc).__name__, describe(intent), exc_info=exc)
                return "risk", f"pre-trade check {name} raised {type(exc).__name__}"
            if reason is None:
                continue
            if type(reason) is not str:
                log.error("pre-trade check %s returned a %s, not a reason or None; order refused (fail closed)",
                          name, type(reason).__name__)
                return "risk", f"pre-trade check {name} returned a {type(reason).__name__}, not a reason or None"
            if reason:
                return name, reason
        return None

    def _reject(self, host: StrategyHost, intent: Intent, rule: str, reason: str, now: int, report: TickReport,
                *, journal: bool = True) -> None:
        report.rejected += 1
        log.warning("strategy %s: %s refused (%s): %s", host.name, describe(intent), rule, reason)
        if journal and self.run_id is not None:
            self.journal.record_rejection(self.run_id, now, host.name, rule, reason, describe(intent))
        self._call(host, "botkit_on_rejection", intent=intent, reason=f"{rule}: {reason}", ctx=host.ctx)

    def _find_own(self, strategy: str, order_id: str) -> OrderRecord | None:
        for record in self.live.values():
            if record.strategy != strategy:
                continue
            if order_id in (record.exchange_order_id, record.local_order_id):
                return record
        return None

    def _send_cancel(self, record: OrderRecord, now: int, *, force: bool = False) -> bool:
        if not force and record.cancel_sent_at is not None and now - record.cancel_sent_at < CANCEL_RESEND_MS:
            return False
        assert record.exchange_order_id is not None
        record.cancel_sent_at = now
        self.journal.note(record, "cancel_sent", now)
        try:
            self.venue.cancel_order(record.exchange_order_id)
        except OrderRejected as exc:
            log.info("cancel of %s refused (%s); its state is read back", record.exchange_order_id, exc)
        except VenueError as exc:
            log.warning("cancel of %s: %s; its state is read back on the next sync", record.exchange_order_id, exc)
        self._balances_dirty = True
        return True

    # ------------------------------------------------------------------ learning from the venue

    def _sync(self, now: int, report: TickReport | None = None) -> bool:
        """Learn fills and status changes of the open orders and deliver them to their strategies;
        False when the venue could not be read."""
        bound = [r for r in self.live.values() if r.exchange_order_id is not None and r.status.is_open]
        if not bound:
            return True
        try:
            orders = self.venue.orders([r.exchange_order_id for r in bound if r.exchange_order_id])
        except VenueError as exc:
            _report_error(report, f"order sync failed: {exc}")
            return False
        by_id = {o.order_id: o for o in orders}
        for record in bound:
            order = by_id.get(record.exchange_order_id or "")
            if order is not None:
                self._apply(record, order, now, report)
            else:
                # The venue says it has no such order (an exchange restored from an older state):
                # nothing more can be learnt about it, so stop tracking it, loudly.
                self.journal.set_status(record, OrderState.VANISHED, now, detail="the venue does not know this order")
                self.live.pop(record.local_id, None)
                _report_error(report, f"order {record.local_id} ({record.exchange_order_id}) vanished from the venue")
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
            self.live.pop(record.local_id, None)
        if host is not None and OrderState.of(order.status) is not old_status:
            self._refresh_ctx(host, now)
            self._call(host, "botkit_on_order_update", order=view, ctx=host.ctx)

    def _resolve_unknown(self, now: int, report: TickReport | None = None) -> None:
        unresolved = [r for r in self.live.values() if r.is_unresolved]
        if not unresolved:
            return
        since = min(r.sent_at for r in unresolved) - CLOCK_SKEW_MS
        try:
            orders = self.venue.orders_since(since)
        except VenueError as exc:
            _report_error(report, f"cannot read orders to resolve unknown outcomes: {exc}")
            return
        taken = self.journal.known_exchange_ids(o.order_id for o in orders)
        taken |= {r.exchange_order_id for r in self.live.values() if r.exchange_order_id}
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
                self.live.pop(record.local_id, None)
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
                    self.live[record.local_id] = record
                    self._apply(record, order, now, report)
                    break

    def _reconcile_at_start(self, now: int) -> None:
        """Before any strategy runs: resolve unknowns, journal fills missed while down, and deal
        with exchange orders the journal does not know."""
        for record in self.live.values():
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
                self.live[record.local_id] = record
                self._apply(record, order, now, None)
            elif policy == "cancel":
                try:
                    self.venue.cancel_order(order.order_id)
                except VenueError as exc:
                    log.error("could not cancel unknown order %s: %s", order.order_id, exc)

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


# ---------------------------------------------------------------------- helpers


def _matches(record: OrderRecord, order: Order) -> bool:
    """Could this exchange order be the one this journal row sent? (side, type, price, quantity)"""
    if order.side is not record.side or order.order_type.value != record.order_type:
        return False
    if order.order_type is OrderType.MARKET:
        return True  # market buys travel as USD amounts; one unknown per side keeps this unambiguous
    return order.price == record.price and order.quantity == record.quantity


def _as_order(record: OrderRecord) -> Order:
    """The strategies' view of a live order: one not placed yet (its outcome unresolved) reads as
    opened, under its ``local-N`` id, with ``is_placed`` False."""
    status = OrderStatus(record.status.value) if record.status.is_open else OrderStatus.OPENED
    return Order(
        order_id=record.order_id, side=record.side,
        order_type=OrderType(record.order_type), status=status, price=record.price, quantity=record.quantity,
        filled=record.filled, created_ts=record.created_at, average_price=record.average_price, fees=record.fees,
        tag=record.tag, is_placed=record.status.is_placed,
    )


def _report_error(report: TickReport | None, message: str) -> None:
    log.warning("%s", message)
    if report is not None:
        report.errors.append(message)


def _tick_line(r: TickReport) -> str:
    parts = [f"tick mid={money(r.mid, 'USD')} spread={money(r.spread, 'USD')} pos={money(r.position, 'BTC')}",
             f"equity_change={money(r.equity_change, 'USD')} open={r.open_orders}",
             f"placed={r.placed} cancelled={r.cancelled} fills={r.fills} rejected={r.rejected}"]
    if r.failures:
        parts.append(f"strategy_failures={r.failures}")
    if r.errors:
        parts.append(f"errors={len(r.errors)}")
    return " ".join(parts)


def _summary_line(summary: dict[str, Any]) -> str:
    """The run's counts, and its equities in USD (``positions`` are left to the journal)."""
    def shown(value: Any) -> Any:
        return money(value, "USD") if isinstance(value, Decimal) else value

    return ", ".join(f"{k}={shown(v)}" for k, v in summary.items() if k != "positions")


__all__ = ["Engine", "EngineSettings", "Fill", "TickReport"]
