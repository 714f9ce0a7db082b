"""Runs one strategy's hooks in isolation: its exceptions, junk and overruns stay its own.

The intents a strategy returns are drawn, collected and checked (:mod:`botkit.strategy.validation`)
inside that same isolated call, so whatever it returned, judging it cannot fail outside it.
A failing call is logged with the strategy's name and counts towards a pause: after
``max_failures`` consecutive failures the strategy is paused for the rest of the run (its open
orders stay under the engine's care). With a time limit, each call runs in a worker thread; a call
that overruns has its result dropped, and the strategy is skipped until that call returns, so a
stuck strategy costs one thread, never the daemon.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from types import GeneratorType
from typing import Any

import pluggy

from botkit.core.errors import DataFileError
from botkit.model import Snapshot
from botkit.strategy import hookspecs
from botkit.strategy.bars import Bar
from botkit.strategy.context import StrategyContext
from botkit.strategy.health import StrategyHealth
from botkit.strategy.validation import Checked, JunkResult, vet

log = logging.getLogger("botkit.engine")

MAX_DRAWN = 100_000
"""Most items drawn from a strategy's returned iterator (the engine's own limit is far lower)."""
MAX_MESSAGE = 300
"""Longest exception text kept in ``last_error`` and the failure line (the traceback has it all)."""
HOOKS = tuple(name for name in vars(hookspecs) if name.startswith("botkit_on_"))
"""The hooks a strategy implements, as hookspecs.py declares them (``botkit_check_intent`` is a
risk check's, called by the engine's risk step, not the strategy's host)."""


class StrategyFailure(Exception):
    """Raised by :meth:`StrategyHost.call` when the call failed (already logged and counted)."""


class StrategyHost:
    """One configured strategy: its plugin's hook functions, its context and its health."""

    def __init__(self, name: str, pm: pluggy.PluginManager, plugin: object, ctx: StrategyContext, *,
                 timeout: float | None, max_failures: int) -> None:
        self.name = name
        self.plugin = plugin
        self.ctx = ctx
        self.timeout = timeout
        self.max_failures = max_failures
        self.failures = 0
        self._clean = False
        self.health_changes = 0
        """Counts the events that may change :attr:`health_key` (a failure, a pause or resume, a
        clean call ending a streak), so the engine compares the key only after one."""
        """The last call returned and the engine found no fault with its result."""
        self.total_failures = 0
        self.paused = False
        self.pause_reason: str | None = None
        self.last_error: str | None = None
        self._busy: Future[Any] | None = None
        self._calls: dict[str, Callable[..., Any]] = {}
        """Each implemented hook as a function of the hookspec's arguments, in the spec's order."""
        self._argnames: dict[str, tuple[str, ...]] = {}
        for hook_name in HOOKS:
            caller = getattr(pm.hook, hook_name)
            spec_names = tuple(caller.spec.argnames)
            self._argnames[hook_name] = spec_names
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin:
                    self._calls[hook_name] = _bind(impl.function, tuple(impl.argnames), spec_names)
        self._on_snapshot = self._calls.get("botkit_on_snapshot")
        self._on_bar = self._calls.get("botkit_on_bar")

    def implements(self, hook_name: str) -> bool:
        return hook_name in self._calls

    @property
    def active(self) -> bool:
        return not self.paused and (self._busy is None or self._busy.done())

    @property
    def consecutive_failures(self) -> int:
        """The current failure streak (0 once a call went well; the counter itself is reset lazily,
        at the next call)."""
        return 0 if self._clean else self.failures

    @property
    def health_key(self) -> tuple[bool, int, str | None]:
        """What :meth:`health` says, as a tuple cheap enough to compare at every tick."""
        return self.paused, self.consecutive_failures, self.last_error

    def health(self) -> StrategyHealth:
        """Active or paused, and why: what the journal keeps for ``botkit status``."""
        return StrategyHealth(self.name, "paused" if self.paused else "active", self.pause_reason,
                              self.consecutive_failures, self.last_error)

    def ask(self, snapshot: Snapshot, limit: int) -> list[Checked]:
        """The strategy's intents for this snapshot, each with what is wrong with it (None: well
        formed). They are drawn, collected and checked inside the isolated (and timed) call, so
        whatever the strategy returned, its cost and any exception in judging it are its own; a
        result that is not intents at all is a failure (StrategyFailure)."""
        if self._on_snapshot is None:
            return []
        checked: list[Checked] = self._run("botkit_on_snapshot", self._on_snapshot, (snapshot, self.ctx), limit)
        return checked

    def ask_bar(self, bar: Bar, limit: int) -> list[Checked]:
        """The strategy's intents on a closed bar, drawn and checked in isolation as :meth:`ask`'s."""
        if self._on_bar is None:
            return []
        checked: list[Checked] = self._run("botkit_on_bar", self._on_bar, (bar, self.ctx), limit)
        return checked

    def call(self, hook_name: str, **kwargs: Any) -> Any:
        """Call the strategy's implementation of a hook with the hookspec's arguments, isolated;
        None when it has none."""
        function = self._calls.get(hook_name)
        if function is None:
            return None
        return self._run(hook_name, function, tuple(kwargs[name] for name in self._argnames[hook_name]), None)

    def _run(self, hook_name: str, function: Callable[..., Any], args: tuple[Any, ...], limit: int | None) -> Any:
        """One isolated call. With ``limit``, its result is vetted as intents inside the isolation:
        what vetting raises is the strategy's failure too (a :class:`JunkResult` is logged by its
        own words). Called on every tick of every strategy, so it builds nothing it can avoid: the
        arguments are a tuple in the spec's order, a None result is no intents."""
        if self.paused:
            return [] if limit is not None else None
        if self._busy is not None:
            if not self._busy.done():
                raise self._fail(hook_name, "still running its previous call; skipped")
            self._busy = None
        if self._clean:
            self.failures = 0  # the previous call went well all through: the streak is over
        self._clean = False
        try:
            if self.timeout is not None:
                result = self._call_with_timeout(function, args, hook_name, limit)
            else:
                result = function(*args)
                if result is not None:
                    result = _drawn(result)
                    if limit is not None:
                        empty = type(result) in _SEQUENCES and not result  # a falsy 0 or "" is still junk
                        result = [] if empty else vet(result, limit, self.ctx.instrument)
            if limit is not None and result is None:
                result = []
        except (StrategyFailure, DataFileError):
            raise  # a snapshot line found unreadable as it was built: the data's fault, not the strategy's
        except JunkResult as exc:
            raise self._fail(hook_name, str(exc)) from None
        except (Exception, SystemExit) as exc:  # sys.exit() in a strategy must not stop the daemon
            raise self._fail(hook_name, f"raised {_exception_text(exc)}", exc_info=exc) from None
        self._clean = True  # unless the engine finds fault with the result (fail())
        if self.failures:
            self.health_changes += 1  # the streak is over
        return result

    def _call_with_timeout(self, function: Callable[..., Any], args: tuple[Any, ...], hook_name: str,
                           limit: int | None) -> Any:
        """The call in a worker thread, its intents vetted there too (a strategy returning a
        generator does its work as it is drawn: its time is the strategy's)."""
        future: Future[Any] = Future()

        def run() -> None:
            try:
                result = function(*args)
                if result is not None:
                    result = _drawn(result)
                    if limit is not None:
                        result = vet(result, limit, self.ctx.instrument)
                future.set_result(result)
            except BaseException as exc:  # delivered to the engine thread below
                future.set_exception(exc)

        worker = threading.Thread(target=run, name=f"strategy-{self.name}", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if not future.done():
            self._busy = future
            raise self._fail(hook_name, f"overran its time limit of {self.timeout}s; its intents are dropped")
        return future.result()

    def pause(self, reason: str) -> None:
        """Pause it by an operator's decision (not a failure): no hook is called until :meth:`resume`."""
        self.paused = True
        self.pause_reason = reason
        self.health_changes += 1
        log.warning("strategy %s %s", self.name, reason)

    def resume(self) -> None:
        """Call it again, with a clean failure streak (an operator has looked at why it stopped)."""
        self.paused = False
        self.pause_reason = None
        self.failures = 0
        self._clean = False
        self.health_changes += 1
        log.warning("strategy %s resumed", self.name)

    def fail(self, hook_name: str, reason: str) -> StrategyFailure:
        """Count a failure found by the engine (junk results) and return the exception to raise."""
        return self._fail(hook_name, reason)

    def _fail(self, hook_name: str, reason: str, exc_info: BaseException | None = None) -> StrategyFailure:
        self._clean = False
        self.failures += 1
        self.total_failures += 1
        self.health_changes += 1
        self.last_error = f"{hook_name}: {reason}"
        log.error("strategy %s %s in %s (failure %d of %d)", self.name, reason, hook_name, self.failures,
                  self.max_failures, exc_info=exc_info)
        if self.failures >= self.max_failures and not self.paused:
            self.paused = True
            self.pause_reason = f"paused after {self.failures} consecutive failures"
            log.error("strategy %s %s", self.name, self.pause_reason)
        return StrategyFailure(reason)


def _exception_text(exc: BaseException) -> str:
    """``Type: message`` on one line, clipped; an exception whose ``str()`` itself raises is not
    the daemon's end."""
    try:
        message = " ".join(str(exc).split())
    except Exception:
        message = "(its message could not be read)"
    text = f"{type(exc).__name__}: {message}"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


def _bind(function: Callable[..., Any], argnames: tuple[str, ...],
          spec_names: tuple[str, ...]) -> Callable[..., Any]:
    """A function of the hookspec's arguments (positional, in the spec's order) that passes the
    implementation only those it declares (pluggy's convention), built once per strategy: the
    implementation itself when it declares them all, in order (no extra call on every tick)."""
    if argnames == spec_names:
        return function
    picks = tuple(spec_names.index(name) for name in argnames)

    def picked(*args: Any) -> Any:
        return function(*[args[i] for i in picks])

    return picked


_SEQUENCES = (list, tuple)
"""Result types whose empty value is no intents, known without vetting."""


def _drawn(result: Any) -> Any:
    """A returned iterator drawn into a list. A generator's body runs only as it is iterated, so
    it is drawn inside the isolated (and timed) call: its exceptions and its time are then the
    strategy's own. (A generator, the usual strategy, is known by its type: the ABC check costs
    more than drawing an empty one.)"""
    if type(result) is not GeneratorType and (type(result) in _SEQUENCES or not isinstance(result, Iterator)):
        return result
    drawn = list(itertools.islice(result, MAX_DRAWN + 1))
    if len(drawn) > MAX_DRAWN:
        raise ValueError(f"its iterator yielded more than {MAX_DRAWN} items")
    return drawn
