"""The daemon: an APScheduler job that fetches a snapshot and calls ``Engine.tick``.

APScheduler only decides *when*; the tick itself is the engine's plain method. One job, one
instance at a time (a slow tick delays the next instead of overlapping it; late runs coalesce).
SIGINT/SIGTERM stop the scheduling, wait for the tick in flight, then stop the engine (cancel or
leave open orders) and record the run's summary. That wait is bounded (``[engine]
stop_timeout_seconds``): a tick stuck on an exchange that drips its answers, or anything else,
cannot keep the process from stopping. Past the bound the process exits without the clean stop,
as after a crash: the journal is consistent (each write is one transaction) and the next start
reconciles the orders whose outcome it does not know.

Every tick first checks that this daemon still holds its journal lock (and so does the shutdown,
before it cancels anything). A daemon that lost it stops at once without stopping the engine:
another daemon may be running the bot by now, and its orders and run are not ours to touch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any, NoReturn, Protocol

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler

from botkit.core.errors import BotkitError, JournalLockLost, MarketDataError, VenueError, VenueUnavailable
from botkit.core.signals import on_stop_signals
from botkit.daemon.breaker import CircuitBreaker
from botkit.engine.assembly import Bot
from botkit.engine.tick import TickReport
from botkit.journal import control
from botkit.journal.dashboard import EQUITY

log = logging.getLogger("botkit.daemon")

EXIT_STOP_TIMEOUT = 1
"""Exit status of a process that did not stop cleanly within its stop timeout."""
STOPPING = "stopping"
"""The outcome of an operator's stop request that is carried out."""
EQUITY_SAMPLE_MS = 10_000
"""The daemon journals the account's equity this often, for the dashboard's chart."""


