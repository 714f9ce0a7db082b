"""Live (or paper) run against its replay: where did the run and the backtest of its own recording
part ways, order by order and fill by fill.

A run recorded with ``botkit run --record FILE`` is replayed through the same engine, with the
config's strategies and parameters, against the simulated venue, starting from the balances the
run journaled at its first tick and the positions its bot held before it. The snapshots of the
run are those of the recording between the run's start and stop (a recording appended over
several runs holds each of them). The run's orders and fills are read from its journal.

Orders are paired by strategy and side: first those equal in price, quantity and time, then the
nearest in time within ``window_ms`` (equal price and quantity preferred). What differs in a pair
(price, quantity, time, the exchange's refusal), and in its fills taken in order (a fill missing
or extra, its price, quantity, fee, time), is a divergence; an order with no partner is a missing
(the run placed it, the replay did not) or extra (the replay placed it) order. Where the cause
can be told it is named: latency (the same fill at another time), a fill the model did not give,
a fill the model gave that the market did not, an exchange refusal, or an earlier divergence of
the same strategy (from then on it saw another position and other open orders).
"""

from __future__ import annotations

import tempfile
from bisect import bisect_left, bisect_right
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import zip_longest
from pathlib import Path
from typing import Any

from sqlalchemy import select

from botkit.backtest.performance import PerformanceRecorder
from botkit.backtest.runner import replay
from botkit.config import Config
from botkit.core.errors import BotkitError
from botkit.core.jsonutil import decimal_text
from botkit.core.times import iso_ms
from botkit.data.files import file_instrument, open_snapshots
from botkit.engine.assembly import plan_engine
from botkit.journal import Journal
from botkit.journal.schema import BalanceSnapshot, FillRow, OrderRow, Run
from botkit.model import ZERO, Snapshot
from botkit.venues.simulated import SimulatedVenue

BPS = Decimal(10_000)
ORDER_KINDS = frozenset({"missing order", "extra order", "price", "quantity", "time", "refused"})
"""Divergences counted against ``orders=`` of the tolerance; every other kind is a fill's."""
REFUSED = frozenset({"rejected", "not_placed"})
"""Order statuses of an order the exchange did not take."""


class RunMismatch(BotkitError):
    """The recording, the journal or the config cannot be the run's (bad input: exit 2)."""


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How much divergence a comparison accepts before it fails (exit 1).

    ``orders`` and ``fills``: how many order and fill divergences are accepted. ``price_bps``: a
    price (order or fill) within this many basis points of the run's is no divergence at all;
    ``time_ms`` the same for times. ``window_ms``: how far apart in time two orders may be and
    still be paired."""

    orders: int = 0
    fills: int = 0
    price_bps: Decimal = ZERO
    time_ms: int = 0
    window_ms: int = 60_000

    @classmethod
    def parse(cls, spec: str) -> Tolerance:
        """``orders=0,fills=2,price_bps=5`` (any of ``orders``, ``fills``, ``price_bps``, ``time_ms``,
        ``window_ms``; those not named keep their default)."""
        values: dict[str, Any] = {}
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            key, sep, text = part.partition("=")
            key = key.strip()
            if not sep or key not in cls.__dataclass_fields__:
                raise ValueError(f"{part!r}: expected KEY=VALUE with KEY one of "
                                 "orders, fills, price_bps, time_ms, window_ms")
            try:
                value: Any = Decimal(text) if key == "price_bps" else int(text)
            except ArithmeticError:
                raise ValueError(f"{part!r}: {text!r} is not a number") from None
            except ValueError:
                raise ValueError(f"{part!r}: {text!r} is not a whole number") from None
            if (isinstance(value, Decimal) and not value.is_finite()) or value < 0:
                raise ValueError(f"{part!r}: must be a number of 0 or more")
            values[key] = value
        return cls(**values)


@dataclass(frozen=True, slots=True)
class FillLine:
    price: Decimal
    quantity: Decimal
    fee: Decimal
    ts: int


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One order of the run or of the replay, with its fills in the order they came."""

    strategy: str
    side: str
    price: Decimal | None
    quantity: Decimal
    ts: int
    status: str
    error: str | None
    fills: tuple[FillLine, ...]

    def text(self) -> str:
        price = "market" if self.price is None else decimal_text(self.price)
        return f"{self.side} {decimal_text(self.quantity)} @ {price} ({self.status})"


