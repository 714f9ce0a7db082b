"""What the engine is told (settings) and what it tells (the tick's report, the read-only view
observers get), apart from the engine itself so its parts and its observers share them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from botkit.model import ZERO

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
    keep_bars: bool = True
    """Keep closed bars in the journal for the next run (off in backtests: each starts afresh)."""


@dataclass(slots=True)
class TickReport:
    """What one tick did, for the log line and the daemon's metrics."""

    ts: int
    mid: Decimal | None = None
    spread: Decimal | None = None
    position: Decimal = ZERO
    equity: Decimal | None = None
    start_equity: Decimal | None = None
    open_orders: int = 0
    placed: int = 0
    cancelled: int = 0
    rejected: int = 0
    fills: int = 0
    failures: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def equity_change(self) -> Decimal | None:
        """The account's value now minus at the run's start (USD, at the mid): the holdings' price
        change included. Not the trading PnL, which ``botkit journal pnl`` shows. Worked out when
        read (the log line), not at every tick of a backtest."""
        return equity_change(self.equity, self.start_equity)


def equity_change(equity: Decimal | None, start: Decimal | None) -> Decimal | None:
    """``equity`` minus ``start`` (None when either is unknown): a tick's and a run's change."""
    return None if equity is None or start is None else equity - start


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


def report_error(report: TickReport | None, message: str) -> None:
    log.warning("%s", message)
    if report is not None:
        report.errors.append(message)