class StopTimedOut(BotkitError):
    """The tick in flight did not finish within the stop timeout; the engine was not stopped."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _drop_max_instances(record: logging.LogRecord) -> bool:
    """APScheduler warns at every run skipped behind a slow tick (hundreds a minute at a short
    interval); the daemon counts those and reports them once a minute instead."""
    return "maximum number of running instances reached" not in record.getMessage()


def _retry_at(exc: BaseException) -> float | None:
    """When the venue said to come back, on the monotonic clock the breaker uses."""
    if not isinstance(exc, VenueUnavailable) or exc.retry_at_ms is None:
        return None
    return time.monotonic() + max(0.0, exc.retry_at_ms / 1000 - time.time())


class TickObserver(Protocol):
    """Told how each scheduled tick went, e.g. by :class:`botkit.daemon.metrics.BotMetrics`.

    Called on the tick thread after the heartbeat, so it may read the engine's state without
    racing the next tick. ``seconds`` is the whole scheduled tick (fetch, engine, heartbeat). An
    exception from it is logged; the daemon goes on.
    """

    def tick_done(self, report: TickReport, seconds: float) -> None:
        """A snapshot was fetched and ``Engine.tick`` ran."""

    def tick_skipped(self, error: BaseException, seconds: float) -> None:
        """No tick: the market data was unusable or the venue failed (a ``VenueError``), or the
        tick raised (a bug, logged with its traceback)."""


class Daemon:
    """Runs one bot until a signal, ``stop()`` or the optional duration."""

    def __init__(self, bot: Bot, interval_seconds: float, *, on_tick: Any = None,
                 observer: TickObserver | None = None, breaker: CircuitBreaker | None = None,
                 stopping: threading.Event | None = None, stop_timeout: float = 10.0, control: bool = True) -> None:
        self.bot = bot
        self.control = control
        """Carry out operators' requests journaled for the bot (off for a recorder: nothing to steer)."""
        self.stop_timeout = min(stop_timeout, threading.TIMEOUT_MAX)  # 1e400 in a config is inf
        """Seconds :meth:`run` waits for the tick in flight once stopping; then :class:`StopTimedOut`."""
        self.breaker = breaker or CircuitBreaker()
        self.interval = interval_seconds
        self.stopping = stopping or threading.Event()
        """Set by a signal (possibly before :meth:`run`: then the run starts, reconciles and stops)."""
        self.ticks = 0
        self.skipped = 0
        self.overlaps = 0
        self.on_tick = on_tick
        self.observer = observer
        self._tick_lock = threading.Lock()
        self.late_runs = 0
        """Scheduled runs that found the previous tick still running (they wait; never overlap)."""
        self._late_logged_at = -1e9
        self._late_logged_count = 0
        self.lock_lost: JournalLockLost | None = None
        """Set when a check found the journal lock gone: :meth:`run` then raises it."""
        self._sampled_at = -EQUITY_SAMPLE_MS
        self._started_at = now_ms()
        """Requests made before this are not carried out: nobody ran the bot when they were made."""

    def tick(self) -> None:
        """One scheduled tick; never raises (a failed tick is logged and the daemon goes on)."""
        if self.stopping.is_set():
            return
        if not self._tick_lock.acquire(blocking=False):
            if not self.stopping.is_set():  # a stop holds the lock to stop the engine: no overlap
                self.overlaps += 1  # cannot happen with max_instances=1; counted to prove it
            return
        if self.stopping.is_set() or not self.breaker.allow():
            # stopping: the stop does not wait for the scheduler's threads, so a run that began
            # before the stop must not tick once the engine may have been stopped
            self._tick_lock.release()
            return
        started = time.perf_counter()
        outcome: TickReport | BaseException | None = None
        try:
            engine = self.bot.engine
            error: str | None = None
            if self.control and self._carry_out_requests():
                return
            try:
                snapshot = self.bot.fetch()
            except (MarketDataError, VenueError) as exc:
                outcome = exc
                self.skipped += 1
                self.breaker.failure(_retry_at(exc))
                error = f"tick skipped: {exc}"
                log.warning("%s", error)
            else:
                self.breaker.success()
                self.bot.journal.check_lock()  # nothing goes out unless this daemon still owns the bot
                report = outcome = engine.tick(snapshot)
                self.ticks += 1
                if report.errors:
                    error = "; ".join(report.errors)
                if self.on_tick is not None:
                    self.on_tick(snapshot, report)
            view = engine.view()
            if view.run_id is not None:
                now = now_ms()
                self.bot.journal.heartbeat(view.run_id, now, view.ticks, view.equity, view.position, error,
                                           view.start_equity)
                if view.equity is not None and now - self._sampled_at >= EQUITY_SAMPLE_MS:
                    self.bot.journal.record_balances(view.run_id, now, {EQUITY: view.equity})
                    self._sampled_at = now
        except JournalLockLost as exc:
            self._lose_lock(exc)
        except Exception as exc:
            log.exception("tick failed; the daemon goes on")
            if outcome is None:  # a good tick whose heartbeat failed still counts as a tick
                outcome = exc
        finally:
            try:
                self._notify(outcome, time.perf_counter() - started)
            finally:
                self._tick_lock.release()

    def _carry_out_requests(self) -> bool:
        """Carry out the operators' pending requests (journaled by the web app), oldest first, and
        journal what came of each; True when one was to stop (then no tick follows)."""
        journal = self.bot.journal
        requests = control.pending(journal.engine, journal.bot_id)
        if requests:
            journal.check_lock()  # a request is ours to carry out only while we run the bot
        stop = False
        for request in requests:
            now = now_ms()
            outcome = self._carry_out(request, now)
            stop = stop or outcome == STOPPING
            control.finish(journal.engine, request.id, now, outcome)
            log.warning("%s asked to %s%s: %s", request.who, request.action.replace("_", " "),
                        f" {request.strategy}" if request.strategy else "", outcome)
        if stop:
            self.stopping.set()
        return stop

    def _carry_out(self, request: control.ControlRequest, now: int) -> str:
        engine = self.bot.engine
        by = f"by {request.who}"
        if request.requested_at < self._started_at:
            return "not carried out: asked before this run started"
        try:
            if request.action == "pause":
                sent = engine.pause_strategy(request.strategy or "", f"paused {by}", now)
                return f"paused; {sent} open order(s) cancelled"
            if request.action == "resume":
                engine.resume_strategy(request.strategy or "")
                return "resumed"
        except KeyError as exc:
            return f"refused: {exc.args[0]}"
        if request.action == "trip_kill_switch":
            engine.trip_kill_switch(f"tripped {by}: new orders halted until reset or the next UTC day")
            return "kill switch tripped"
        if request.action == "reset_kill_switch":
            engine.reset_kill_switch()
            return "kill switch reset"
        if request.action == "cancel_all":
            return f"{engine.cancel_all(now)} cancel(s) sent"
        return STOPPING if request.action == "stop" else f"refused: unknown action {request.action}"

    def _lose_lock(self, exc: JournalLockLost) -> None:
        if self.lock_lost is None:
            log.error("%s", exc)
            self.lock_lost = exc
        self.stopping.set()

    def _notify(self, outcome: TickReport | BaseException | None, seconds: float) -> None:
        if self.observer is None or outcome is None:
            return
        try:
            if isinstance(outcome, TickReport):
                self.observer.tick_done(outcome, seconds)
            else:
                self.observer.tick_skipped(outcome, seconds)
        except Exception:
            log.exception("the tick observer failed; the daemon goes on")

    def _on_max_instances(self, event: JobExecutionEvent) -> None:
        self.late_runs += 1
        now = time.monotonic()
        if now - self._late_logged_at >= 60:
            log.warning("ticks take longer than the interval: %d scheduled runs waited for the tick in flight",
                        self.late_runs - self._late_logged_count)
            self._late_logged_at, self._late_logged_count = now, self.late_runs

    def run(self, duration: float | None = None, *, install_signals: bool = True) -> dict[str, Any]:
        """Start the engine, tick until stopped, stop the engine; returns the run summary.

        Raises :class:`JournalLockLost` (after logging it) when the journal lock was lost: the
        engine is then left as it is, its orders neither cancelled nor its run closed.

        Raises :class:`StopTimedOut` when the tick in flight is still running
        :attr:`stop_timeout` seconds into the stop: the engine is then left as a crash leaves it
        (its run is closed as crashed and reconciled at the next start), and the tick's thread
        is still running, so a process should exit at once (:func:`exit_now`)."""
        engine = self.bot.engine
        self._started_at = now_ms()
        engine.start(self._started_at)
        if install_signals:
            self._install_signals()
        logging.getLogger("apscheduler.scheduler").addFilter(_drop_max_instances)
        scheduler = BackgroundScheduler(timezone=UTC)
        scheduler.add_listener(self._on_max_instances, EVENT_JOB_MAX_INSTANCES)
        scheduler.add_job(self.tick, "interval", seconds=self.interval, id="tick", max_instances=1,
                          coalesce=True, misfire_grace_time=None, next_run_time=datetime.now(UTC))
        scheduler.start()
        status = "stopped"
        try:
            self.stopping.wait(duration)
        except BaseException:
            status = "crashed"
            raise
        finally:
            self.stopping.set()
            scheduler.shutdown(wait=False)  # no new tick; the one in flight is waited for below
            if not self._tick_lock.acquire(timeout=self.stop_timeout):
                raise StopTimedOut(f"the tick in flight did not finish within {self.stop_timeout:g}s of the "
                                   "stop (engine.stop_timeout_seconds); stopping without the clean stop: "
                                   "the next start reconciles the orders in flight")
            try:
                if self.lock_lost is None:
                    try:
                        self.bot.journal.check_lock()  # before the shutdown cancels anything
                    except JournalLockLost as exc:
                        self._lose_lock(exc)
                summary = engine.stop(now_ms(), status=status) if self.lock_lost is None else {}
            finally:
                self._tick_lock.release()
        if self.lock_lost is not None:
            raise self.lock_lost
        return summary

    def stop(self) -> None:
        self.stopping.set()

    def _install_signals(self) -> None:
        install_stop_signals(self.stopping)


