"""Prometheus metrics of a running bot, served at ``/metrics`` by the official client library.

``botkit run --metrics-port N`` (or ``[metrics] port``) turns them on; docs/operations.md lists
every metric with its type and labels, and gives alert rules.

The engine knows nothing of Prometheus. Three observers feed this module instead:

- the daemon's :class:`~botkit.daemon.scheduler.TickObserver` (:meth:`BotMetrics.tick_done`,
  :meth:`BotMetrics.tick_skipped`) for ticks and their duration;
- the client's ``on_call`` observer (:meth:`BotMetrics.exchange_call`) for the latency and the
  errors of every HTTP attempt, by route template;
- after each tick, on the tick thread (so nothing races the engine), the engine's state (position,
  equity, open orders, kill switch, strategy health) and the rows the journal gained (order
  status changes, fills, risk rejections). The journal is read rather than the engine's tick
  report because it has what the report only counts: the status each order reached, the size of
  each fill and the rule behind each rejection; and what it says is what ``botkit journal``
  shows.

Metrics live in a :class:`~prometheus_client.CollectorRegistry` of their own, never the global
one, so that tests and several bots in one process do not collide; every series carries the
``bot`` label (``[bot] id``). Money is exact everywhere else in botkit; here gauges and counters
are floats, as Prometheus stores them.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
    make_wsgi_app,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from botkit.core.errors import ConfigError, MarketDataError, VenueError, VenueUnavailable
from botkit.core.http_server import ConnectionLimits, HttpServer
from botkit.journal.tail import JournalTail

if TYPE_CHECKING:
    from botkit.daemon.breaker import CircuitBreaker
    from botkit.engine.assembly import Bot
    from botkit.engine.tick import Engine, EngineView, TickReport
    from botkit.journal import Journal

log = logging.getLogger("botkit.metrics")

TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds. A tick is three market-data calls plus the engine: milliseconds on a local exchange,
a few hundred on a remote one, up to the client's timeout (10 s by default, per call) when the
exchange hangs; the default interval is 2 s, so the buckets around it are dense."""

EXCHANGE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds. From a sandbox on the same machine (about a millisecond) to a remote exchange (tens
to hundreds) to the client's timeout (10 s by default)."""

SKIP_REASONS = ("bad_data", "venue_unavailable", "venue_error", "exception")
"""Why a scheduled tick did not run the engine (the ``reason`` label of ticks skipped)."""

NOT_A_STATUS = frozenset({"fill", "cancel_sent"})
"""Order events that are not a status the order reached: fills and cancel requests have
metrics of their own."""


