"""Fault injection for the reliability work, and the request counters that prove what was sent.

:class:`Faults` is a set of switches, all off by default, that a test (or ``POST /admin/faults``
or a CLI option) flips while the sandbox runs. Rates are drawn from a seeded RNG so a run
can be repeated; :meth:`Faults.queue` adds deterministic one-shot faults for exact tests.

What each fault does to a ``/v1`` call, in the order they are considered:

``reset``             the connection is reset (RST) before anything is done
``latency:<ms>``      the call is delayed, then handled normally
``rate_limited``      429 with ``X-Rate-Limit-Remaining: 0`` and a ``Reset`` in the near future
``error500/503``      500 or 503 before anything is done
``drop_before``       the connection is closed (FIN, no reply bytes) before anything is done
``accept_then_drop``  the call IS carried out (the order is created and matched, the cancel
                      done), then the connection is closed before any reply byte: the client
                      gets a connection error and cannot know the outcome
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

ERROR500 = "error500"
ERROR503 = "error503"
RATE_LIMITED = "rate_limited"
ACCEPT_THEN_DROP = "accept_then_drop"
DROP_BEFORE = "drop_before"
RESET = "reset"
LATENCY = "latency"
KINDS = (ERROR500, ERROR503, RATE_LIMITED, ACCEPT_THEN_DROP, DROP_BEFORE, RESET)
"""Queueable kinds; ``"latency:<ms>"`` is the one with an argument."""

DROP_ROUTES = frozenset({("POST", "/v1/orders"), ("DELETE", "/v1/orders/{id}")})
"""Where ``accept_then_drop_rate`` applies (a queued accept_then_drop can target any route)."""

RATES = ("error_rate", "latency_rate", "accept_then_drop_rate", "drop_before_rate", "reset_rate")
SETTINGS = (*RATES, "latency_ms", "rate_limit_burst", "rate_limit_reset_ms")
MAX_SETTING = 3_600_000
"""Largest integer setting (an hour of latency or reset, in ms): a bigger one is a typo, and
``time.sleep`` of a 400-digit number is a 500."""


@dataclass
class QueuedFault:
    kind: str
    method: str | None
    path: str | None
    count: int

    def matches(self, method: str, template: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path is None or self.path in (template, path)


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What to do to one request: ``before`` replaces handling, ``after`` follows it."""

    latency_ms: int = 0
    before: str | None = None
    after: str | None = None


NO_FAULT = FaultPlan()


