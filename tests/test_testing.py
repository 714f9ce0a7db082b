"""botkit.testing: crafted markets, a strategy given by name, file, module or object, run through
the real engine and simulated venue in memory; and the botkit_run fixture of its pytest plugin."""

from __future__ import annotations

import tempfile
import types
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

import botkit
from botkit import hookimpl, param
from botkit.core.errors import ConfigError
from botkit.model import Side
from botkit.testing import StrategyRun, book, candles, mids, quotes, run_strategy, snapshot, trade

D = Decimal


class Taker:
    """Buys ``size`` at the ask on the first snapshot, sells it at the bid on the third."""

    PARAMS: ClassVar[dict[str, Any]] = {"size": param(D("0.5"), low="0.01", high=2)}

    def __init__(self) -> None:
        self.seen = 0

    @hookimpl
    def botkit_on_snapshot(self, snapshot: botkit.Snapshot, ctx: botkit.StrategyContext) -> Iterator[botkit.Intent]:
        self.seen += 1
        if self.seen == 1:
            yield botkit.buy(ctx.params.size, snapshot.best_ask)
        elif self.seen == 3:
            yield botkit.sell(ctx.position, snapshot.best_bid)


def test_crafted_markets() -> None:
    s = snapshot(5000, "99.5", "100.5", size=2, trades=[trade(4000, 100), trade(4500, "100.5", "0.2", "sell")])
    assert (s.ts, s.best_bid, s.best_ask, s.mid) == (5000, D("99.5"), D("100.5"), D(100))
    assert s.book.bids[0].quantity == D(2)
    assert [t.ts for t in s.trades] == [4500, 4000]  # newest first, as the exchange lists them
    assert s.trades[0].taker_side is Side.SELL
    deep = snapshot(1, order_book=book([(99, 1), (98, 3)], [(101, 2)]))
    assert (deep.best_bid, deep.book.bids[1].quantity, deep.ticker.last) == (D(99), D(3), D(99))
    assert [q.ts for q in quotes([(1, 2)] * 3, start=0, every_ms=500)] == [0, 500, 1000]
    assert [m.mid for m in mids(["100", 101])] == [D(100), D(101)]
    with pytest.raises(TypeError, match="exact"):
        snapshot(1, 99.5, 100)  # type: ignore[arg-type]


def test_a_plugin_object_through_the_engine_and_venue() -> None:
    run = run_strategy(Taker(), quotes([("99", "100"), ("99", "100"), ("101", "102")]),
                       initial={"USD": 1000}, maker_fee_bps=0, taker_fee_bps=20)
    assert run.intents == [botkit.buy("0.5", "100"), botkit.sell("0.5", "101")]
    assert [(d.ts, d.strategy) for d in run.decisions] == [(1000, "taker"), (3000, "taker")]
    assert run.executions() == [(1000, Side.BUY, D(100), D("0.5")), (3000, Side.SELL, D(101), D("0.5"))]
    assert [f.fee for f in run.fills] == [D("0.1"), D("0.101")]  # 20 bps of 50 and of 50.5
    assert [o.status for o in run.orders] == [botkit.OrderStatus.FILLED] * 2
    assert run.positions == {"taker": D(0)} and run.position == 0
    assert run.metrics.realized_pnl == D("0.5")  # 0.5 x (101 - 100)
    assert run.metrics.strategy_pnl == D("0.299")  # net of the fees 0.201
    assert D(run.report()["result"]["strategy_pnl"]) == D("0.299")
    assert run.params == {"taker": {"size": D("0.5")}}
    assert "realized PnL" in run.table()


def test_params_are_checked_as_the_config_s() -> None:
    with pytest.raises(ConfigError, match=r"strategies\.taker\.size: 5 is out of strategy taker's range"):
        run_strategy(Taker(), quotes([("99", "100")]), params={"size": 5})
    run = run_strategy(Taker(), quotes([("99", "100")]), params={"size": "0.25"})
    assert run.intents == [botkit.buy("0.25", "100")]


def test_refusals_are_reported_with_rule_and_reason() -> None:
    run = run_strategy(Taker(), quotes([("99", "100")]), config={"risk": {"max_order_quantity": "0.1"}})
    assert run.orders == []
    assert [(r.ts, r.strategy, r.rule) for r in run.rejections] == [(1000, "taker", "max_order_quantity")]
    assert run.summary["rejected"] == 1


def test_a_module_a_file_and_a_name(tmp_path: Path) -> None:
    source = ("import botkit\nfrom botkit import hookimpl\n\n@hookimpl\ndef botkit_on_snapshot(snapshot, ctx):\n"
              "    return [botkit.cancel_all()]\n")
    module = types.ModuleType("canceller")
    exec(compile(source, "canceller.py", "exec"), module.__dict__)
    assert run_strategy(module, quotes([(1, 2)])).intents == [botkit.cancel_all()]
    (tmp_path / "canceller.py").write_text(source)
    assert run_strategy(tmp_path / "canceller.py", quotes([(1, 2)])).intents == [botkit.cancel_all()]
    assert run_strategy("canceller", quotes([(1, 2)]), strategy_paths=[tmp_path]).intents == [botkit.cancel_all()]
    with pytest.raises(LookupError, match="no strategy named 'cancelor'"):
        run_strategy("cancelor", quotes([(1, 2)]), strategy_paths=[tmp_path])
    with pytest.raises(ValueError, match="at least one snapshot"):
        run_strategy(module, [])


def test_the_pytest_plugin_gives_the_botkit_run_fixture(botkit_run: Callable[..., StrategyRun]) -> None:
    run = botkit_run("market_maker", mids([400]), initial={"USD": 10000, "BTC": 1})
    assert {type(i) for i in run.intents} == {botkit.PlaceOrder}
    assert {i.side for i in run.intents if isinstance(i, botkit.PlaceOrder)} == {Side.BUY, Side.SELL}


def test_candles_are_trades_inside_each_bar_and_a_snapshot_to_close_it() -> None:
    crafted = candles([(100, 103, 99, 101), ("101", "101", "95", "96")], timeframe="1m", start=120_000)
    assert [s.ts for s in crafted] == [120_000, 150_000, 210_000, 240_000]
    assert crafted[0].trades == () and crafted[0].mid == D(100)
    first = sorted(crafted[1].trades, key=lambda t: t.ts)
    assert [(t.ts, t.price) for t in first] == [(120_001, 100), (120_002, 103), (120_003, 99), (120_004, 101)]
    assert (crafted[2].best_bid, crafted[2].best_ask) == (D("95.5"), D("96.5"))
    assert crafted[3].trades == () and crafted[3].mid == D(96)
    with pytest.raises(ValueError, match="not on a 1m boundary"):
        candles([(1, 1, 1, 1)], start=1)
    with pytest.raises(ValueError, match="timeframe '1x' does not parse"):
        candles([(1, 1, 1, 1)], timeframe="1x")


def test_a_run_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where a temporary file would go
    run_strategy(Taker(), quotes([("99", "100")] * 3))
    assert list(tmp_path.iterdir()) == []
