"""What a strategy remembers of the market: the last closed bars of each timeframe and the last
snapshots, in bounded memory.

Each timeframe keeps its bars in a ring of fixed size, written twice (at ``i`` and
``i + capacity``), so the last ``n`` bars are always one contiguous slice: ``ctx.history(tf, n)``
hands out views of that slice (bars, and numpy columns of floats for indicators) without copying
anything, and a DataFrame only when asked. A view describes the history as of the call: once a
newer bar is added it refuses to be read (copy what you want to keep).
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar, overload

from botkit.model import Snapshot
from botkit.strategy.bars import DEFAULT_KEEP, Bar, BarBuilder, timeframe_ms

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import pandas as pd

    FloatArray = npt.NDArray[np.float64]
    IntArray = npt.NDArray[np.int64]

COLUMNS = ("open", "high", "low", "close", "volume", "quote_volume", "vwap", "trades", "mid", "microprice",
           "spread", "imbalance")
"""The float columns of a history (missing values are NaN)."""
DEFAULT_SNAPSHOTS = 100
"""Snapshots kept for ``ctx.snapshots(n)`` when a strategy does not declare ``SNAPSHOTS``."""
MAX_HISTORY = 1_000_000
"""The most bars one timeframe may keep."""
_NAN = float("nan")


def _float(value: Decimal | float | None) -> float:
    return _NAN if value is None else float(value)


ArrayT = TypeVar("ArrayT", bound="np.ndarray[Any, Any]")


def _read_only(view: ArrayT) -> ArrayT:
    """A view a strategy cannot write through into the ring."""
    view.flags.writeable = False
    return view


class BarSeries:
    """One timeframe's ring of closed bars, with its columns."""

    def __init__(self, timeframe: str, capacity: int) -> None:
        self.timeframe = timeframe
        self.capacity = capacity
        self.count = 0
        """Bars ever appended: a view compares it to know it is current."""
        import numpy as np  # here, not at the top: ``import botkit`` (every strategy's) need not load numpy

        self._bars: list[Bar | None] = [None] * (2 * capacity)
        self._columns: FloatArray = np.full((len(COLUMNS), 2 * capacity), np.nan)
        self._starts: IntArray = np.zeros(2 * capacity, dtype=np.int64)
        self._flags = np.zeros((2, 2 * capacity), dtype=np.bool_)

    def __len__(self) -> int:
        return min(self.count, self.capacity)

    @property
    def last(self) -> Bar | None:
        return self._bars[(self.count - 1) % self.capacity] if self.count else None

    def append(self, bar: Bar) -> None:
        low = self.count % self.capacity
        high = low + self.capacity
        self._bars[low] = self._bars[high] = bar
        self._starts[low] = self._starts[high] = bar.start
        self._flags[0, low] = self._flags[0, high] = bar.missing
        self._flags[1, low] = self._flags[1, high] = bar.from_mid
        row = (_float(bar.open), _float(bar.high), _float(bar.low), _float(bar.close), float(bar.volume),
               float(bar.quote_volume), _float(bar.vwap), float(bar.trades), _float(bar.mid),
               _float(bar.microprice), _float(bar.spread), _float(bar.imbalance))
        self._columns[:, low] = row
        self._columns[:, high] = row
        self.count += 1

    def view(self, n: int) -> BarHistory:
        n = min(n, len(self))
        stop = (self.count - 1) % self.capacity + self.capacity + 1 if self.count else 0
        return BarHistory(self, stop - n, stop)