@dataclass(frozen=True, slots=True)
class Divergence:
    kind: str
    ts: int
    strategy: str
    side: str
    run: str
    replay: str
    cause: str

    @property
    def is_order(self) -> bool:
        return self.kind in ORDER_KINDS

    def row(self) -> dict[str, Any]:
        return {"time": iso_ms(self.ts), "ts": self.ts, "kind": self.kind, "strategy": self.strategy,
                "side": self.side, "run": self.run, "replay": self.replay, "cause": self.cause}


@dataclass
class Comparison:
    run_id: int
    bot_id: str
    snapshots: int
    run_ticks: int
    run_orders: int
    replay_orders: int
    matched: int
    run_fills: int
    replay_fills: int
    divergences: list[Divergence] = field(default_factory=list)

    @property
    def order_divergences(self) -> int:
        return sum(1 for d in self.divergences if d.is_order)

    @property
    def fill_divergences(self) -> int:
        return len(self.divergences) - self.order_divergences

    def exceeds(self, tolerance: Tolerance) -> bool:
        return self.order_divergences > tolerance.orders or self.fill_divergences > tolerance.fills

    def summary(self) -> dict[str, Any]:
        kinds: dict[str, int] = {}
        for d in self.divergences:
            kinds[d.kind] = kinds.get(d.kind, 0) + 1
        return {"run": self.run_id, "bot": self.bot_id, "snapshots": self.snapshots, "run_ticks": self.run_ticks,
                "run_orders": self.run_orders, "replay_orders": self.replay_orders, "matched_orders": self.matched,
                "run_fills": self.run_fills, "replay_fills": self.replay_fills,
                "order_divergences": self.order_divergences, "fill_divergences": self.fill_divergences,
                "by_kind": dict(sorted(kinds.items()))}


# ----------------------------------------------------------------------------- reading the run


@dataclass(frozen=True)
class RecordedRun:
    """What the journal knows of one run: its row, orders, first balances and prior positions."""

    run: Run
    orders: list[OrderLine]
    balances: dict[str, Decimal]
    positions: dict[str, Decimal]


def read_run(journal: Journal, run_id: int | None) -> RecordedRun:
    """The run ``run_id`` of the journal's bot (None: its latest)."""
    bot = journal.bot_id
    with journal.session() as s:
        query = select(Run).where(Run.bot_id == bot)
        query = query.where(Run.id == run_id) if run_id is not None else query.order_by(Run.id.desc()).limit(1)
        run = s.scalars(query).first()
        if run is None:
            what = f"run {run_id}" if run_id is not None else "any run"
            raise RunMismatch(f"the journal holds no {what} of bot {bot!r} (see `botkit journal orders --bot ID`; "
                              "paper sessions are under --paper)")
        orders = _orders(journal, s, run.id)
        first_ts = s.scalar(select(BalanceSnapshot.ts).where(BalanceSnapshot.run_id == run.id)
                            .order_by(BalanceSnapshot.ts).limit(1))
        balances = {b.currency: b.amount for b in s.scalars(
            select(BalanceSnapshot).where(BalanceSnapshot.run_id == run.id, BalanceSnapshot.ts == first_ts))}
        positions: dict[str, Decimal] = {}
        for strategy, side, quantity in s.execute(select(FillRow.strategy, FillRow.side, FillRow.quantity)
                                                  .where(FillRow.bot_id == bot, FillRow.run_id < run.id)):
            positions[strategy] = positions.get(strategy, ZERO) + (quantity if side == "buy" else -quantity)
        s.expunge(run)
    return RecordedRun(run, orders, balances, positions)


def _orders(journal: Journal, s: Any, run_id: int) -> list[OrderLine]:
    fills: dict[int, list[FillLine]] = {}
    for f in s.scalars(select(FillRow).where(FillRow.bot_id == journal.bot_id, FillRow.run_id == run_id)
                       .order_by(FillRow.order_id, FillRow.seq)):
        fills.setdefault(f.order_id, []).append(FillLine(f.price, f.quantity, f.fee, f.ts))
    return [OrderLine(o.strategy, o.side, o.price, o.quantity, o.created_at, o.status, o.error,
                      tuple(fills.get(o.id, ())))
            for o in s.scalars(select(OrderRow).where(OrderRow.bot_id == journal.bot_id, OrderRow.run_id == run_id)
                               .order_by(OrderRow.created_at, OrderRow.id))]


