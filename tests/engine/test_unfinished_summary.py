"""What the engine derives from its unfinished orders (the strategies' ``ctx.open_orders``, the
funds the risk rules see as available, the open count) is computed again only when the journal's
``order_revision`` moves; these tests hold it to what computing it at every tick gives."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.config import parse
from botkit.data import generate, open_snapshots
from botkit.engine.assembly import plan_engine
from botkit.journal import Journal
from botkit.model import OrderStatus, Side
from botkit.venues.simulated import SimulatedVenue

INITIAL = {"USD": Decimal(10_000_000), "BTC": Decimal(100)}

MARKET_BUYER = '''
import botkit
from botkit import hookimpl

SEEN = [0]


@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    SEEN[0] += 1
    if SEEN[0] % 40 == 0 and not ctx.open_orders:
        return [botkit.buy("0.01")]  # at market: reserved at each tick's ask while in flight
    return None
'''


class ForgetfulJournal(Journal):
    """A journal whose revision moves at every read: the engine then derives everything afresh at
    every tick, the reference the cached run must equal."""

    @property  # type: ignore[override]
    def order_revision(self) -> int:
        self._reads = getattr(self, "_reads", 0) + 1
        return self._reads

    @order_revision.setter
    def order_revision(self, value: int) -> None:
        pass


def run(data: Path, tmp_path: Path, journal_type: type[Journal], *, latency_ms: int) -> list[Any]:
    (tmp_path / "strategies").mkdir(parents=True)
    (tmp_path / "strategies" / "market_buyer.py").write_text(MARKET_BUYER)
    cfg = parse({"strategies": {"market_maker": {"spread_bps": 4, "refresh_bps": 2, "size": 3, "max_inventory": 30}},
                 "risk": {"max_order_quantity": 10, "max_position": 100, "max_notional": 10**8,
                          "daily_loss_limit": 10**8}})
    venue = SimulatedVenue(INITIAL, Decimal(1), Decimal(5), latency_ms=latency_ms)
    journal = journal_type(f"sqlite:///{tmp_path / f'{journal_type.__name__}.sqlite'}", bot_id="b", durable=False)
    seen: list[Any] = []
    try:
        plan = plan_engine(cfg, extra_paths=(tmp_path / "strategies",), only=("market_maker", "market_buyer"),
                           wall_clock=False)
        engine = plan.build(venue, journal)
        snapshots = list(open_snapshots(data))
        engine.start(snapshots[0].ts)
        for snapshot in snapshots:
            report = engine.tick(snapshot)
            risk = engine.risk
            seen.append((report.open_orders, risk.available_usd, risk.available_btc, risk.open_orders,
                         [(h.name, h.ctx.open_orders) for h in engine.strategies]))
        seen.append(engine.stop(snapshots[-1].ts))
    finally:
        journal.close()
    return seen


def test_the_derived_order_state_equals_the_one_computed_every_tick(tmp_path: Path) -> None:
    data = tmp_path / "m.bks"
    generate(data, 1500, levels=5, seed=4)
    for latency_ms in (0, 1500):
        cached = run(data, tmp_path / f"cached-{latency_ms}", Journal, latency_ms=latency_ms)
        fresh = run(data, tmp_path / f"fresh-{latency_ms}", ForgetfulJournal, latency_ms=latency_ms)
        assert cached == fresh
        views = [orders for tick in cached[:-1] for _, orders in tick[4]]
        assert sum(1 for orders in views if orders) > 500  # quotes rested: the views were used
        assert any(o.status is OrderStatus.PARTIAL for orders in views for o in orders)  # fills that leave it open
        bought = [o for orders in views for o in orders if o.side is Side.BUY and o.price is None]
        if latency_ms:
            assert bought  # a market buy in flight: its USD held at the ask of each tick


def test_the_journal_counts_each_change_it_makes_to_an_order(tmp_path: Path) -> None:
    from botkit.model import Order, OrderState, OrderType

    journal = Journal(f"sqlite:///{tmp_path / 'j.sqlite'}", bot_id="b")
    try:
        run_id = journal.begin_run("test", 0)
        before = journal.order_revision
        record = journal.record_pending(run_id, "test", "s", "", Side.BUY, "limit", Decimal("400"), Decimal("1"), 1)
        assert journal.order_revision == before + 1
        journal.bind(record, "x-1", 2)
        assert journal.order_revision == before + 2
        order = Order(order_id="x-1", side=Side.BUY, order_type=OrderType.LIMIT, status=OrderStatus.OPENED,
                      price=Decimal("400"), quantity=Decimal("1"), filled=Decimal(0), created_ts=2)
        journal.apply(record, order, run_id, 3)  # nothing new: nothing changed
        assert journal.order_revision == before + 2
        journal.set_status(record, OrderState.VANISHED, 4)
        assert journal.order_revision == before + 3
    finally:
        journal.close()
