"""The engine reads a simulated venue's orders back only when one changed, and learns the same."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from botkit.config import parse
from botkit.data import generate, open_snapshots
from botkit.engine.assembly import plan_engine
from botkit.journal import Journal
from botkit.model import Order
from botkit.venues.simulated import SimulatedVenue

INITIAL = {"USD": Decimal(100_000), "BTC": Decimal(2)}


class CountingVenue(SimulatedVenue):
    """The simulator, counting the engine's reads of its orders; ``tells`` False hides its
    revision, as a remote exchange's venue does (the engine then reads every tick)."""

    def __init__(self, *, tells: bool) -> None:
        super().__init__(INITIAL, Decimal(1), Decimal(5))
        self.tells = tells
        self.reads = 0

    @property
    def order_revision(self) -> int | None:
        return super().order_revision if self.tells else None

    def orders(self, order_ids: Sequence[str]) -> Sequence[Order]:
        self.reads += 1
        return super().orders(order_ids)


def run(data: Path, tmp_path: Path, *, tells: bool) -> tuple[CountingVenue, list[Order], dict[str, object]]:
    cfg = parse({"strategies": {"market_maker": {"spread_bps": 4, "refresh_bps": 2}}})
    venue = CountingVenue(tells=tells)
    journal = Journal(f"sqlite:///{tmp_path / f'j-{tells}.sqlite'}", bot_id="b")
    try:
        engine = plan_engine(cfg, only=("market_maker",), wall_clock=False).build(venue, journal)
        snapshots = list(open_snapshots(data))
        engine.start(snapshots[0].ts)
        for snapshot in snapshots:
            engine.tick(snapshot)
        summary = engine.stop(snapshots[-1].ts)
    finally:
        journal.close()
    return venue, list(venue.orders_since(0)), summary


def test_unchanged_orders_are_not_read_back_and_nothing_is_missed(tmp_path: Path) -> None:
    data = tmp_path / "m.bks"
    generate(data, 2000, levels=5, seed=4)
    told, told_orders, told_summary = run(data, tmp_path, tells=True)
    polled, polled_orders, polled_summary = run(data, tmp_path, tells=False)
    assert sum(len(o.fills) for o in polled_orders) > 20  # quotes rested, and traded
    assert told_orders == polled_orders
    assert told_summary == polled_summary
    assert polled.reads > 1500  # read back at (nearly) every tick with quotes resting
    assert told.reads < polled.reads / 3
