"""Notifications through apprise (``[notify] urls``: Telegram, Discord, Slack, e-mail, webhooks,
``json://`` ... one URL scheme): the bot's start and stop, a restart after a crash, the kill
switch, the circuit breaker, a paused strategy, orders of unknown outcome or vanished, a crash,
each UTC day's summary and, when asked, fills.

Sending is a background thread's job: :meth:`Notifier.send` only queues, so a slow or failing
notifier (an SMTP server that takes a minute, a chat service that is down) is logged and never
delays a tick. Each kind of message is sent at most once per ``min_interval_seconds``; the ones
held back in between are counted, and the next message of that kind says how many there were.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from botkit.core.errors import ConfigError
from botkit.core.logs import Redactor
from botkit.core.output import money
from botkit.core.times import DAY_MS, iso_ms
from botkit.daemon.breaker import CircuitBreaker
from botkit.daemon.scheduler import TickObserver
from botkit.engine.state import EngineView, TickReport

log = logging.getLogger("botkit.notify")

QUEUE_SIZE = 100
"""Messages waiting at most; past it new ones are dropped (and counted in the log)."""
CLOSE_WAIT_S = 10.0
"""How long stopping waits for the last messages (the stop and a crash) to go out."""


@dataclass(frozen=True, slots=True)
class Message:
    kind: str
    title: str
    body: str
    level: str = "info"
    """apprise's notify type: info, success, warning or failure."""


class Notifier:
    """Sends messages to every URL from one background thread, rate-limited per kind."""

    def __init__(self, urls: Sequence[str], bot_id: str, *, min_interval: float = 60.0,
                 clock: Callable[[], float] = time.monotonic, deliver: Callable[[Message], bool] | None = None,
                 secrets: Sequence[str] = ()) -> None:
        """``secrets`` are redacted from every message (an error text may quote anything)."""
        self.bot_id = bot_id
        self._redact = Redactor(secrets)
        self.min_interval = min_interval
        self.clock = clock
        self.sent = 0
        self.failed = 0
        self._deliver = deliver or _apprise(urls)
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._queue: queue.Queue[Message | None] = queue.Queue(QUEUE_SIZE)
        self._thread = threading.Thread(target=self._run, name="botkit-notify", daemon=True)
        self._thread.start()

    def send(self, kind: str, title: str, body: str, level: str = "info") -> None:
        """Queue a message (never blocks); ``kind`` is what the rate limit counts by."""
        try:
            self._queue.put_nowait(Message(kind, self._redact(f"botkit {self.bot_id}: {title}"), self._redact(body),
                                           level))
        except queue.Full:
            log.warning("notification dropped, %d waiting already: %s", QUEUE_SIZE, title)

    def close(self, timeout: float = CLOSE_WAIT_S) -> None:
        """Send what is queued, waiting at most ``timeout`` seconds."""
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while (message := self._queue.get()) is not None:
            now = self.clock()
            last = self._last.get(message.kind)
            if last is not None and now - last < self.min_interval:
                self._held[message.kind] = self._held.get(message.kind, 0) + 1
                continue
            held = self._held.pop(message.kind, 0)
            if held:
                message = Message(message.kind, message.title,
                                  f"{message.body}\n({held} more like this held back by the rate limit)", message.level)
            self._last[message.kind] = now
            try:
                delivered = self._deliver(message)
            except Exception:
                log.exception("a notifier raised; the bot goes on")
                delivered = False
            if delivered:
                self.sent += 1
            else:
                self.failed += 1
                log.warning("notification not delivered to every URL: %s", message.title)


def _apprise(urls: Sequence[str]) -> Callable[[Message], bool]:
    try:
        import apprise
    except ModuleNotFoundError:
        raise ConfigError("notify.urls", "notifications need the notify extra (apprise is not installed)",
                          'pip install "botkit[notify]"') from None

    sender = apprise.Apprise()
    for index, url in enumerate(urls):
        if not sender.add(url):
            raise ConfigError(f"notify.urls[{index}]", "is not a URL apprise knows",
                              "see apprise's list of services, e.g. json://host:port or tgram://TOKEN/CHAT_ID")

    def deliver(message: Message) -> bool:
        return bool(sender.notify(body=message.body, title=message.title, notify_type=message.level))

    return deliver