def run_snapshots(recording: Path, run: Run) -> list[Snapshot]:
    """The recording's snapshots taken while ``run`` ran; refuses a recording with none."""
    end = run.stopped_at if run.stopped_at is not None else run.last_tick_at
    first: int | None = None
    last: int | None = None
    kept: list[Snapshot] = []
    for snapshot in open_snapshots(recording):
        first = snapshot.ts if first is None else first
        last = snapshot.ts
        if snapshot.ts >= run.started_at and (end is None or snapshot.ts <= end):
            kept.append(snapshot)
    if not kept:
        held = "no snapshot" if first is None or last is None else f"snapshots from {iso_ms(first)} to {iso_ms(last)}"
        until = iso_ms(end) if end is not None else "now"
        raise RunMismatch(f"{recording} does not belong to run {run.id} of bot {run.bot_id!r}: it holds {held}, "
                          f"the run ran from {iso_ms(run.started_at)} to {until}; give the run's recording "
                          "(botkit run --record) or its id (--run)")
    return kept


# ----------------------------------------------------------------------------- the replay


class _SeededJournal(Journal):
    """The replay's journal: the bot's positions before the run as the strategies saw them at its
    start (its own fills come after)."""

    def __init__(self, url: str, positions: Mapping[str, Decimal]) -> None:
        super().__init__(url, bot_id="compare", durable=False, batched=True)
        self._seed = dict(positions)

    def positions(self) -> dict[str, Decimal]:
        found = super().positions()
        return {k: found.get(k, ZERO) + self._seed.get(k, ZERO) for k in {*found, *self._seed}}


def replay_run(config: Config, recording: Path, recorded: RecordedRun, snapshots: Sequence[Snapshot], *,
               strategy_paths: Sequence[Path] = (), initial: Mapping[str, Decimal] | None = None) -> list[OrderLine]:
    """The orders (with fills) the configured strategies place on the run's snapshots, from
    ``initial`` balances (None: those the run journaled at its first tick)."""
    plan = plan_engine(config, extra_paths=strategy_paths, wall_clock=False)
    enabled = {host.name for host in plan.hosts}
    strangers = sorted({o.strategy for o in recorded.orders} - enabled - {"_adopted"})
    if strangers:
        raise RunMismatch(f"run {recorded.run.id} has orders of {', '.join(strangers)}, which the config does not "
                          f"enable (it runs {', '.join(sorted(enabled)) or 'none'}): give the run's config (--config)")
    balances = recorded.balances if initial is None else initial
    if not balances:
        raise RunMismatch(f"run {recorded.run.id} journaled no balances (it never ticked, or an older botkit "
                          "ran it): give the balances it started from with --initial USD=N,BTC=N")
    paper = config["paper"]
    venue = SimulatedVenue(balances, paper["maker_fee_bps"], paper["taker_fee_bps"], name="paper",
                           instrument=file_instrument(recording))
    with tempfile.TemporaryDirectory(prefix="botkit-compare-") as scratch:
        journal = _SeededJournal(f"sqlite:///{Path(scratch) / 'journal.sqlite'}", recorded.positions)
        try:
            engine = plan.build(venue, journal)
            recorder = PerformanceRecorder()
            replay(engine, venue, recorder, snapshots)
            journal.flush()
            assert engine.run_id is not None
            with journal.session() as s:
                return _orders(journal, s, engine.run_id)
        finally:
            journal.close()


# ----------------------------------------------------------------------------- comparing


def compare(run_orders: Sequence[OrderLine], replay_orders: Sequence[OrderLine],
            tolerance: Tolerance) -> tuple[list[Divergence], int]:
    """The divergences between the run's orders and the replay's, in time order, and how many
    orders were paired."""
    pairs = _pair(run_orders, replay_orders, tolerance.window_ms)
    found: list[Divergence] = []
    first_seen: dict[str, int] = {}
    matched = 0
    for ours, theirs in sorted(pairs, key=_pair_time):
        before = len(found)
        either = ours if ours is not None else theirs
        assert either is not None  # a pair has at least one side
        strategy = either.strategy
        earlier = first_seen.get(strategy)
        if ours is not None and theirs is not None:
            matched += 1
            _diff_pair(ours, theirs, tolerance, earlier, found)
        elif ours is not None:
            found.append(_divergence("missing order", ours, ours.text(), "", _order_cause(ours, earlier, "run")))
        elif theirs is not None:
            found.append(_divergence("extra order", theirs, "", theirs.text(), _order_cause(theirs, earlier, "replay")))
        if len(found) > before and strategy not in first_seen:
            first_seen[strategy] = found[before].ts
    found.sort(key=lambda d: d.ts)
    return found, matched


