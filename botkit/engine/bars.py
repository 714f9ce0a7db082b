"""The tick's bar step: one store of bars and snapshots for all strategies, kept in the journal.

Built once per engine from what each strategy declared (``TIMEFRAMES``, ``HISTORY``,
``SNAPSHOTS``): a timeframe is built once, however many strategies want it, and kept as long as
the longest lookback declared for it. At start the bars kept from earlier runs are put back, so a
restarted bot has its history before its first decision; each tick the bars it closed are
journaled before any strategy sees them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
        """Put back the bars the journal kept (a restart); how many."""
        if not self.active or not self.keep_in_journal:
            return 0
        return self.market.restore(self.journal.load_bars(self.market.keep))

    def warm_up(self, bars: Iterable[Bar]) -> int:
        """Put bars built elsewhere (a recording, a backtest's first bars) before the first tick."""
        return self.market.restore(bars)

    def update(self, snapshot: Snapshot) -> list[Bar]:
        """This tick's closed bars, journaled (when kept there) before anyone sees them."""
        closed = self.market.update(snapshot)
        if closed and self.keep_in_journal:
            self.journal.save_bars(closed, self.market.keep)
        return closed

    def for_strategy(self, name: str, closed: list[Bar]) -> list[Bar]:
        wanted = self.wanted.get(name)
        return [bar for bar in closed if bar.timeframe in wanted] if wanted else []
