"""The tick's bar step: one store of bars and snapshots for all strategies, kept in the journal.

Built once per engine from what each strategy declared (``TIMEFRAMES``, ``HISTORY``,
``SNAPSHOTS``): a timeframe is built once, however many strategies want it, and kept as long as
the longest lookback declared for it. At start the bars kept from earlier runs are put back, so a
restarted bot has its history before its first decision; each tick the bars it closed are
journaled before any strategy sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from botkit.core.errors import BotkitError, ConfigError
from botkit.data.files import open_snapshots
from botkit.journal import Journal
from botkit.model import Snapshot
from botkit.strategy.bars import Bar
from botkit.strategy.history import MarketHistory, StrategyMarket, declarations
from botkit.strategy.host import StrategyHost


class BarFeed:
    """The engine's bars: built from each snapshot, journaled, handed to the strategies that
    declared their timeframe."""

    def __init__(self, hosts: Sequence[StrategyHost], journal: Journal, *, keep_in_journal: bool = True) -> None:
        self.journal = journal
        self.keep_in_journal = keep_in_journal
        self.warmup: Iterable[Snapshot] | None = None
        """A recording fed through the bars at start, after the journal's (``botkit run --warmup``)."""
        declared = {host.name: declarations(host.name, host.plugin) for host in hosts}
        keep: dict[str, int] = {}
        for found in declared.values():
            for timeframe, bound in found.bounds.items():
                keep[timeframe] = max(keep.get(timeframe, 0), bound)
        snapshots = max((found.snapshots for found in declared.values()), default=0)
        self.market = MarketHistory(keep, snapshots)
        self.wanted = {name: frozenset(found.bounds) for name, found in declared.items()}
        for host in hosts:
            found = declared[host.name]
            host.ctx.attach(StrategyMarket(host.name, self.market, found.bounds, found.snapshots))

    @property
    def active(self) -> bool:
        return bool(self.market.keep)

    def restore(self) -> int:
        """Put back the bars the journal kept (a restart), then build on them from the warm-up
        recording if one was given; how many bars the history holds then."""
        if not self.active:
            return 0
        if self.keep_in_journal:
            self.market.restore(self.journal.load_bars(self.market.keep))
        if self.warmup is not None:
            for snapshot in self.warmup:
                self.update(snapshot)
            self.warmup = None
        return sum(len(series) for series in self.market.series.values())

    def warm_up(self, first: Snapshot, rest: Iterator[Snapshot], bars: int) -> Snapshot | None:
        """Build bars from the first snapshots, asking no strategy, until each declared timeframe
        has ``bars`` closed bars (a backtest's ``--warmup N``); the first snapshot not used, or None
        when the data ran out first. ``rest`` is drawn with next(), never closed: the caller goes on
        with it."""
        snapshot: Snapshot | None = first
        while snapshot is not None:
            if all(len(series) >= bars for series in self.market.series.values()):
                return snapshot
            self.update(snapshot)
            snapshot = next(rest, None)
        return None

    def update(self, snapshot: Snapshot) -> list[Bar]:
        """This tick's closed bars, journaled (when kept there) before anyone sees them."""
        closed = self.market.update(snapshot)
        if closed and self.keep_in_journal:
            self.journal.save_bars(closed, self.market.keep)
        return closed

    def updater(self) -> Callable[[Snapshot], list[Bar] | None]:
        """What the tick calls with each snapshot: :meth:`update`, or, when no strategy declared a
        timeframe, the snapshot history's own append (nothing can close, and a backtest makes a
        million of these calls: one C call instead of three Python ones)."""
        return self.update if self.active else self.market.remember

    def for_strategy(self, name: str, closed: list[Bar]) -> list[Bar]:
        wanted = self.wanted.get(name)
        return [bar for bar in closed if bar.timeframe in wanted] if wanted else []


def read_warmup(path: Path, option: str = "--warmup") -> list[Snapshot]:
    """A recording for the bars' warm-up, read whole before anything is started, so that a file
    of another market, out of time order or unreadable is refused in one line (exit 2). The
    strict reader refuses other markets' prices and earlier times; two snapshots of one time are
    refused here (a bar's close would depend on which came last)."""
    fix = "give a recording of this market in time order, as botkit run --record writes"
    snapshots: list[Snapshot] = []
    try:
        for index, snapshot in enumerate(open_snapshots(path, strict=True), 1):
            if snapshots and snapshot.ts <= snapshots[-1].ts:
                raise ConfigError(option, f"{path}: snapshot {index} (ts {snapshot.ts}) is not after the one "
                                          f"before it (ts {snapshots[-1].ts})", fix)
            snapshots.append(snapshot)
    except ConfigError:
        raise
    except (BotkitError, OSError) as exc:  # the reader names the file and line
        raise ConfigError(option, str(exc), fix) from None
    return snapshots