class BarHistory(Sequence[Bar]):
    """The last n closed bars of one timeframe, oldest first: a sequence of :class:`Bar` with
    numpy columns (``closes``... as floats, NaN where a bar is missing) and :meth:`to_pandas`."""

    __slots__ = ("_count", "_series", "_start", "_stop")

    def __init__(self, series: BarSeries, start: int, stop: int) -> None:
        self._series = series
        self._start = start
        self._stop = stop
        self._count = series.count

    def _check(self) -> BarSeries:
        if self._series.count != self._count:
            raise RuntimeError(f"this history of {self._series.timeframe} bars is out of date (a newer bar was "
                               "added since); call ctx.history() again, or copy what you keep")
        return self._series

    def __len__(self) -> int:
        return self._stop - self._start

    @overload
    def __getitem__(self, index: int) -> Bar: ...
    @overload
    def __getitem__(self, index: slice) -> list[Bar]: ...
    def __getitem__(self, index: int | slice) -> Bar | list[Bar]:
        bars = self._check()._bars[self._start:self._stop]
        found = bars[index]
        if isinstance(index, slice):
            return [bar for bar in found if bar is not None]  # type: ignore[union-attr]
        assert found is not None
        return found  # type: ignore[return-value]

    def __iter__(self) -> Iterator[Bar]:
        bars = self._check()._bars
        for i in range(self._start, self._stop):
            bar = bars[i]
            assert bar is not None
            yield bar

    def __repr__(self) -> str:
        return f"<BarHistory {self._series.timeframe} × {len(self)}>"

    def column(self, name: str) -> FloatArray:
        """One float column (see :data:`COLUMNS`) as a read-only numpy view: no copy."""
        try:
            row = COLUMNS.index(name)
        except ValueError:
            raise KeyError(f"no column {name!r}: the columns are {', '.join(COLUMNS)}") from None
        return _read_only(self._check()._columns[row, self._start:self._stop])

    @property
    def opens(self) -> FloatArray:
        return self.column("open")

    @property
    def highs(self) -> FloatArray:
        return self.column("high")

    @property
    def lows(self) -> FloatArray:
        return self.column("low")

    @property
    def closes(self) -> FloatArray:
        return self.column("close")

    @property
    def volumes(self) -> FloatArray:
        return self.column("volume")

    @property
    def starts(self) -> IntArray:
        """Each bar's start, epoch ms."""
        return _read_only(self._check()._starts[self._start:self._stop])

    @property
    def missing(self) -> npt.NDArray[np.bool_]:
        return _read_only(self._check()._flags[0, self._start:self._stop])

    def to_pandas(self) -> pd.DataFrame:
        """A DataFrame of the float columns and the flags, indexed by each bar's start (UTC);
        built (copied) only now. Needs pandas (``pip install botkit[pandas]``)."""
        try:
            import pandas as pd
        except ImportError:
            raise RuntimeError("BarHistory.to_pandas() needs pandas: pip install 'botkit[pandas]'") from None
        series = self._check()
        columns: dict[str, Any] = {name: series._columns[i, self._start:self._stop].copy()
                                   for i, name in enumerate(COLUMNS)}
        columns["missing"] = series._flags[0, self._start:self._stop].copy()
        columns["from_mid"] = series._flags[1, self._start:self._stop].copy()
        index = pd.to_datetime(series._starts[self._start:self._stop].copy(), unit="ms", utc=True)
        return pd.DataFrame(columns, index=pd.Index(index, name="start"))


class MarketHistory:
    """The engine's one store of bars and snapshots for all its strategies: a bar builder for the
    union of their timeframes, each kept as long as the longest lookback declared for it."""

    def __init__(self, keep: Mapping[str, int], snapshots: int = DEFAULT_SNAPSHOTS) -> None:
        self.keep = dict(keep)
        self.builder = BarBuilder(self.keep, self.keep)
        self.series = {timeframe: BarSeries(timeframe, bound) for timeframe, bound in self.keep.items()}
        self._snapshots: deque[Snapshot] = deque(maxlen=max(snapshots, 1))
        self.remember: Callable[[Snapshot], None] = self._snapshots.append
        """Take a snapshot into the history without building bars (there are none to build)."""

    def update(self, snapshot: Snapshot) -> list[Bar]:
        """Take this tick's snapshot; the bars it closed, in time order (already in the history)."""
        self._snapshots.append(snapshot)
        closed = self.builder.update(snapshot) if self.series else []
        for bar in closed:
            self.series[bar.timeframe].append(bar)
        return closed

    def restore(self, bars: Iterable[Bar]) -> int:
        """Put back bars kept from an earlier run (or a warm-up), oldest first; the builder goes on
        from the last one of each timeframe. Bars of timeframes not declared are skipped; the count
        restored is returned. Out of order or overlapping bars are a ValueError."""
        restored = 0
        for bar in bars:
            series = self.series.get(bar.timeframe)
            if series is None:
                continue
            last = series.last
            if last is not None and bar.start < last.end:
                raise ValueError(f"{bar.timeframe} bar at {bar.start} is not after the one ending at {last.end}")
            series.append(bar)
            restored += 1
        for timeframe, series in self.series.items():
            if series.last is not None:
                self.builder.resume(timeframe, series.last.end)
        return restored

    def history(self, timeframe: str, n: int) -> BarHistory:
        return self.series[timeframe].view(n)

    def snapshots(self, n: int) -> tuple[Snapshot, ...]:
        kept = self._snapshots
        if n >= len(kept):
            return tuple(kept)
        return tuple(kept[i] for i in range(len(kept) - n, len(kept)))