def exit_now(message: str) -> NoReturn:
    """Log ``message``, flush the logs and end the process at once with :data:`EXIT_STOP_TIMEOUT`,
    whatever its other threads are doing (a thread blocked in a call would keep a normal exit
    waiting: the scheduler's worker threads are joined at interpreter exit)."""
    log.error("%s", message)
    for flushable in [*logging.getLogger().handlers, *logging.getLogger("botkit").handlers, sys.stdout, sys.stderr]:
        with contextlib.suppress(Exception):  # exiting anyway: a broken handler must not prevent it
            flushable.flush()
    os._exit(EXIT_STOP_TIMEOUT)


def guard_stop(stopping: threading.Event, seconds: float, done: threading.Event) -> threading.Thread:
    """Once ``stopping`` is set, give the process ``seconds`` to set ``done`` (its clean stop
    finished), else :func:`exit_now`. Covers every phase a signal can land in: start-up
    reconciliation, a tick, the engine's stop (cancels), closing the bot."""

    def watch() -> None:
        stopping.wait()
        if not done.wait(min(seconds, threading.TIMEOUT_MAX)):
            exit_now(f"still not stopped {seconds:g}s after the stop request (engine.stop_timeout_seconds): "
                     "exiting without the clean stop; the next start reconciles the orders in flight")

    thread = threading.Thread(target=watch, name="botkit-stop-guard", daemon=True)
    thread.start()
    return thread


def install_stop_signals(stopping: threading.Event) -> None:
    """SIGINT and SIGTERM set ``stopping`` instead of killing the process. ``botkit run`` installs
    this first thing, so a signal during start-up (reconciliation included) still stops cleanly;
    :func:`botkit.core.signals.on_stop_signals` keeps the handler free of locks."""
    on_stop_signals(stopping, "received {signal}: finishing the current tick, then stopping")
