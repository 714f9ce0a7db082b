"""A strategy's health: the host keeps it, the engine journals each change, ``botkit status``
shows it. It lives with the strategy API because it describes a strategy, not a table."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StrategyHealth:
    """One strategy's health as the journal keeps it for ``botkit status``."""

    strategy: str
    state: str
    """``active`` or ``paused``."""
    reason: str | None
    """Why it is paused; None while active."""
    failures: int
    """Consecutive failures (the streak that pauses it)."""
    last_error: str | None
