"""What a strategy knows besides the snapshot: its parameters, position, orders, clock and state.

The engine keeps one :class:`StrategyContext` per strategy and refreshes it before each call, so a
strategy sees the same kind of values live, on paper and in a backtest, and cannot tell them apart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, KeysView, Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botkit.instrument import BUTTERCOIN, Instrument
from botkit.model import ZERO, Balances, Order, Snapshot
from botkit.strategy.history import BarHistory, StrategyMarket
from botkit.strategy.params import Params

MAX_STATE_KEY = 128
"""Longest key of ``ctx.state``: the journal's column width."""


class StrategyState(MutableMapping[str, Any]):
    """A small key-value store that survives restarts (kept in the journal).

    Values must be JSON-serializable (Decimal included). Changes are written to the journal at
    the end of the hook call that made them, not on every assignment.
    """

    def __init__(self, initial: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(initial or {})
        self._changed: dict[str, None] = {}
        self.changed: KeysView[str] = self._changed.keys()
        """The keys set or deleted since the last :meth:`take_changes`, a read-only live view: the
        engine tests it after every hook call (a view's truth is a C call, a property's a
        Python one)."""

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError("state keys are strings")
        if len(key) > MAX_STATE_KEY:
            # Refused here, in the strategy's own call: the journal's column would refuse it later,
            # outside the strategy's isolation (PostgreSQL enforces the width).
            raise ValueError(f"state keys are at most {MAX_STATE_KEY} characters, got {len(key)}")
        self._data[key] = value
        self._changed[key] = None

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._changed[key] = None

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"StrategyState({self._data!r})"

    def take_changes(self) -> dict[str, Any | None]:
        """The keys changed since the last call, with their values (None: deleted)."""
        changes = {key: self._data.get(key) for key in self._changed}
        self._changed.clear()
        return changes


_FIXED = frozenset({"name", "params", "state", "log", "instrument", "market"})


@dataclass(slots=True)
class StrategyContext:
    """The strategy's view of its account, refreshed by the engine before each hook call."""

    name: str
    params: Params
    """The validated parameters, read-only: ``ctx.params.size`` or ``ctx.params["size"]``."""
    state: StrategyState
    log: logging.Logger
    now: int = 0
    """Engine time in epoch milliseconds: wall time live, the snapshot's time in a backtest."""
    position: Decimal = ZERO
    """The strategy's net BTC from its own fills (buys minus sells) over the bot's journal."""
    balances: Balances = field(default_factory=Balances)
    """The account's total holdings (including funds reserved by open orders)."""
    open_orders: tuple[Order, ...] = ()
    """This strategy's own open orders, and those whose placement is not confirmed yet: these have
    ``is_placed`` False (and an ``order_id`` of botkit's, ``local-N``) and cannot be cancelled yet."""
    instrument: Instrument = BUTTERCOIN
    """The market traded: price and size increments, minimum size, base/quote, fees. An intent
    off its grid is refused; in a backtest it is the data file's."""
    market: StrategyMarket = field(default_factory=StrategyMarket.empty)
    """What :meth:`history` and :meth:`snapshots` read: the engine's one store, seen through this
    strategy's declarations (``TIMEFRAMES``, ``HISTORY``, ``SNAPSHOTS``)."""

    def history(self, timeframe: str, n: int | None = None) -> BarHistory:
        """The last ``n`` closed bars of a declared timeframe, oldest first (all it keeps when
        ``n`` is None): a sequence of :class:`Bar` with numpy columns and ``to_pandas()``."""
        return self.market.history(timeframe, n)

    def snapshots(self, n: int) -> tuple[Snapshot, ...]:
        """The last ``n`` snapshots, oldest first (this tick's last); fewer early in a run."""
        return self.market.snapshots(n)

    def __setattr__(self, key: str, value: Any) -> None:
        # The engine refreshes now/position/balances/open_orders before each call; these four it
        # keeps for the whole run, so a strategy replacing one would break the engine, not itself.
        if key in _FIXED and hasattr(self, key):
            raise AttributeError(f"ctx.{key} cannot be replaced")
        object.__setattr__(self, key, value)

    def refresh(self, now: int, position: Decimal, balances: Balances, open_orders: tuple[Order, ...]) -> None:
        """The engine's update before each hook call (one call, past the attribute guard: this
        runs for every strategy on every tick of a backtest)."""
        setter = object.__setattr__
        setter(self, "now", now)
        # The other three rarely change between ticks, and are immutable values: an identity test
        # costs less than a set (and a strategy that replaced one gets the engine's back).
        if position is not self.position:
            setter(self, "position", position)
        if balances is not self.balances:
            setter(self, "balances", balances)
        if open_orders is not self.open_orders:
            setter(self, "open_orders", open_orders)

    def trade(self, instrument: Instrument) -> None:
        """Set the market this strategy trades (the engine's, once, when it is built)."""
        object.__setattr__(self, "instrument", instrument)
    def attach(self, market: StrategyMarket) -> None:
        """The engine's hand-over of the history this strategy declared (once, before on_start)."""
        object.__setattr__(self, "market", market)

    @classmethod
    def create(cls, name: str, params: Mapping[str, Any], state: Mapping[str, Any] | None = None) -> StrategyContext:
        return cls(
            name=name,
            params=Params(params),
            state=StrategyState(state),
            log=logging.getLogger(f"botkit.strategy.{name}"),
        )