class NotifyObserver:
    """The daemon's tick observer that notices what is worth a message: the kill switch tripping
    or resetting, a strategy paused or resumed, the circuit breaker opening, orders of unknown
    outcome or vanished, fills (when asked), and each UTC day's summary once the day is over. It
    compares the engine's view after each tick with the one before."""

    def __init__(self, notifier: Notifier, view: Callable[[], EngineView], breaker: CircuitBreaker | None, *,
                 fills: bool = False, daily_summary: bool = True) -> None:
        self.notifier = notifier
        self.view = view
        self.breaker = breaker
        self.fills = fills
        self.daily_summary = daily_summary
        self._trips = 0 if breaker is None else breaker.trips
        first = view()
        self._kill_switch = first.kill_switch
        self._paused = {s.name for s in first.strategies if s.paused}
        self._day: int | None = None
        self._day_ticks = 0
        self._day_fills = 0
        self._day_equity: tuple[Decimal | None, Decimal | None] = (None, None)
        """The day's first and last equity."""

    def tick_done(self, report: TickReport, seconds: float) -> None:
        self._count_day(report)
        if self.fills and report.fills:
            self.notifier.send("fills", f"{report.fills} fill(s)", f"position {money(report.position, 'BTC')} BTC, "
                                                                  f"equity {money(report.equity, 'USD')} USD")
        self._compare(report.errors)

    def tick_skipped(self, error: BaseException, seconds: float) -> None:
        self._compare([])

    def _count_day(self, report: TickReport) -> None:
        day = report.ts // DAY_MS
        if self._day is not None and day != self._day:
            if self.daily_summary:
                first, last = self._day_equity
                change = "" if first is None or last is None else f" ({money(last - first, 'USD')} USD)"
                self.notifier.send(
                    "daily", f"summary of {iso_ms(self._day * DAY_MS)[:10]}",
                    f"{self._day_ticks} ticks, {self._day_fills} fills, equity {money(first, 'USD')} -> "
                    f"{money(last, 'USD')} USD{change}")
            self._day_ticks = self._day_fills = 0
            self._day_equity = (None, None)
        self._day = day
        self._day_ticks += 1
        self._day_fills += report.fills
        if report.equity is not None:
            self._day_equity = (self._day_equity[0] or report.equity, report.equity)

    def _compare(self, errors: Sequence[str]) -> None:
        send = self.notifier.send
        view = self.view()
        if view.kill_switch != self._kill_switch:
            if view.kill_switch is None:
                send("kill_switch", "kill switch reset", "new orders are allowed again")
            else:
                send("kill_switch", "kill switch tripped", view.kill_switch, "failure")
            self._kill_switch = view.kill_switch
        paused = {s.name for s in view.strategies if s.paused}
        for name in sorted(paused - self._paused):
            send(f"paused:{name}", f"strategy {name} paused", "it places no order until resumed", "warning")
        for name in sorted(self._paused - paused):
            send(f"paused:{name}", f"strategy {name} resumed", "it trades again")
        self._paused = paused
        if self.breaker is not None and self.breaker.trips > self._trips:
            self._trips = self.breaker.trips
            send("breaker", "circuit breaker open", "the exchange failed repeatedly: ticks are held back", "warning")
        for error in errors:
            if "vanished" in error or "outcome unknown" in error:
                send("orders", "order trouble", error, "warning")


class Observers:
    """Several tick observers as one (the daemon takes one): each is told in turn; one that raises
    does not keep the others from being told."""

    def __init__(self, *observers: TickObserver | None) -> None:
        self.observers = [o for o in observers if o is not None]

    def tick_done(self, report: TickReport, seconds: float) -> None:
        self._tell("tick_done", report, seconds)

    def tick_skipped(self, error: BaseException, seconds: float) -> None:
        self._tell("tick_skipped", error, seconds)

    def _tell(self, method: str, *args: object) -> None:
        for observer in self.observers:
            try:
                getattr(observer, method)(*args)
            except Exception:
                log.exception("a tick observer failed; the daemon goes on")