class Metrics:
    """Every botkit metric family, registered once in one registry.

    ``registry`` defaults to a new :class:`CollectorRegistry`. ``process_metrics`` adds the
    library's standard ``process_*`` (CPU, memory, file descriptors, start time), ``python_info``
    and ``python_gc_*`` collectors, which the global registry would have had.
    """

    def __init__(self, registry: CollectorRegistry | None = None, *, process_metrics: bool = True) -> None:
        r = self.registry = registry if registry is not None else CollectorRegistry()
        if process_metrics:
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        bot = ["bot"]
        strategy = ["bot", "strategy"]
        self.ticks = Counter("botkit_ticks_total", "Ticks completed: a snapshot was fetched and the engine ran.",
                             bot, registry=r)
        self.ticks_skipped = Counter(
            "botkit_ticks_skipped_total",
            "Scheduled ticks that did not run the engine, by reason: bad_data (malformed market data), "
            "venue_unavailable (timeout, refused, 429, 5xx), venue_error (other exchange errors), "
            "exception (a bug, logged with its traceback).",
            ["bot", "reason"], registry=r)
        self.tick_duration = Histogram(
            "botkit_tick_duration_seconds",
            "Wall time of a completed tick: market data, strategies, orders, journal and heartbeat.",
            bot, buckets=TICK_BUCKETS, registry=r)
        self.last_snapshot_age = Gauge(
            "botkit_last_snapshot_age_seconds",
            "Seconds since the last good market snapshot (since the exporter started when there was none), "
            "computed at scrape time.",
            bot, registry=r)
        self.exchange_duration = Histogram(
            "botkit_exchange_request_duration_seconds",
            "Time of one HTTP attempt to the exchange, from sending to the parsed answer; a retry is an "
            "attempt of its own. Failed attempts included.",
            ["bot", "method", "endpoint"], buckets=EXCHANGE_BUCKETS, registry=r)
        self.exchange_errors = Counter(
            "botkit_exchange_errors_total",
            "Failed HTTP attempts to the exchange, by kind: the HTTP status (400, 404, 429, 500, 503...) or "
            "timeout, connection_error, transport_error, malformed (an answer that is not the contract's).",
            ["bot", "method", "endpoint", "kind"], registry=r)
        self.orders = Counter(
            "botkit_orders_total",
            "Orders reaching each status, as journaled: pending (journaled before sending), placed (the "
            "exchange's id known), opened, filled, canceled, rejected (refused by the exchange), unknown "
            "(reply lost), not_placed, vanished, late, adopted.",
            ["bot", "strategy", "status"], registry=r)
        self.cancel_requests = Counter("botkit_cancel_requests_total", "Cancel requests sent to the exchange.",
                                       strategy, registry=r)
        self.fills = Counter("botkit_fills_total", "Fills journaled, by side and liquidity (maker or taker).",
                             ["bot", "strategy", "side", "liquidity"], registry=r)
        self.fill_volume = ExactCounter("botkit_fill_volume_btc_total", "Quantity filled, in BTC.",
                                        ("bot", "strategy", "side"), registry=r)
        self.fill_notional = ExactCounter("botkit_fill_notional_usd_total", "Value filled (price x quantity), in USD.",
                                          ("bot", "strategy", "side"), registry=r)
        self.fees = ExactCounter("botkit_fees_usd_total", "Fees paid on fills, in USD.", ("bot", "strategy"),
                                 registry=r)
        self.risk_rejections = Counter(
            "botkit_risk_rejections_total",
            "Intents refused before reaching the exchange, by rule (max_position, daily_loss_limit, "
            "price_band, invalid, unresolved, a check plugin's name...).",
            ["bot", "strategy", "rule"], registry=r)
        self.position = Gauge("botkit_position_btc", "Net BTC position of each strategy from its fills.",
                              strategy, registry=r)
        self.equity = Gauge("botkit_equity_usd", "Account equity: USD plus BTC at mid (NaN until known).",
                            bot, registry=r)
        self.open_orders = Gauge("botkit_open_orders", "Orders open on the exchange (opened or partially filled).",
                                 strategy, registry=r)
        self.unresolved_orders = Gauge(
            "botkit_unresolved_orders",
            "Orders whose outcome is being resolved from the exchange (pending or unknown).", bot, registry=r)
        self.kill_switch = Gauge(
            "botkit_kill_switch_tripped",
            "1 while the daily loss limit halts new orders (until the next UTC day), else 0.", bot, registry=r)
        self.strategy_failures = Counter(
            "botkit_strategy_failures_total",
            "Strategy calls that raised, overran their time limit or returned junk.", strategy, registry=r)
        self.strategy_paused = Gauge(
            "botkit_strategy_paused", "1 when the strategy is paused after consecutive failures, else 0.",
            strategy, registry=r)
        self.breakers = BreakerCollector(registry=r)

    def for_bot(self, engine: Engine, journal: Journal | None = None, *, bot_id: str | None = None,
                clock: Callable[[], float] = time.time) -> BotMetrics:
        """The observers of one bot (its ``bot`` label is the journal's bot id unless given)."""
        return BotMetrics(self, engine, journal, bot_id=bot_id, clock=clock)

    def render(self) -> bytes:
        """The text exposition format, as ``/metrics`` serves it."""
        return generate_latest(self.registry)


