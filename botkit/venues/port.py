"""The exchange port: the one interface between the engine and a venue.

The engine never knows which venue it has. ``ButtercoinVenue`` (:mod:`botkit.venues.buttercoin`) talks to a
Buttercoin-compatible exchange over the signed client; ``SimulatedVenue``
(:mod:`botkit.venues.simulated`) fills orders against recorded or live snapshots for backtests and
paper trading. Each raises only :class:`~botkit.core.errors.VenueError` subclasses.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

from botkit.instrument import Instrument
from botkit.model import Balances, Order, Side, Snapshot


@runtime_checkable
class Venue(Protocol):
    """What the engine needs from an exchange."""

    name: str
    """``live``, ``sandbox`` (the embedded one), ``paper`` or ``backtest``: journaled with each run
    (``botkit status`` and the dashboard show it), never shown to strategies."""
    label: str
    """What people are told this venue is: "the embedded sandbox at URL", "the exchange at URL",
    "paper (simulated fills, ...)" (the run's first log line)."""
    instrument: Instrument
    """The market traded: its price and size grids, minimum size, currencies (Buttercoin's BTC_USD
    live; the data's in a backtest). The engine validates intents against it."""

    @property
    def order_revision(self) -> int | None:
        """A number that changes whenever any of the venue's orders changes (placed, filled,
        cancelled), or None when the venue cannot tell without asking (a remote exchange). While
        it stays the same the engine skips reading its open orders back: a simulated venue's
        quotes rest for many ticks, and reading them back each tick was a market maker's backtest's
        largest cost."""

    def observe(self, snapshot: Snapshot) -> None:
        """Learn the market state of this tick (a simulated venue fills resting orders here)."""

    def balances(self) -> Balances:
        """Total holdings of the account."""

    def place_order(self, side: Side, quantity: Decimal, price: Decimal | None) -> str:
        """Place a BTC_USD order (``price`` None: market); return the venue's order id.

        Raises OrderRejected when it certainly was not placed, OutcomeUnknown when it may have
        been, VenueUnavailable when it certainly was not sent.
        """

    def cancel_order(self, order_id: str) -> None:
        """Cancel an open order. OrderRejected when the venue says it is no longer open."""

    def order(self, order_id: str) -> Order:
        """One order with all its fills."""

    def orders(self, order_ids: Sequence[str]) -> Sequence[Order]:
        """The current state of these orders (the engine's per-tick sync of its open orders).

        Called every tick while orders are open, so a simulated venue should answer from memory
        without rebuilding unchanged ``Order`` values. Ids the venue does not know are left out.
        """

    def orders_since(self, since_ms: int) -> Sequence[Order]:
        """Every order of the account created at or after ``since_ms`` (any status), newest first."""

    def open_orders(self) -> Sequence[Order]:
        """Every open (opened or partial-filled) order of the account."""

    def close(self) -> None:
        """Release connections or threads."""
