"""Test a strategy in a few lines: crafted snapshots in, intents, orders, fills, positions and the
backtest's metrics out.

:func:`run_strategy` runs the strategy through the real engine (the one ``botkit run`` and
``botkit backtest`` use: validation, risk rules, write-ahead journal) against the simulated venue
that fills ``botkit backtest``'s orders, with a journal in memory: no file and no process, so a
test is fast and leaves nothing behind. The helpers :func:`snapshot`, :func:`quotes`, :func:`mids`,
:func:`book`, :func:`trade` and (for strategies on bars) :func:`candles` craft the market::

    from botkit.testing import quotes, run_strategy

    def test_buys_under_the_bid():
        run = run_strategy("dip_buyer", quotes([("99.5", "100.5")] * 3), params={"size": "0.02"})
        assert run.intents[0] == botkit.buy("0.02", "98.50")

With pytest, the ``botkit_run`` fixture (the plugin :mod:`botkit.pytest_plugin`, registered by
entry point) is this same function. Numbers are exact: give ``Decimal``, ``int`` or ``str``; a
float is refused, as everywhere money is handled.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from botkit import config as config_mod
from botkit.backtest.performance import Performance, PerformanceRecorder
from botkit.backtest.report import report_dict, table
from botkit.backtest.runner import replay
from botkit.config import Config
from botkit.engine.assembly import plan_engine
from botkit.journal import Journal
from botkit.journal.schema import RiskRejection
from botkit.model import BookLevel, Fill, Intent, Order, OrderBook, Side, Snapshot, Ticker, Trade
from botkit.strategy.bars import timeframe_ms
from botkit.strategy.host import StrategyHost
from botkit.strategy.params import declared
from botkit.strategy.params import defaults as param_defaults
from botkit.strategy.plugins import HOOK_NAMES, StrategySpec, checked_plugin, discover, load_file, strategy_spec
from botkit.strategy.validation import Checked
from botkit.venues.simulated import SimulatedVenue

Number = Decimal | int | str
DEFAULT_DEPTH = Decimal(10)
"""BTC at each crafted book level unless told otherwise: enough that a test's orders fill whole."""
KEEP_ALL_ORDERS = 2**62
"""The venue forgets no finished order in a test (a backtest keeps the last 10,000)."""
START_MS = 1_000
STEP_MS = 1_000


def _exact(value: Number, what: str) -> Decimal:
    if isinstance(value, float | bool) or not isinstance(value, Decimal | int | str):
        raise TypeError(f"{what} must be a Decimal, int or str (exact), got {value!r}")
    return Decimal(value)


# --------------------------------------------------------------------------- crafting the market


def book(bids: Iterable[tuple[Number, Number]] = (), asks: Iterable[tuple[Number, Number]] = ()) -> OrderBook:
    """An order book from ``(price, quantity)`` pairs, each side best first."""
    return OrderBook(tuple(BookLevel(_exact(p, "a bid price"), _exact(q, "a bid quantity")) for p, q in bids),
                     tuple(BookLevel(_exact(p, "an ask price"), _exact(q, "an ask quantity")) for p, q in asks))


def trade(ts: int, price: Number, quantity: Number = "0.01", side: Side | str = Side.BUY) -> Trade:
    """A public trade print at ``ts``; ``side`` is the side that took liquidity."""
    return Trade(ts, _exact(price, "a trade price"), _exact(quantity, "a trade quantity"), Side(side))


def snapshot(ts: int, bid: Number | None = None, ask: Number | None = None, *, size: Number = DEFAULT_DEPTH,
             order_book: OrderBook | None = None, last: Number | None = None,
             trades: Iterable[Trade] = ()) -> Snapshot:
    """The market at ``ts`` (epoch ms): a best bid and ask of ``size`` BTC each (or a whole
    ``order_book``), a ticker at that touch, and the recent ``trades`` (newest first, as the
    exchange lists them; given in any order)."""
    if order_book is None:
        order_book = book([(bid, size)] if bid is not None else [], [(ask, size)] if ask is not None else [])
    best_bid, best_ask = order_book.best_bid, order_book.best_ask
    touch = best_bid if best_bid is not None else best_ask
    last_price = _exact(last, "last") if last is not None else touch
    ticker = Ticker(last_price or Decimal(0), best_bid or Decimal(0), best_ask or Decimal(0))
    newest_first = tuple(sorted(trades, key=lambda t: t.ts, reverse=True))
    return Snapshot(ts, ticker, order_book, newest_first)