class BotMetrics:
    """One bot's metrics: the daemon's tick observer and the client's ``on_call`` observer."""

    def __init__(self, metrics: Metrics, engine: Engine, journal: Journal | None = None, *,
                 bot_id: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.metrics = metrics
        self.engine = engine
        self.bot = bot_id if bot_id is not None else engine.journal.bot_id
        self._clock = clock
        self._last_snapshot = clock()
        self._failures_seen: dict[str, int] = {}
        self._strategies: set[str] = set()
        self._tail = JournalTail(journal) if journal is not None else None
        m, bot = metrics, self.bot
        # Series that alerts use exist from the start (at 0), not only after the first event.
        m.ticks.labels(bot)
        m.tick_duration.labels(bot)
        for reason in SKIP_REASONS:
            m.ticks_skipped.labels(bot, reason)
        m.equity.labels(bot).set(math.nan)
        m.kill_switch.labels(bot).set(0)
        m.unresolved_orders.labels(bot).set(0)
        m.last_snapshot_age.labels(bot).set_function(self.snapshot_age)
        for strategy in engine.view().strategies:
            self._known(strategy.name)

    def _known(self, strategy: str) -> None:
        if strategy in self._strategies:
            return
        self._strategies.add(strategy)
        m, bot = self.metrics, self.bot
        m.strategy_failures.labels(bot, strategy)
        m.strategy_paused.labels(bot, strategy).set(0)
        m.open_orders.labels(bot, strategy).set(0)
        m.position.labels(bot, strategy).set(0)

    def watch_breaker(self, breaker: CircuitBreaker) -> None:
        """Export the daemon's circuit breaker (open or not, trips, ticks held back)."""
        self.metrics.breakers.watch(self.bot, breaker)

    def snapshot_age(self) -> float:
        """Seconds since the last good snapshot (or since this exporter was made)."""
        return max(0.0, self._clock() - self._last_snapshot)

    # ------------------------------------------------------------------ observers

    def exchange_call(self, method: str, endpoint: str, seconds: float, outcome: str) -> None:
        """The client's ``on_call``: one HTTP attempt (see ``botkit.client.client.CallObserver``)."""
        self.metrics.exchange_duration.labels(self.bot, method, endpoint).observe(seconds)
        if not (outcome.isdigit() and int(outcome) < 400):
            self.metrics.exchange_errors.labels(self.bot, method, endpoint, outcome).inc()

    def tick_done(self, report: TickReport, seconds: float) -> None:
        """The daemon's tick observer: a tick ran; read what changed."""
        self.metrics.ticks.labels(self.bot).inc()
        self.metrics.tick_duration.labels(self.bot).observe(seconds)
        self._last_snapshot = report.ts / 1000
        self.refresh()

    def tick_skipped(self, error: BaseException, seconds: float) -> None:
        """The daemon's tick observer: no tick this time (``error`` says why)."""
        self.metrics.ticks_skipped.labels(self.bot, skip_reason(error)).inc()

    def refresh(self) -> None:
        """Bring the gauges up to the engine's state and the counters up to the journal's rows.

        Call it on the thread that ticks the engine (the tick observer does), between ticks.
        """
        view = self.engine.view()
        self._read_engine(view)
        if self._tail is not None:
            self._read_journal(self._tail, view.run_id)

    def _read_engine(self, view: EngineView) -> None:
        m, bot = self.metrics, self.bot
        for name in [*view.positions, *view.open_orders]:
            self._known(name)
        for name in self._strategies:
            m.open_orders.labels(bot, name).set(view.open_orders.get(name, 0))
            m.position.labels(bot, name).set(float(view.positions.get(name, Decimal(0))))
        m.unresolved_orders.labels(bot).set(view.unresolved_orders)
        m.equity.labels(bot).set(math.nan if view.equity is None else float(view.equity))
        m.kill_switch.labels(bot).set(0 if view.kill_switch is None else 1)
        for strategy in view.strategies:
            seen = self._failures_seen.get(strategy.name, 0)
            if strategy.total_failures > seen:
                m.strategy_failures.labels(bot, strategy.name).inc(strategy.total_failures - seen)
            self._failures_seen[strategy.name] = strategy.total_failures
            m.strategy_paused.labels(bot, strategy.name).set(1 if strategy.paused else 0)

    def _read_journal(self, tail: JournalTail, run_id: int | None) -> None:
        m, bot = self.metrics, self.bot
        news = tail.read(run_id)
        for strategy, event in news.events:
            self._known(strategy)
            if event == "cancel_sent":
                m.cancel_requests.labels(bot, strategy).inc()
            elif event not in NOT_A_STATUS:
                m.orders.labels(bot, strategy, event).inc()
        for fill in news.fills:
            self._known(fill.strategy)
            m.fills.labels(bot, fill.strategy, fill.side, fill.liquidity).inc()
            m.fill_volume.inc((bot, fill.strategy, fill.side), fill.quantity)
            m.fill_notional.inc((bot, fill.strategy, fill.side), fill.price * fill.quantity)
            m.fees.inc((bot, fill.strategy), fill.fee)
        for strategy, rule in news.rejections:
            m.risk_rejections.labels(bot, strategy, rule).inc()


class ExactCounter(Collector):
    """A counter of money or BTC summed exactly, as Decimal, and turned into a float once, at
    scrape time: three fills of 0.05 BTC read 0.15, not the 0.15000000000000002 that adding
    floats gives. (prometheus_client's own counters add floats.)"""

    def __init__(self, name: str, documentation: str, labelnames: tuple[str, ...], *,
                 registry: CollectorRegistry) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = labelnames
        self._totals: dict[tuple[str, ...], Decimal] = {}
        self._lock = threading.Lock()
        registry.register(self)

    def inc(self, labels: tuple[str, ...], amount: Decimal) -> None:
        if len(labels) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {labels}")
        if amount < 0:
            raise ValueError(f"{self.name}: counters only go up, got {amount}")
        with self._lock:
            self._totals[labels] = self._totals.get(labels, Decimal(0)) + amount

    def value(self, labels: tuple[str, ...]) -> Decimal:
        """The exact total so far (zero for labels never seen)."""
        with self._lock:
            return self._totals.get(labels, Decimal(0))

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            totals = list(self._totals.items())
        for labels, total in totals:
            family.add_metric(labels, float(total))
        yield family


class BreakerCollector(Collector):
    """The daemons' circuit breakers, read at scrape time: their counts live in the breaker, and a
    breaker that holds ticks back produces no tick to observe."""

    FAMILIES = (("botkit_circuit_breaker_open", "gauge"), ("botkit_circuit_breaker_trips_total", "counter"),
                ("botkit_ticks_held_back_total", "counter"))

    def __init__(self, *, registry: CollectorRegistry) -> None:
        self._breakers: dict[str, CircuitBreaker] = {}
        registry.register(self)

    def watch(self, bot: str, breaker: CircuitBreaker) -> None:
        self._breakers[bot] = breaker

    def collect(self) -> Iterator[Metric]:
        is_open = GaugeMetricFamily(
            "botkit_circuit_breaker_open",
            "1 while the circuit breaker holds ticks back after repeated exchange failures, else 0.", labels=["bot"])
        trips = CounterMetricFamily("botkit_circuit_breaker_trips", "Times the circuit breaker opened.",
                                    labels=["bot"])
        held = CounterMetricFamily("botkit_ticks_held_back",
                                   "Scheduled ticks not attempted (no request sent) while the circuit breaker was "
                                   "open.", labels=["bot"])
        for bot, breaker in list(self._breakers.items()):
            is_open.add_metric([bot], 1 if breaker.is_open else 0)
            trips.add_metric([bot], breaker.trips)
            held.add_metric([bot], breaker.skipped)
        yield from (is_open, trips, held)


def skip_reason(error: BaseException) -> str:
    """The ``reason`` label of a skipped tick (one of :data:`SKIP_REASONS`)."""
    if isinstance(error, MarketDataError):
        return "bad_data"
    if isinstance(error, VenueUnavailable):
        return "venue_unavailable"
    if isinstance(error, VenueError):
        return "venue_error"
    return "exception"


# ---------------------------------------------------------------------- serving


class MetricsServer:
    """The ``/metrics`` HTTP server: the library's WSGI app on :class:`~botkit.core.http_server.HttpServer`,
    whose limits keep idle or dribbling scrapers from costing a thread each (the library's own
    server starts one per connection)."""

    def __init__(self, metrics: Metrics, server: HttpServer) -> None:
        self.metrics = metrics
        self.http = server
        self.host: str = server.host
        self.port: int = server.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def attach(self, bot: Bot, breaker: CircuitBreaker | None = None) -> BotMetrics:
        """Observe a built bot: its client's calls and its daemon's breaker now, its ticks through
        the returned observer (pass it to the :class:`~botkit.daemon.scheduler.Daemon`)."""
        observer = self.metrics.for_bot(bot.engine, bot.journal)
        bot.watch_calls(observer.exchange_call)
        if breaker is not None:
            observer.watch_breaker(breaker)
        return observer

    def close(self) -> None:
        self.http.stop()


METRICS_LIMITS = ConnectionLimits(max_connections=256, idle_timeout=10.0, request_deadline=5.0, max_body_bytes=1024)
"""A scraper asks every few seconds on one connection: hundreds at once are an attack, and one idle
for 10 s will reconnect."""


def serve(host: str, port: int, metrics: Metrics | None = None, *, source: str = "metrics.port") -> MetricsServer:
    """Serve ``metrics`` (new ones by default) at ``http://host:port/metrics``; port 0 = any free one.
    ``source`` is where the port came from (the config key or the command-line option), for errors.

    For the process that owns the metrics, such as ``botkit run``: it also turns off the
    library's ``*_created`` series process-wide, which would add one constant series per
    counter and histogram for nothing an alert or a dashboard here needs.
    """
    if not 0 <= port <= 65535:
        raise ConfigError(source, f"{port} is not a TCP port", "use 1-65535, or 0 for any free one")
    disable_created_metrics()  # type: ignore[no-untyped-call]
    metrics = metrics if metrics is not None else Metrics()
    try:
        server = HttpServer(make_wsgi_app(metrics.registry), host, port, threads=2, ident="botkit-metrics",
                            limits=METRICS_LIMITS)
    except OSError as exc:
        raise ConfigError(source, f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}",
                          "choose another port, or 0 for any free one") from None
    server.start()
    served = MetricsServer(metrics, server)
    log.info("Prometheus metrics at %s", served.url)
    return served


__all__ = ["EXCHANGE_BUCKETS", "SKIP_REASONS", "TICK_BUCKETS", "BotMetrics", "BreakerCollector", "ExactCounter",
           "JournalTail", "Metrics", "MetricsServer", "serve", "skip_reason"]
