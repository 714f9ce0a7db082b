"""Write-ahead execution: an intent that passed validation and risk is journaled as ``pending``
BEFORE it is sent, then bound to the exchange's id or, when the reply is lost, marked ``unknown``
and never re-sent (reconciliation.py finds out what happened). The algorithm is written down in
tick.py's module docstring and docs/reliability.md."""

from __future__ import annotations

import logging

from botkit.core.crashpoints import crashpoint
from botkit.core.errors import OrderRejected, OutcomeUnknown, VenueError, VenueUnavailable
from botkit.engine.base import EngineBase
from botkit.engine.risk import RiskRejected
from botkit.engine.state import CANCEL_RESEND_MS, RISK_PLUGIN_NAME, TickReport
from botkit.journal import OrderRecord
from botkit.model import CancelAll, CancelOrder, Intent, OrderState, PlaceOrder, Snapshot
from botkit.strategy.context import StrategyContext
from botkit.strategy.host import StrategyHost
from botkit.strategy.validation import describe

log = logging.getLogger("botkit.engine")


class Execution(EngineBase):
    """Placing and cancelling orders for the strategies, journal first."""

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
            for record in list(self.unfinished.values()):
                if (record.strategy == host.name and record.exchange_order_id is not None
                        and record.status.is_open and intent.side in (None, record.side)
                        and self._send_cancel(record, now)):
                    report.cancelled += 1

    def _place(self, host: StrategyHost, intent: PlaceOrder, snapshot: Snapshot, now: int, report: TickReport) -> None:
        instrument = self.venue.instrument
        if intent.quantity < instrument.min_size:
            self._reject(host, intent, "min_quantity", f"quantity {intent.quantity} {instrument.base} is below the "
                         f"minimum of {instrument.min_size}", now, report)
            return
        if any(r.is_unresolved and r.side is intent.side for r in self.unfinished.values()):
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
        self.unfinished[record.local_id] = record
        crashpoint("order.pending")
        try:
            order_id = self.venue.place_order(intent.side, intent.quantity, intent.price)
        except OrderRejected as exc:
            self.journal.set_status(record, OrderState.REJECTED, now, error=str(exc))
            del self.unfinished[record.local_id]
            self._reject(host, intent, "exchange", str(exc), now, report, journal=False)
            return
        except VenueUnavailable as exc:
            self.journal.set_status(record, OrderState.NOT_PLACED, now, error=str(exc))
            del self.unfinished[record.local_id]
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
        for impl in self._checks:  # the built-in rules first: an ordinary plugin, registered first
            name = str(impl.plugin_name)
            built_in = name == RISK_PLUGIN_NAME
            arguments = {"intent": intent, "snapshot": snapshot, "ctx": ctx}
            try:
                reason = impl.function(**{k: arguments[k] for k in impl.argnames})
            except RiskRejected as exc:  # a check that names its rule (the built-in ones do)
                return exc.rule, exc.reason
            except (Exception, SystemExit) as exc:  # sys.exit() in a check must not stop the daemon
                if built_in:
                    log.error("the built-in risk rules raised on %s; order refused", describe(intent), exc_info=exc)
                    return "risk", f"the built-in risk rules raised {type(exc).__name__}"
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
        for record in self.unfinished.values():
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