def _pair_time(pair: tuple[OrderLine | None, OrderLine | None]) -> int:
    return min(o.ts for o in pair if o is not None)


def _pair(run_orders: Sequence[OrderLine], replay_orders: Sequence[OrderLine],
          window_ms: int) -> list[tuple[OrderLine | None, OrderLine | None]]:
    """Pairs (run order, replay order); a side is None where the order has no partner. Indexed
    (by the whole order, then by strategy and side in time order), so that an hour of a busy
    market maker, thousands of orders a side, pairs in milliseconds."""
    twins: dict[tuple[Any, ...], deque[OrderLine]] = {}
    for theirs in replay_orders:
        twins.setdefault(_key(theirs), deque()).append(theirs)
    pairs: list[tuple[OrderLine | None, OrderLine | None]] = []
    unpaired: list[OrderLine] = []
    for ours in run_orders:  # first: the same order at the same moment
        same = twins.get(_key(ours))
        if same:
            pairs.append((ours, same.popleft()))
        else:
            unpaired.append(ours)
    left: dict[tuple[str, str], list[OrderLine]] = {}
    for theirs in sorted((o for same in twins.values() for o in same), key=lambda o: o.ts):
        left.setdefault((theirs.strategy, theirs.side), []).append(theirs)
    for ours in unpaired:  # then the nearest of the same strategy and side, within the window
        lane = left.get((ours.strategy, ours.side), [])
        times = [o.ts for o in lane]
        start, stop = bisect_left(times, ours.ts - window_ms), bisect_right(times, ours.ts + window_ms)
        if start == stop:
            pairs.append((ours, None))
            continue
        best = min(range(start, stop), key=lambda i: (lane[i].price != ours.price or lane[i].quantity != ours.quantity,
                                                     abs(lane[i].ts - ours.ts), _distance(lane[i].price, ours.price)))
        pairs.append((ours, lane.pop(best)))
    pairs.extend((None, theirs) for lane in left.values() for theirs in lane)
    return pairs


def _key(order: OrderLine) -> tuple[Any, ...]:
    return order.strategy, order.side, order.price, order.quantity, order.ts


def _distance(a: Decimal | None, b: Decimal | None) -> Decimal:
    return ZERO if a is None or b is None else abs(a - b)


def _bps_apart(run: Decimal | None, other: Decimal | None, limit: Decimal) -> bool:
    if run == other:
        return False
    if run is None or other is None or not run:
        return True
    return abs(other - run) / run * BPS > limit


def _divergence(kind: str, order: OrderLine, run: str, replay_: str, cause: str, ts: int | None = None) -> Divergence:
    return Divergence(kind, order.ts if ts is None else ts, order.strategy, order.side, run, replay_, cause)


def _after(earlier: int | None, ts: int) -> str:
    return (f"after the divergence at {iso_ms(earlier)}: the strategy may have seen another position and other orders"
            if earlier is not None and earlier < ts else "")


def _order_cause(order: OrderLine, earlier: int | None, placed_by: str) -> str:
    cause = _after(earlier, order.ts)
    if cause:
        return cause
    return ("the run decided it and the replay, on the same snapshots, did not" if placed_by == "run"
            else "the replay decided it and the run, on the same snapshots, did not")


def _diff_pair(ours: OrderLine, theirs: OrderLine, tol: Tolerance, earlier: int | None,
               found: list[Divergence]) -> None:
    later = _after(earlier, ours.ts)
    if _bps_apart(ours.price, theirs.price, tol.price_bps):
        found.append(_divergence("price", ours, str(ours.price), str(theirs.price), later))
    if ours.quantity != theirs.quantity:
        found.append(_divergence("quantity", ours, decimal_text(ours.quantity), decimal_text(theirs.quantity), later))
    if abs(ours.ts - theirs.ts) > tol.time_ms:
        found.append(_divergence("time", ours, iso_ms(ours.ts), iso_ms(theirs.ts),
                                 later or f"decided {theirs.ts - ours.ts:+d} ms apart: another tick"))
    refused = ours.status in REFUSED
    if refused != (theirs.status in REFUSED):
        why = f"exchange refusal: {ours.error or ours.status}" if refused else (theirs.error or theirs.status)
        found.append(_divergence("refused", ours, ours.status, theirs.status, why))
    _diff_fills(ours, theirs, tol, later, found)