class StrategyMarket:
    """One strategy's window on the :class:`MarketHistory`: only the timeframes it declared, at
    most the lookback it declared (so a strategy cannot come to rely on another's)."""

    def __init__(self, strategy: str, market: MarketHistory, bounds: Mapping[str, int], snapshots: int) -> None:
        self.strategy = strategy
        self.market = market
        self.bounds = dict(bounds)
        self.snapshot_bound = snapshots

    @classmethod
    def empty(cls) -> StrategyMarket:
        """A strategy's window before the engine attaches one: nothing declared, nothing kept."""
        return cls("", MarketHistory({}, snapshots=0), {}, 0)

    @property
    def timeframes(self) -> tuple[str, ...]:
        return tuple(self.bounds)

    def history(self, timeframe: str, n: int | None = None) -> BarHistory:
        bound = self.bounds.get(timeframe)
        if bound is None:
            declared = ", ".join(repr(t) for t in self.bounds) or "none"
            raise KeyError(f"strategy {self.strategy} did not declare timeframe {timeframe!r} "
                           f"(TIMEFRAMES: {declared}); add it to TIMEFRAMES")
        if n is None:
            n = bound
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"ctx.history({timeframe!r}, n): n must be a whole number >= 0, got {n!r}")
        if n > bound:
            raise ValueError(f"strategy {self.strategy} asked for {n} {timeframe} bars but keeps {bound} "
                             f"(HISTORY); raise HISTORY to at least {n}")
        return self.market.history(timeframe, n)

    def snapshots(self, n: int) -> tuple[Snapshot, ...]:
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"ctx.snapshots(n): n must be a whole number >= 0, got {n!r}")
        if n > self.snapshot_bound:
            raise ValueError(f"strategy {self.strategy} asked for {n} snapshots but keeps {self.snapshot_bound} "
                             f"(SNAPSHOTS); raise SNAPSHOTS to at least {n}")
        return self.market.snapshots(n)


@dataclass(frozen=True, slots=True)
class Declarations:
    """What a strategy declared it remembers: bars kept per timeframe, and snapshots kept."""

    bounds: Mapping[str, int]
    snapshots: int = DEFAULT_SNAPSHOTS


def declarations(strategy: str, plugin: object) -> Declarations:
    """Read ``TIMEFRAMES``, ``HISTORY`` and ``SNAPSHOTS`` from a strategy's class or, failing
    that, its module; ValueError with one line naming the strategy, the key and the fix."""
    module = sys.modules.get(getattr(type(plugin), "__module__", ""), None) if not isinstance(plugin, ModuleType) \
        else plugin

    def read(key: str) -> object:
        value = getattr(plugin, key, None)
        return getattr(module, key, None) if value is None and module is not None else value

    snapshots = read("SNAPSHOTS")
    if snapshots is None:
        snapshots = DEFAULT_SNAPSHOTS
    if not isinstance(snapshots, int) or isinstance(snapshots, bool) or not 0 <= snapshots <= MAX_HISTORY:
        raise ValueError(f"strategy {strategy}: SNAPSHOTS must be a whole number from 0 to {MAX_HISTORY}, "
                         f"got {snapshots!r}")
    return Declarations(declared_bounds(strategy, read("TIMEFRAMES"), read("HISTORY")), snapshots)


def declared_bounds(strategy: str, timeframes: object, history: object) -> dict[str, int]:
    """A strategy's ``TIMEFRAMES`` and ``HISTORY`` read into timeframe → bars kept; ValueError
    with one line naming the strategy, the key and the fix."""
    if timeframes is None or timeframes == ():
        return {}
    if isinstance(timeframes, str) or not isinstance(timeframes, tuple | list):
        raise ValueError(f"strategy {strategy}: TIMEFRAMES must be a tuple of timeframes like (\"1m\", \"15m\"), "
                         f"got {timeframes!r}")
    bounds: dict[str, int] = {}
    for timeframe in timeframes:
        try:
            timeframe_ms(timeframe)
        except ValueError as exc:
            raise ValueError(f"strategy {strategy}: TIMEFRAMES: {exc}") from None
        if isinstance(history, Mapping):
            bound = history.get(timeframe, DEFAULT_KEEP)
        else:
            bound = DEFAULT_KEEP if history is None else history
        if not isinstance(bound, int) or isinstance(bound, bool) or not 1 <= bound <= MAX_HISTORY:
            raise ValueError(f"strategy {strategy}: HISTORY for {timeframe} must be a whole number of bars from 1 "
                             f"to {MAX_HISTORY}, got {bound!r}")
        bounds[timeframe] = bound
    if isinstance(history, Mapping):
        extra = [key for key in history if key not in bounds]
        if extra:
            raise ValueError(f"strategy {strategy}: HISTORY names {', '.join(map(repr, extra))}, not in TIMEFRAMES; "
                             "declare it there or remove it")
    return bounds
