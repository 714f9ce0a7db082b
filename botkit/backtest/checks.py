"""Checks of one strategy on a data file: does it survive restarts, does it look ahead, is it
deterministic? Each replays the data through the engine and the simulated venue (as a backtest
does) and compares the strategy's decisions, tick by tick, with those of one uninterrupted run.

A decision is what the strategy made the engine send at a tick: each order placed (side,
quantity, price) and each cancel (the order's id), in order. The simulated venue numbers its
orders in sequence, so the same history gives the same ids.

- **restarts**: the strategy is stopped and started again before seeded random ticks, as the
  daemon would be: ``botkit_on_stop``, then a fresh engine and a fresh import of the strategy's
  module (its globals start over), the same journal (``ctx.state``, positions, open orders and
  the bars of ``ctx.history`` carry over) and the same exchange (orders stay open), then
  ``botkit_on_start``. A tick whose decisions differ from the uninterrupted run's is a finding:
  the strategy kept something outside ``ctx`` that a restart lost.
- **look-ahead**: the strategy runs on truncated copies of the data (cut at seeded random ticks);
  decisions before a cut must be those of the whole run, else the strategy saw data after it.
- **determinism**: the whole run again, from a fresh import: the same decisions at every tick.

Every run (the uninterrupted one included) leaves orders open at its stop, so that the only
difference a restart makes is the restart itself.
"""

from __future__ import annotations

import dataclasses
import random
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.backtest.settings import BacktestSettings
from botkit.config import Config
from botkit.core.errors import BotkitError
from botkit.core.jsonutil import decimal_text
from botkit.core.times import iso_ms
from botkit.data.files import file_instrument, open_snapshots
from botkit.engine.assembly import EnginePlan, plan_engine
from botkit.engine.tick import Engine
from botkit.journal import Journal
from botkit.model import Side, Snapshot
from botkit.strategy.plugins import StrategySpec, checked_plugin, discover, load_file, strategy_spec
from botkit.venues.simulated import SimulatedVenue

CHECKS = ("restarts", "look-ahead", "determinism")
MIN_SNAPSHOTS = 3
"""A restart or a cut needs a tick before it and one after."""

Decisions = list[tuple[str, ...]]
"""One entry per tick: what the strategy sent at it."""


class CheckInputError(BotkitError):
    """The data cannot be checked on (bad input: exit 2)."""


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    tick: int
    """The tick's number, from 0: the data file's snapshot number."""
    ts: int
    expected: tuple[str, ...]
    """The uninterrupted run's decisions at this tick."""
    got: tuple[str, ...]
    context: str
    """Under what the decisions differed (the restart or cut before the tick)."""

    def row(self) -> dict[str, Any]:
        return {"check": self.check, "tick": self.tick, "time": iso_ms(self.ts), "ts": self.ts,
                "context": self.context, "expected": "; ".join(self.expected) or "nothing",
                "got": "; ".join(self.got) or "nothing"}


@dataclass(frozen=True)
class CheckReport:
    strategy: str
    snapshots: int
    restarts: tuple[int, ...]
    """The ticks before which the strategy was restarted."""
    cuts: tuple[int, ...]
    """The truncated copies' lengths."""
    findings: list[Finding]

    def counts(self) -> dict[str, int]:
        return {check: sum(1 for f in self.findings if f.check == check) for check in CHECKS}


