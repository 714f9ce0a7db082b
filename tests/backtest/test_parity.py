"""Parity: a paper session on the sandbox, recorded while it runs, replays to the same orders.

The paper session is the daemon's tick with live snapshots from the sandbox over HTTP (the typed
client, ``ButtercoinMarketData``) and the paper venue; each snapshot's raw bodies are recorded as
``botkit record`` writes them. Replaying the recording with ``run_backtest`` must produce the same
intents, placed at the same times, with the same fills: the same engine, the same venue model, the
same values in the snapshots (lazy or not).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from botkit.backtest.runner import run_backtest
from botkit.backtest.settings import BacktestSettings
from botkit.client import Buttercoin, ButtercoinClient
from botkit.config import parse
from botkit.data import JsonlWriter
from botkit.engine.assembly import plan_engine
from botkit.journal import Journal
from botkit.model import Order
from botkit.sandbox import Sandbox
from botkit.venues.buttercoin import ButtercoinMarketData
from botkit.venues.simulated import SimulatedVenue

INITIAL = {"USD": Decimal(10000), "BTC": Decimal(2)}
FEES = (Decimal(10), Decimal(20))
STEPS = 240


def summary(orders: list[Order]) -> list[tuple[object, ...]]:
    return [
        (o.order_id, o.created_ts, o.side, o.price, o.quantity, o.status, o.filled,
         tuple((f.ts, f.price, f.quantity, f.fee, f.liquidity) for f in o.fills))
        for o in orders
    ]


def test_a_recorded_paper_session_replays_to_the_same_orders(tmp_path: Path) -> None:
    cfg = parse({"strategies": {"market_maker": {"spread_bps": 8, "refresh_bps": 3}}})
    recording = tmp_path / "paper.jsonl"
    now = [1_700_000_000_000]
    sandbox = Sandbox(market="sim", seed=5, market_interval=0, rate_limit=0, clock=lambda: now[0])
    base_url = sandbox.start()
    client = ButtercoinClient(api_key="", api_secret="", base_url=base_url)
    journal = Journal(f"sqlite:///{tmp_path / 'paper.sqlite'}", bot_id="paper")
    try:
        market = ButtercoinMarketData(Buttercoin(client))
        venue = SimulatedVenue(INITIAL, *FEES, name="paper")
        engine = plan_engine(cfg, only=("market_maker",), wall_clock=False).build(venue, journal)
        assert sandbox.market is not None
        with JsonlWriter(recording) as writer:
            for step in range(STEPS):
                now[0] += 1000
                sandbox.market.step()
                snapshot = market.fetch(now[0])
                raw = market.last_raw
                assert raw is not None
                writer.write_wire(raw["ts"], raw["ticker"], raw["orderbook"], raw.get("trades"))  # type: ignore[arg-type]
                if step == 0:
                    engine.start(snapshot.ts)
                engine.tick(snapshot)
        engine.stop(now[0])
        paper = list(reversed(venue.orders_since(0)))
    finally:
        journal.close()
        client.close()
        sandbox.stop()

    assert len(paper) >= 4, "the market maker should have quoted"
    assert any(o.fills for o in paper), "and traded, for the comparison to mean something"
    replay = run_backtest(cfg, BacktestSettings(data=recording, initial=INITIAL, maker_fee_bps=FEES[0],
                                                taker_fee_bps=FEES[1], strategies=("market_maker",)))
    replayed = list(reversed(replay.venue.orders_since(0)))
    assert summary(replayed) == summary(paper)