class Faults:
    """The switches (see the module docstring). Thread-safe; change them at any time."""

    def __init__(
        self,
        error_rate: float = 0.0,
        latency_ms: int = 0,
        latency_rate: float = 1.0,
        rate_limit_burst: int = 0,
        accept_then_drop_rate: float = 0.0,
        drop_before_rate: float = 0.0,
        reset_rate: float = 0.0,
        rate_limit_reset_ms: int = 200,
        seed: int | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._queue: list[QueuedFault] = []
        self.seed = seed
        self._rng = random.Random(seed)
        self.error_rate = error_rate
        """Fraction of calls answered 500 or 503 (half each) before acting."""
        self.latency_ms = latency_ms
        self.latency_rate = latency_rate
        """Fraction of calls delayed by ``latency_ms`` (all of them by default)."""
        self.rate_limit_burst = rate_limit_burst
        """The next N calls get 429."""
        self.rate_limit_reset_ms = rate_limit_reset_ms
        """How far ahead an injected 429 puts ``X-Rate-Limit-Reset``."""
        self.accept_then_drop_rate = accept_then_drop_rate
        self.drop_before_rate = drop_before_rate
        self.reset_rate = reset_rate
        self.update()

    def reseed(self, seed: int) -> None:
        with self._lock:
            self.seed = seed
            self._rng = random.Random(seed)

    def update(self, **settings: Any) -> None:
        """Change several switches at once, validated (used by the admin endpoint and the CLI)."""
        unknown = set(settings) - set(SETTINGS)
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; known: {list(SETTINGS)}")
        merged = {name: getattr(self, name) for name in SETTINGS}
        merged.update(settings)
        for name in RATES:
            value = merged[name]
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"{name} must be a number between 0 and 1, not {value!r}")
            merged[name] = float(value)
        for name in ("latency_ms", "rate_limit_burst", "rate_limit_reset_ms"):
            value = merged[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SETTING:
                raise ValueError(f"{name} must be an integer from 0 to {MAX_SETTING}, not {value!r}")
        with self._lock:
            for name, value in merged.items():
                setattr(self, name, value)

    def queue(self, kind: str, method: str | None = None, path: str | None = None, count: int = 1) -> None:
        """Inject ``kind`` into the next ``count`` calls matching ``method`` and ``path`` (a route
        template such as ``/v1/orders/{id}`` or an exact path; None matches any)."""
        if kind not in KINDS and not _latency_of(kind):
            raise ValueError(f"unknown fault kind {kind!r}; known: {list(KINDS)} and 'latency:<ms>'")
        if count < 1:
            raise ValueError("count must be at least 1")
        with self._lock:
            self._queue.append(QueuedFault(kind, method.upper() if method else None, path, count))

    def clear(self) -> None:
        """Every switch off and the queue empty."""
        with self._lock:
            self._queue.clear()
        self.update(
            error_rate=0.0, latency_ms=0, latency_rate=1.0, rate_limit_burst=0,
            accept_then_drop_rate=0.0, drop_before_rate=0.0, reset_rate=0.0,
        )

    @property
    def pending(self) -> list[QueuedFault]:
        with self._lock:
            return [QueuedFault(q.kind, q.method, q.path, q.count) for q in self._queue]

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            data: dict[str, Any] = {name: getattr(self, name) for name in SETTINGS}
        for name in RATES:  # JSON here refuses floats (it is money JSON): write the shortest exact digits
            data[name] = Decimal(repr(data[name]))
        with self._lock:
            data["queue"] = [
                {"kind": q.kind, "method": q.method, "path": q.path, "count": q.count} for q in self._queue
            ]
        return data

    def plan(self, method: str, template: str, path: str) -> FaultPlan:
        """Decide the faults of one call (consumes queued faults, draws the rates)."""
        with self._lock:
            latency = 0
            before: str | None = None
            after: str | None = None
            for entry in list(self._queue):
                if not entry.matches(method, template, path):
                    continue
                entry_latency = _latency_of(entry.kind)
                if entry_latency:
                    if latency:
                        continue
                    latency = entry_latency
                elif before is None and after is None:
                    if entry.kind == ACCEPT_THEN_DROP:
                        after = entry.kind
                    else:
                        before = entry.kind
                else:
                    continue
                entry.count -= 1
                if entry.count <= 0:
                    self._queue.remove(entry)
            rng = self._rng
            if before is None and after is None:
                if self.reset_rate and rng.random() < self.reset_rate:
                    before = RESET
                elif self.rate_limit_burst > 0:
                    self.rate_limit_burst -= 1
                    before = RATE_LIMITED
                elif self.error_rate and rng.random() < self.error_rate:
                    before = ERROR500 if rng.random() < 0.5 else ERROR503
                elif self.drop_before_rate and rng.random() < self.drop_before_rate:
                    before = DROP_BEFORE
                elif (
                    self.accept_then_drop_rate
                    and (method, template) in DROP_ROUTES
                    and rng.random() < self.accept_then_drop_rate
                ):
                    after = ACCEPT_THEN_DROP
            if not latency and self.latency_ms and (self.latency_rate >= 1 or rng.random() < self.latency_rate):
                latency = self.latency_ms
            if not (latency or before or after):
                return NO_FAULT
            return FaultPlan(latency, before, after)


def _latency_of(kind: str) -> int:
    """The milliseconds of a ``latency:<ms>`` kind, 0 for any other kind."""
    if not kind.startswith(LATENCY + ":"):
        return 0
    text = kind.split(":", 1)[1]
    if not (text.isascii() and text.isdigit()) or len(text) > 7:
        return 0
    return min(int(text), MAX_SETTING)


class Stats:
    """Counters of requests seen per ``(method, route template)`` and of faults injected.

    Requests are counted when they arrive, before any fault, so a test can prove that a POST
    was sent exactly once whatever happened to it afterwards.
    """

    def __init__(self, store_status: Callable[[], dict[str, Any] | None] | None = None) -> None:
        self._lock = threading.Lock()
        self._store_status = store_status
        """The state file's save counters (shown as ``"store"``; not zeroed by :meth:`reset`)."""
        self.requests: Counter[tuple[str, str]] = Counter()
        self.faults: Counter[str] = Counter()
        """Injected faults per kind (latency counted as ``"latency"``)."""
        self.fault_routes: Counter[tuple[str, str, str]] = Counter()
        """Injected faults per ``(kind, method, template)``."""
        self.timeline: deque[tuple[float, str, str, str]] = deque(maxlen=20_000)
        """The last requests and faults in order: ``(epoch seconds, "request" or the fault kind,
        method, template)``; lets a test check *when* a client came back after a 429."""

    def record_request(self, method: str, template: str) -> None:
        with self._lock:
            self.requests[(method, template)] += 1
            self.timeline.append((time.time(), "request", method, template))

    def record_fault(self, kind: str, method: str, template: str) -> None:
        with self._lock:
            self.faults[kind] += 1
            self.fault_routes[(kind, method, template)] += 1
            self.timeline.append((time.time(), kind, method, template))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults.clear()
            self.fault_routes.clear()
            self.timeline.clear()

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": [
                    {"method": m, "path": p, "count": n} for (m, p), n in sorted(self.requests.items())
                ],
                "faults": dict(sorted(self.faults.items())),
                "faultRoutes": [
                    {"kind": k, "method": m, "path": p, "count": n}
                    for (k, m, p), n in sorted(self.fault_routes.items())
                ],
                "store": self._store_status() if self._store_status is not None else None,
            }