def _diff_fills(ours: OrderLine, theirs: OrderLine, tol: Tolerance, later: str, found: list[Divergence]) -> None:
    for a, b in zip_longest(ours.fills, theirs.fills):
        if b is None:
            found.append(_divergence("missing fill", ours, _fill_text(a), "",
                                     later or "a fill the model did not give", a.ts))
        elif a is None:
            cause = (f"exchange refusal: {ours.error or ours.status}" if ours.status in REFUSED
                     else later or "a fill the model gave that the market did not")
            found.append(_divergence("extra fill", ours, "", _fill_text(b), cause, b.ts))
        else:
            _diff_fill(ours, a, b, tol, later, found)


def _diff_fill(ours: OrderLine, a: FillLine, b: FillLine, tol: Tolerance, later: str,
               found: list[Divergence]) -> None:
    if _bps_apart(a.price, b.price, tol.price_bps):
        found.append(_divergence("fill price", ours, decimal_text(a.price), decimal_text(b.price),
                                 later or "the model priced the fill otherwise (slippage)", a.ts))
    if a.quantity != b.quantity:
        found.append(_divergence("fill quantity", ours, decimal_text(a.quantity), decimal_text(b.quantity),
                                 later or "the model filled another amount (depth)", a.ts))
    if a.fee != b.fee:
        found.append(_divergence("fee", ours, decimal_text(a.fee), decimal_text(b.fee),
                                 later or "another fee rate or liquidity (maker/taker) than [paper]'s", a.ts))
    if abs(a.ts - b.ts) > tol.time_ms:
        found.append(_divergence("fill time", ours, iso_ms(a.ts), iso_ms(b.ts),
                                 f"latency: the run's fill came {a.ts - b.ts:+d} ms from the model's", a.ts))


def _fill_text(fill: FillLine) -> str:
    return f"{decimal_text(fill.quantity)} @ {decimal_text(fill.price)} fee {decimal_text(fill.fee)}"


def compare_run(config: Config, recording: Path, journal: Journal, *, run_id: int | None = None,
                tolerance: Tolerance = Tolerance(), strategy_paths: Sequence[Path] = (),
                initial: Mapping[str, Decimal] | None = None) -> Comparison:
    """Replay the run's recording and compare the replay with the journaled run (from ``initial``
    balances when given, else from those the run journaled)."""
    recorded = read_run(journal, run_id)
    snapshots = run_snapshots(recording, recorded.run)
    _own_snapshots(recording, recorded, snapshots)
    replayed = replay_run(config, recording, recorded, snapshots, strategy_paths=strategy_paths, initial=initial)
    divergences, matched = compare(recorded.orders, replayed, tolerance)
    return Comparison(recorded.run.id, journal.bot_id, len(snapshots), recorded.run.ticks, len(recorded.orders),
                      len(replayed), matched, _fill_count(recorded.orders), _fill_count(replayed), divergences)


def _own_snapshots(recording: Path, recorded: RecordedRun, snapshots: Sequence[Snapshot]) -> None:
    """Refuse a recording of the same span that is not the run's (another bot's, another
    exchange's): a run decides at its snapshots' times, so each of its orders was placed at the
    time of one of its snapshots."""
    times = {snapshot.ts for snapshot in snapshots}
    decided = [o for o in recorded.orders if o.strategy != "_adopted"]
    if decided and not any(o.ts in times for o in decided):
        run = recorded.run
        raise RunMismatch(f"{recording} does not belong to run {run.id} of bot {run.bot_id!r}: none of the run's "
                          f"{len(decided)} orders was placed at the time of one of its snapshots; give the run's "
                          "recording (botkit run --record)")


def _fill_count(orders: Iterable[OrderLine]) -> int:
    return sum(len(o.fills) for o in orders)
