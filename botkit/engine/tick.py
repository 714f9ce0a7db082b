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

import logging
from collections.abc import Callable, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pluggy

from botkit.core.errors import VenueError
from botkit.core.output import money
from botkit.engine.bars import BarFeed
from botkit.engine.base import UnfinishedSummary
from botkit.engine.execution import Execution
from botkit.engine.reconciliation import Reconciliation
from botkit.engine.risk import AccountRisk
from botkit.engine.state import (
    BALANCE_REFRESH_MS,
    RISK_PLUGIN_NAME,
    EngineSettings,
    EngineView,
    StrategyView,
    TickReport,
    equity_change,
    report_error,
)
from botkit.journal import Journal, OrderRecord
from botkit.model import (
    ZERO,
    Balances,
    Order,
    Side,
    Snapshot,
)
from botkit.strategy.bars import Bar
from botkit.strategy.host import StrategyFailure, StrategyHost
from botkit.venues.port import Venue

log = logging.getLogger("botkit.engine")



class Engine(Execution, Reconciliation):
    """Drives strategies against one venue, journaling everything."""

    def __init__(self, *, venue: Venue, pm: pluggy.PluginManager, strategies: Sequence[StrategyHost],
                 risk: AccountRisk, journal: Journal, settings: EngineSettings | None = None) -> None:
        self.venue = venue
        for host in strategies:
            host.ctx.trade(venue.instrument)
        self.pm = pm
        self.strategies = list(strategies)
        self.risk = risk
        self.journal = journal
        self.settings = settings or EngineSettings()
        self.run_id: int | None = None
        self.ticks = 0
        self.unfinished: dict[int, OrderRecord] = {}
        self.positions: dict[str, Decimal] = {}
        self.balances = Balances()
        self._usd = self._btc = ZERO
        self._valued = False
        """The balances' USD and BTC, and whether there are any, read once when they are read."""
        self._balances_at = -1
        self._balances_dirty = True
        self.start_equity: Decimal | None = None
        self.equity: Decimal | None = None
        self.last_snapshot: Snapshot | None = None
        self.totals = TickReport(ts=0)
        self._hosts = {host.name: host for host in self.strategies}
        self._deferred: list[tuple[StrategyHost, str, dict[str, Any]]] | None = None
        self._views: dict[int, tuple[tuple[Any, ...], Order]] = {}
        self._synced_revision: int | None = None
        self._summary: UnfinishedSummary | None = None
        if pm.get_plugin(RISK_PLUGIN_NAME) is None:  # the built-in rules are checked like any plugin's
            pm.register(risk, name=RISK_PLUGIN_NAME)
        self._checks = sorted(pm.hook.botkit_check_intent.get_hookimpls(),
                              key=lambda impl: impl.plugin_name != RISK_PLUGIN_NAME)
        self._health_journaled: dict[str, tuple[bool, int, str | None]] = {}
        self._health_looked: dict[str, int] = {}
        """Each strategy's ``health_changes`` when its health was last compared with the journal's."""
        self._kill_switch_journaled: str | None = None
        self.bars = BarFeed(self.strategies, journal, keep_in_journal=self.settings.keep_bars)
        self._bars_update = self.bars.updater()
        self._log_ticks = self.settings.log_ticks

    # ------------------------------------------------------------------ lifecycle

    def start(self, now: int) -> None:
        """Open a run, reconcile with the venue before any strategy runs, then call on_start."""
        self.run_id = self.journal.begin_run(self.venue.name, now)
        self.positions = self.journal.positions()
        for record in self.journal.live_orders():
            self.unfinished[record.local_id] = record
        self._deferred = []  # fills found while reconciling reach strategies after their on_start
        self._reconcile_at_start(now)
        deferred, self._deferred = self._deferred, None
        restored = self.bars.restore()
        if restored:
            log.info("history: %d bars before the first tick (journal and warm-up)", restored)
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
        self._health_looked = {host.name: host.health_changes for host in self.strategies}
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
            for record in list(self.unfinished.values()):
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
        for record in self.unfinished.values():
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
        for record in list(self.unfinished.values()):
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

    def summary(self) -> dict[str, Any]:
        t = self.totals
        return {
            "ticks": self.ticks, "placed": t.placed, "cancelled": t.cancelled, "rejected": t.rejected,
            "fills": t.fills, "strategy_failures": t.failures,
            "open_orders": self._unfinished_summary().open_orders,
            "unresolved_orders": sum(1 for r in self.unfinished.values() if r.is_unresolved),
            "start_equity": self.start_equity, "end_equity": self.equity,
            "equity_change": equity_change(self.equity, self.start_equity),
            "positions": dict(sorted(self.positions.items())),
        }

    # ------------------------------------------------------------------ the tick

    def tick(self, snapshot: Snapshot) -> TickReport:
        """Process one snapshot; never raises for venue or strategy trouble (it is reported).

        A backtest calls this a million times, so a tick where nothing happened (no order open,
        no fill, no failure) does little more than ask the strategies: every step below that
        has nothing to do is skipped by a plain test, not a call.
        """
        now = snapshot.ts
        mid = snapshot.mid
        report = TickReport(now, mid, None if mid is None else snapshot.spread)
        self.ticks += 1
        self.last_snapshot = snapshot
        self.venue.observe(snapshot)
        closed = self._bars_update(snapshot)
        unfinished = self.unfinished
        synced = True
        if unfinished:  # nothing to learn about orders when there are none (most backtest ticks)
            synced = self._sync(now, report)
            if self._unfinished_summary().unresolved:  # rare: no call otherwise (start() relies on its own test)
                self._resolve_unknown(now, report)
        account_known = self._refresh_account(now, snapshot, report, mid) and synced
        if not account_known:
            # Orders or balances could not be read: strategies and risk rules would decide on a
            # stale account (a fill not yet seen, a position past its limit), so nobody trades.
            report.errors.append("strategies not asked this tick: the account's state could not be read")
        else:
            for host in self.strategies:
                if not host.active:
                    continue
                self._refresh_ctx(host, now)
                self._ask(host, "botkit_on_snapshot", snapshot, snapshot, now, report)
                if closed:
                    for bar in self.bars.for_strategy(host.name, closed):
                        if host.paused:  # by its failures this tick
                            break
                        self._refresh_ctx(host, now)  # orders placed on the snapshot, or on an earlier bar
                        self._ask(host, "botkit_on_bar", bar, snapshot, now, report)
        if report.placed or report.cancelled:
            self._sync(now, report)
        if unfinished:
            report.open_orders = self._unfinished_summary().open_orders
        if self.positions:
            report.position = sum(self.positions.values(), ZERO)
        report.equity = self.equity
        report.start_equity = self.start_equity
        if report.placed or report.cancelled or report.rejected or report.fills or report.failures:
            self._add_totals(report)
        self._journal_health(now)
        if self._log_ticks:
            log.info("%s", _tick_line(report))
        return report

    def _ask(self, host: StrategyHost, hook_name: str, subject: Snapshot | Bar, snapshot: Snapshot, now: int,
             report: TickReport) -> None:
        """Ask a strategy for intents on a snapshot or a closed bar and execute the well-formed
        ones; refuse the others, and count them as its failure."""
        try:
            if isinstance(subject, Bar):
                checked = host.ask_bar(subject, self.settings.max_intents_per_tick)
            else:
                checked = host.ask(subject, self.settings.max_intents_per_tick)
        except StrategyFailure:
            report.failures += 1
            return
        finally:
            if host.ctx.state.changed and not self._save_state(host):
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
            host.fail(hook_name, f"returned {malformed} malformed intent(s), refused: {first_problem}")
            report.failures += 1

    def _journal_health(self, now: int) -> None:
        """Journal what changed in the strategies' health and in the kill switch, for ``botkit
        status`` (another process). Compared with what was last journaled, not with the previous
        tick, so a write that failed is made at the next tick; a strategy's health is looked at
        only after an event that may have changed it (``health_changes``)."""
        assert self.run_id is not None
        for host in self.strategies:
            if host.health_changes == self._health_looked[host.name]:  # set for each at start
                continue
            key = host.health_key
            if self._health_journaled.get(host.name) != key:
                self.journal.set_health(self.run_id, now, host.health())
                self._health_journaled[host.name] = key
            self._health_looked[host.name] = host.health_changes
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
                balances = self.balances = self.venue.balances()
                self._usd, self._btc, self._valued = balances.usd, balances.btc, bool(balances)
                if self._balances_at < 0 and self.run_id is not None:
                    # The run's first balances, journaled once: what a replay of the run starts
                    # from (``botkit compare``), since a paper run starts from the live account's.
                    self.journal.record_balances(self.run_id, now, dict(self.balances.amounts))
                self._balances_at = now
                self._balances_dirty = False
            except VenueError as exc:
                report_error(report, f"balances unavailable: {exc}")
                known = False
        usd, btc = self._usd, self._btc
        if mid is not None and self._valued:
            self.equity = usd + btc * mid
            if self.start_equity is None:
                self.start_equity = self.equity
        open_count = len(self.unfinished)
        if open_count:
            summary = self._unfinished_summary()
            reserved_usd = summary.reserved_usd
            if reserved_usd is None:  # a market buy holds USD at this tick's ask
                reserved_usd = ZERO
                for record in self.unfinished.values():
                    if record.side is Side.BUY:
                        reserved_usd += (record.price or snapshot.best_ask or ZERO) * record.remaining
            usd -= reserved_usd
            btc -= summary.reserved_btc
        self.risk.update(now, self.equity, usd, btc, open_count)
        return known




# ---------------------------------------------------------------------- helpers


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


__all__ = ["RISK_PLUGIN_NAME", "Engine", "EngineSettings", "EngineView", "TickReport"]