class _WatchedVenue(SimulatedVenue):
    """The simulated venue, writing down each order and cancel sent to it at the current tick."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decisions: Decisions = []
        self._now: list[str] = []

    def next_tick(self) -> None:
        self._now = []
        self.decisions.append(())

    def _note(self, text: str) -> None:
        if not self.decisions:
            return  # only strategies decide, and only at a tick: nothing is sent before the first
        self._now.append(text)
        self.decisions[-1] = tuple(self._now)

    def place_order(self, side: Side, quantity: Decimal, price: Decimal | None) -> str:
        order_id = super().place_order(side, quantity, price)
        shown = "market" if price is None else decimal_text(price)
        self._note(f"{side.value} {decimal_text(quantity)} @ {shown} ({order_id})")
        return order_id

    def cancel_order(self, order_id: str) -> None:
        self._note(f"cancel {order_id}")
        super().cancel_order(order_id)


class _Runner:
    """Builds and runs the strategy alone, each time from a fresh import of its module."""

    def __init__(self, config: Config, name: str, data: Path, strategy_paths: Sequence[Path]) -> None:
        self.config = config
        self.name = name
        self.strategy_paths = tuple(strategy_paths)
        self.instrument = file_instrument(data)
        self.money = BacktestSettings.options(config, data=data)

    def plan(self) -> EnginePlan:
        plan = plan_engine(self.config, extra_paths=self.strategy_paths, only=(self.name,), wall_clock=False,
                           specs=self._fresh_specs())
        # As the daemon: orders stay open at a stop, and the bars are journaled, so that a
        # restarted strategy has its history back (a backtest keeps them only in memory).
        plan.settings = dataclasses.replace(plan.settings, on_shutdown="leave", keep_bars=True)
        return plan

    def _fresh_specs(self) -> dict[str, StrategySpec]:
        """The strategies found, the checked one imported afresh even when an entry point (which
        Python imports once per process) provides it: a restart must lose its module's globals."""
        specs = discover([*self.config.strategy_paths, *self.strategy_paths])
        spec = specs.get(self.name)
        if spec is not None and spec.path is not None:
            module = load_file(spec.path)
            plugin = checked_plugin(module, str(spec.path))
            if plugin is not None:
                specs[self.name] = strategy_spec(self.name, plugin, module, spec.source, spec.path)
        return specs

    def run(self, snapshots: Sequence[Snapshot], restarts: Sequence[int] = ()) -> Decisions:
        """The decisions at each tick of ``snapshots``, restarting before each tick in ``restarts``."""
        venue = _WatchedVenue(self.money["initial"], self.money["maker_fee_bps"], self.money["taker_fee_bps"],
                              latency_ms=self.money["latency_ms"], name="backtest", instrument=self.instrument)
        with tempfile.TemporaryDirectory(prefix="botkit-check-") as scratch:
            journal = Journal(f"sqlite:///{Path(scratch) / 'journal.sqlite'}", bot_id="check", durable=False,
                              batched=True)
            try:
                engine = self._started(venue, journal, snapshots[0].ts)
                previous = snapshots[0]
                for index, snapshot in enumerate(snapshots):
                    if index in restarts:
                        engine.stop(previous.ts)
                        journal.flush()
                        engine = self._started(venue, journal, snapshot.ts)
                    venue.next_tick()
                    engine.tick(snapshot)
                    previous = snapshot
                engine.stop(previous.ts, status="finished")
            finally:
                journal.close()
        return venue.decisions

    def _started(self, venue: SimulatedVenue, journal: Journal, now: int) -> Engine:
        engine = self.plan().build(venue, journal)
        engine.start(now)
        return engine


def check_strategy(config: Config, name: str, data: Path, *, strategy_paths: Sequence[Path] = (), seed: int = 0,
                   restarts: int = 3) -> CheckReport:
    """Run the three checks of strategy ``name`` on ``data``; ``restarts`` restarts and as many cuts,
    at ticks drawn with ``seed``."""
    snapshots = list(open_snapshots(data))
    if len(snapshots) < MIN_SNAPSHOTS:
        raise CheckInputError(f"{data}: {len(snapshots)} readable snapshot(s); the checks need at least "
                              f"{MIN_SNAPSHOTS} (a tick before each restart or cut and one after)")
    runner = _Runner(config, name, data, strategy_paths)
    draw = random.Random(seed)
    count = min(restarts, len(snapshots) - 1)
    restart_points = tuple(sorted(draw.sample(range(1, len(snapshots)), count)))
    cuts = tuple(sorted(draw.sample(range(1, len(snapshots)), count)))
    reference = runner.run(snapshots)
    findings: list[Finding] = []
    interrupted = runner.run(snapshots, restart_points)
    for tick in range(len(snapshots)):
        before = [point for point in restart_points if point <= tick]
        context = f"restarted before tick {before[-1]}" if before else "before any restart"
        _differ(findings, "restarts", snapshots, reference, interrupted, tick, context)
    for cut in cuts:
        truncated = runner.run(snapshots[:cut])
        for tick in range(cut):
            _differ(findings, "look-ahead", snapshots, reference, truncated, tick, f"data cut after tick {cut - 1}")
    again = runner.run(snapshots)
    for tick in range(len(snapshots)):
        _differ(findings, "determinism", snapshots, reference, again, tick, "second run")
    return CheckReport(name, len(snapshots), restart_points, cuts, findings)


def _differ(findings: list[Finding], check: str, snapshots: Sequence[Snapshot], reference: Decisions,
            other: Decisions, tick: int, context: str) -> None:
    if reference[tick] != other[tick]:
        findings.append(Finding(check, tick, snapshots[tick].ts, reference[tick], other[tick], context))
