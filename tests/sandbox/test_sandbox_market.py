"""The simulated market: two-sided, sane and trading over a long seeded run; reproducible; and a
bot quoting near the touch gets filled."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from botkit.client import Buttercoin, parse
from botkit.sandbox import Exchange, Sandbox, SandboxAccount, SimulatedMarket
from tests.sandbox.helpers import ALICE, START, client_for


class StepClock:
    """A clock that moves one millisecond per reading: the run does not depend on machine speed."""

    def __init__(self) -> None:
        self.now = 1_400_000_000_000

    def __call__(self) -> int:
        self.now += 1
        return self.now


def market(seed: int = 1) -> tuple[Exchange, SimulatedMarket]:
    exchange = Exchange(clock=StepClock())
    return exchange, SimulatedMarket(exchange, seed=seed, start_price=Decimal("400"))


@pytest.mark.slow
def test_a_long_seeded_run_stays_two_sided_sane_and_trading() -> None:
    exchange, sim = market(seed=3)
    start_usd = exchange.total("USD")
    start_btc = exchange.total("BTC")
    trades_seen = 0
    last_seq = 0
    mids = []
    for _ in range(100):  # 20 000 steps: over an hour of market at the default interval
        sim.step(200)
        bids, asks = exchange.depth()
        assert len(bids) >= 5, "bid side too thin"
        assert len(asks) >= 5, "ask side too thin"
        best_bid, best_ask = bids[0][0], asks[0][0]
        assert best_bid < best_ask
        mid = (best_bid + best_ask) // 2
        assert 20_000 <= mid <= 80_000, "price left half..double the start"
        assert best_ask - best_bid <= mid // 100, "spread wider than 1%"
        sizes = {q for _, q in bids[:8] + asks[:8]}
        assert len(sizes) >= 5, "sizes should vary"
        new = [t for t in exchange.trades(1000) if t.seq > last_seq]
        assert new, "no trade in 200 steps"
        last_seq = max(t.seq for t in new)
        trades_seen += len(new)
        mids.append(mid)
    assert trades_seen > 5000
    assert max(mids) > min(mids), "the price never moved"
    assert exchange.total("USD") + exchange.fees_collected == start_usd
    assert exchange.total("BTC") == start_btc
    parse.order_book(exchange.order_book_view())  # sorted and uncrossed by the client's rules


def test_the_same_seed_gives_the_same_market() -> None:
    def run(seed: int) -> list[tuple[int, int, bool]]:
        exchange, sim = market(seed)
        sim.step(300)
        return [(t.price, t.quantity, t.taker_buy) for t in exchange.trades(1000)]

    first = run(5)
    assert first
    assert first == run(5)
    assert first != run(6)


def test_a_bot_quoting_near_the_touch_gets_filled_within_a_minute_of_steps() -> None:
    """300 steps are one minute at the default 0.2 s interval."""
    exchange, sim = market(seed=11)
    exchange.add_account(SandboxAccount("bot", "s", dict(START)))
    sim.step(20)
    bid, ask = exchange.best_prices()
    assert bid is not None
    assert ask is not None
    buy = exchange.submit_order("bot", "buy", "limit", Decimal(bid + 1) / 100, "0.05")
    sell = exchange.submit_order("bot", "sell", "limit", Decimal(ask - 1) / 100, "0.05")
    for _ in range(300):
        sim.step()
        if exchange.order("bot", buy).fills or exchange.order("bot", sell).fills:
            break
    fills = exchange.order("bot", buy).fills + exchange.order("bot", sell).fills
    assert fills, "a quote at the touch was never hit"


def test_participants_cannot_be_reached_over_http() -> None:
    exchange, sim = market()
    for maker in sim.makers:
        assert exchange.credentials(maker.key) is None
    assert exchange.orders(sim.makers[0].key) == []  # no history kept


def test_the_served_market_is_visible_to_the_client() -> None:
    with Sandbox(market="sim", market_interval=0, rate_limit=0, accounts=[SandboxAccount(*ALICE, dict(START))],
                 admin=True) as sb, client_for(sb, ALICE) as client:
        assert sb.market is not None
        sb.market.step(100)
        typed = Buttercoin(client)
        book = typed.order_book()
        assert len(book.bids) >= 5
        assert len(book.asks) >= 5
        ticker = typed.ticker()
        assert ticker.bid == book.best_bid
        assert ticker.ask == book.best_ask
        assert typed.trades()
        steps = sb.market.steps
        assert requests.post(sb.base_url + "/admin/market/step", json={"count": 3}, timeout=5).status_code == 204
        assert sb.market.steps == steps + 3


def test_a_bad_start_price_is_refused() -> None:
    with pytest.raises(ValueError, match="start price"):
        SimulatedMarket(Exchange(), start_price=Decimal("0.5"))