def quotes(pairs: Iterable[tuple[Number, Number]], *, start: int = START_MS, every_ms: int = STEP_MS,
           size: Number = DEFAULT_DEPTH) -> list[Snapshot]:
    """One snapshot per ``(bid, ask)`` pair, ``every_ms`` apart from ``start``, ``size`` BTC a side."""
    return [snapshot(start + i * every_ms, bid, ask, size=size) for i, (bid, ask) in enumerate(pairs)]


def mids(values: Iterable[Number], *, half_spread: Number = "0.5", start: int = START_MS, every_ms: int = STEP_MS,
         size: Number = DEFAULT_DEPTH) -> list[Snapshot]:
    """One snapshot per mid, its touch ``half_spread`` either side (a trend in one line)."""
    half = _exact(half_spread, "half_spread")
    return quotes([(_exact(m, "a mid") - half, _exact(m, "a mid") + half) for m in values], start=start,
                  every_ms=every_ms, size=size)


def candles(ohlc: Iterable[tuple[Number, Number, Number, Number]], *, timeframe: str = "1m", start: int = 0,
            quantity: Number = "0.01", half_spread: Number = "0.5", size: Number = DEFAULT_DEPTH) -> list[Snapshot]:
    """Snapshots whose trades make the bars ``ohlc`` (``(open, high, low, close)`` each) of
    ``timeframe`` from ``start`` (epoch ms, on a bar boundary): for a strategy on bars.

    A first snapshot at ``start`` (touch around the first open) begins the first bar whole (a bar
    is built only from a start botkit saw). Each bar is then four trades of ``quantity`` BTC at its
    open, high, low and close, in that order, in its first milliseconds, listed by one snapshot in
    the middle of the bar, its touch ``half_spread`` around the close; a last snapshot at the end of
    the last bar closes it (a bar is closed by the first snapshot at or after its end). So bar k
    closes at the snapshot ``start + (k + 1.5) × timeframe`` (the last one at the end)."""
    length = timeframe_ms(timeframe)
    if start % length:
        raise ValueError(f"start {start} is not on a {timeframe} boundary")
    half = _exact(half_spread, "half_spread")
    bars = [[_exact(p, "a bar price") for p in bar] for bar in ohlc]
    if not bars:
        return []
    found = [snapshot(start, bars[0][0] - half, bars[0][0] + half, size=size)]
    for k, prices in enumerate(bars):
        begin = start + k * length
        trades = [trade(begin + 1 + i, price, quantity) for i, price in enumerate(prices)]
        found.append(snapshot(begin + length // 2, prices[-1] - half, prices[-1] + half, size=size, trades=trades))
    found.append(snapshot(start + len(bars) * length, bars[-1][-1] - half, bars[-1][-1] + half, size=size))
    return found


# --------------------------------------------------------------------------- running a strategy


@dataclass(frozen=True)
class Decision:
    """One intent a strategy returned, at the snapshot it decided on."""

    ts: int
    strategy: str
    intent: Intent
    problem: str | None = None
    """Why validation refused it (a malformed intent), or None."""


@dataclass(frozen=True)
class Rejection:
    """An intent refused after the strategy returned it: by validation, a risk rule or the venue."""

    ts: int
    strategy: str
    rule: str
    reason: str
    intent: str
    """The intent as the journal describes it (``buy 0.01 @ 99.50``)."""


@dataclass
class StrategyRun:
    """What a strategy did over the crafted snapshots."""

    decisions: list[Decision]
    orders: list[Order]
    """Every order the venue received, oldest first, each with its status and fills."""
    positions: dict[str, Decimal]
    """Each strategy's net BTC at the end (its own fills, as ``ctx.position``)."""
    rejections: list[Rejection]
    metrics: Performance
    """The backtest's metrics (equity, PnL, drawdown, ...), as in ``botkit backtest``'s report."""
    summary: dict[str, Any]
    """The engine's run summary (placed, cancelled, rejected, strategy_failures, ...)."""
    venue: SimulatedVenue
    hosts: list[StrategyHost] = field(repr=False, default_factory=list)

    @property
    def intents(self) -> list[Intent]:
        """Every intent returned, in order (malformed ones included)."""
        return [d.intent for d in self.decisions]

    def intents_at(self, ts: int) -> list[Intent]:
        """The intents returned on the snapshot at ``ts``."""
        return [d.intent for d in self.decisions if d.ts == ts]

    @property
    def fills(self) -> list[Fill]:
        """Every fill, oldest first."""
        return sorted((f for o in self.orders for f in o.fills), key=lambda f: (f.ts, f.order_id, f.seq))

    def executions(self) -> list[tuple[int, Side, Decimal, Decimal]]:
        """Every fill as ``(ts, side, price, quantity)``, oldest first: the shape of a hand-computed test."""
        sides = {o.order_id: o.side for o in self.orders}
        return [(f.ts, sides[f.order_id], f.price, f.quantity) for f in self.fills]

    @property
    def position(self) -> Decimal:
        """The strategies' net BTC at the end."""
        return sum(self.positions.values(), Decimal(0))

    @property
    def params(self) -> dict[str, Mapping[str, Any]]:
        """Each strategy's validated parameters, as it saw them."""
        return {host.name: dict(host.ctx.params) for host in self.hosts}

    def report(self) -> dict[str, Any]:
        """The ``result`` and a short ``run`` of ``report.json`` (no data file to describe)."""
        return report_dict(self.metrics, {"strategies": self.params},
                           {"rejected": self.summary.get("rejected", 0),
                            "strategy_failures": self.summary.get("strategy_failures", 0)})

    def table(self) -> str:
        """The metrics as ``botkit backtest`` prints them."""
        return table(self.metrics, "strategy test")


def run_strategy(strategy: str | Path | ModuleType | object, snapshots: Iterable[Snapshot], *,
                 params: Mapping[str, Any] | None = None, initial: Mapping[str, Number] | None = None,
                 maker_fee_bps: Number | None = None, taker_fee_bps: Number | None = None,
                 latency_ms: int | None = None, config: Config | Mapping[str, Any] | None = None,
                 strategy_paths: Sequence[Path] = (), name: str | None = None, warmup_bars: int = 0) -> StrategyRun:
    """Run one strategy over ``snapshots`` through the real engine and the simulated venue.

    ``strategy`` is a strategy's name (found as ``botkit backtest`` finds it: entry points, the
    config's ``strategy_paths`` and ``strategy_paths``), the path of its ``.py`` file, its module,
    or a plugin object (an instance of a class with ``@hookimpl`` methods; ``name`` names it).
    ``params`` are checked as the config's ``[strategies.NAME]`` table is. Balances, fees and
    latency default to the config's ``[backtest]`` and ``[paper]`` values, as in a backtest
    (``config`` is a :class:`~botkit.config.Config` or the dict of a TOML document; its risk
    limits apply). ``warmup_bars``: the first snapshots only build that many bars of each
    declared timeframe, as ``botkit backtest --warmup N`` does; the strategy starts after them.
    """
    cfg = _config(config)
    spec = _spec(strategy, cfg, strategy_paths, name)
    backtest, paper = cfg["backtest"], cfg["paper"]
    balances = {"USD": backtest["initial_usd"], "BTC": backtest["initial_btc"]} if initial is None else {
        currency.upper(): _exact(amount, f"initial {currency}") for currency, amount in initial.items()}
    plan = plan_engine(cfg, only=[spec.name], params={spec.name: dict(params or {})}, wall_clock=False,
                       specs={spec.name: spec})
    venue = SimulatedVenue(
        balances,
        paper["maker_fee_bps"] if maker_fee_bps is None else _exact(maker_fee_bps, "maker_fee_bps"),
        paper["taker_fee_bps"] if taker_fee_bps is None else _exact(taker_fee_bps, "taker_fee_bps"),
        latency_ms=backtest["latency_ms"] if latency_ms is None else latency_ms, name="test",
        keep_closed=KEEP_ALL_ORDERS)
    recorder = PerformanceRecorder(bar_ms=backtest["bar_seconds"] * 1000)
    venue.listeners.append(recorder)
    decisions: list[Decision] = []
    for host in plan.hosts:
        _record_decisions(host, decisions)
    # One in-memory SQLite database (one connection, this thread): the journal is real, its file is not.
    journal = Journal("sqlite://", bot_id="test", durable=False, batched=True)
    try:
        engine = plan.build(venue, journal)
        replayed = replay(engine, venue, recorder, snapshots, strict=True, warmup_bars=warmup_bars)
        if replayed is None:
            raise ValueError("run_strategy needs at least one snapshot")
        summary = replayed[2]
        rejections = _rejections(journal)
    finally:
        journal.close()
    return StrategyRun(decisions, list(reversed(venue.orders_since(0))), dict(engine.positions), rejections,
                       recorder.result(venue.orders_placed), summary, venue, plan.hosts)


def _config(config: Config | Mapping[str, Any] | None) -> Config:
    """The run's config: given, or the built-in defaults without strategy folders (so a test does
    not depend on the folder it runs from); environment variables are not read."""
    if isinstance(config, Config):
        return config
    return config_mod.parse({"strategy_paths": [], **(config or {})}, environ={})


def _spec(strategy: str | Path | ModuleType | object, cfg: Config, paths: Sequence[Path],
          name: str | None) -> StrategySpec:
    """The strategy to run, checked as ``botkit backtest`` checks it."""
    if isinstance(strategy, str):
        found = discover([*cfg.strategy_paths, *paths])
        if strategy not in found:
            raise LookupError(f"no strategy named {strategy!r}: found {', '.join(sorted(found)) or 'none'}; "
                              "give its file's path, or its folder in strategy_paths")
        return found[strategy]
    if isinstance(strategy, Path):
        module = load_file(strategy)
        plugin = checked_plugin(module, str(strategy))
        if plugin is None:
            raise LookupError(f"{strategy} has no @hookimpl botkit_* hook: not a strategy")
        return strategy_spec(name or strategy.stem, plugin, module, str(strategy), strategy.resolve())
    if isinstance(strategy, ModuleType):
        plugin = checked_plugin(strategy, strategy.__name__)
        if plugin is None:
            raise LookupError(f"module {strategy.__name__} has no @hookimpl botkit_* hook: not a strategy")
        return strategy_spec(name or strategy.__name__.rpartition(".")[2], plugin, strategy, strategy.__name__)
    raw = getattr(strategy, "PARAMS", None) or {}
    label = name or type(strategy).__name__.lower()
    doc = inspect.getdoc(type(strategy)) or ""
    return StrategySpec(label, strategy, f"object {type(strategy).__name__}", doc, param_defaults(raw),
                        declared=declared(raw))


ASKS = ("ask", "ask_bar")
"""The host's methods that hand the engine a strategy's intents: on a snapshot, and on a closed bar
where this botkit has bars (``botkit_on_bar``)."""


def _record_decisions(host: StrategyHost, decisions: list[Decision]) -> None:
    """Keep each intent the host's strategy returns, as the engine receives it, stamped with the
    engine time of the call (``ctx.now``)."""
    for method in ASKS:
        original: Callable[..., list[Checked]] | None = getattr(host, method, None)
        if original is None:
            continue

        def recording(*args: Any, _original: Callable[..., list[Checked]] = original) -> list[Checked]:
            checked = _original(*args)
            decisions.extend(Decision(host.ctx.now, host.name, intent, problem) for intent, problem in checked)
            return checked

        setattr(host, method, recording)


def _rejections(journal: Journal) -> list[Rejection]:
    from sqlalchemy import select

    with journal.session() as s:
        rows = s.scalars(select(RiskRejection).order_by(RiskRejection.id)).all()
        return [Rejection(r.ts, r.strategy, r.rule, r.reason, r.intent) for r in rows]


def require_hook(hook: str) -> None:
    """Skip the calling pytest test when this botkit has no hook ``hook`` (a strategy generated
    for a newer botkit, e.g. ``botkit_on_bar``), saying why; nothing when it has."""
    if hook not in HOOK_NAMES:
        import pytest

        pytest.skip(f"this botkit has no {hook} hook (botkit.hookspecs): the strategy needs a botkit that has it")


__all__ = [
    "Decision",
    "Rejection",
    "StrategyRun",
    "book",
    "candles",
    "mids",
    "quotes",
    "require_hook",
    "run_strategy",
    "snapshot",
    "trade",
]
