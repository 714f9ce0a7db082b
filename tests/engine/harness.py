"""Builds a real engine (journal, live venue, signed client) against a real sandbox over HTTP."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from botkit.client import Buttercoin, ButtercoinClient
from botkit.engine.risk import AccountRisk, RiskLimits
from botkit.engine.tick import RISK_PLUGIN_NAME, Engine, EngineSettings
from botkit.journal import Journal
from botkit.model import Side, Snapshot
from botkit.strategy.context import StrategyContext
from botkit.strategy.host import StrategyHost
from botkit.strategy.plugins import make_manager, register
from botkit.venues.buttercoin import ButtercoinMarketData, ButtercoinVenue

D = Decimal
GENEROUS = RiskLimits(max_order_quantity=D(10), max_position=D(100), max_notional=D(10**7), max_open_orders=100,
                      price_band_bps=D(5000), daily_loss_limit=D(10**7), min_balance_usd=D(0), min_balance_btc=D(0))
BOT_KEY, BOT_SECRET = "bot-key", "bot-secret-0123456789"
MM_KEY, MM_SECRET = "mm-key", "mm-secret-0123456789"


@dataclass
class Rig:
    """An engine wired to a sandbox, plus the sandbox's counterparty account for making fills."""

    engine: Engine
    journal: Journal
    market: ButtercoinMarketData
    sandbox: Any
    api: Buttercoin

    def tick(self, ts: int | None = None) -> Any:
        snapshot = self.market.fetch(ts)
        return self.engine.tick(snapshot)

    def snapshot(self) -> Snapshot:
        return self.market.fetch()

    def counter(self, side: Side, price: str, quantity: str) -> str:
        """An order from the other account, straight into the sandbox's matching engine."""
        return str(self.sandbox.exchange.submit_order(MM_KEY, side.value, "limit", D(price), D(quantity)))


def accounts() -> list[Any]:
    from botkit.sandbox import SandboxAccount

    return [SandboxAccount(key=BOT_KEY, secret=BOT_SECRET, balances={"USD": D(100000), "BTC": D(10)}),
            SandboxAccount(key=MM_KEY, secret=MM_SECRET, balances={"USD": D(1000000), "BTC": D(1000)})]


def build(sandbox: Any, journal_url: str, bot_id: str, plugins: Mapping[str, object], *,
          limits: RiskLimits = GENEROUS, settings: EngineSettings | None = None,
          params: Mapping[str, Mapping[str, Any]] | None = None, timeout: float | None = None,
          max_failures: int = 3, client_timeout: float = 5.0) -> Rig:
    client = ButtercoinClient(api_key=BOT_KEY, api_secret=BOT_SECRET, base_url=sandbox.base_url,
                              timeout=client_timeout)
    api = Buttercoin(client)
    pm = make_manager()
    risk = AccountRisk(limits)
    register(pm, [(RISK_PLUGIN_NAME, risk)])
    hosts = []
    for name, plugin in plugins.items():
        register(pm, [(name, plugin)])
        ctx = StrategyContext.create(name, dict((params or {}).get(name, {})))
        hosts.append(StrategyHost(name, pm, plugin, ctx, timeout=timeout, max_failures=max_failures))
    journal = Journal(journal_url, bot_id)
    engine = Engine(venue=ButtercoinVenue(api), pm=pm, strategies=hosts, risk=risk, journal=journal,
                    settings=settings or EngineSettings(log_ticks=False))
    return Rig(engine, journal, ButtercoinMarketData(api), sandbox, api)


def seed_book(rig: Rig, bid: str = "399.00", ask: str = "401.00", quantity: str = "5") -> None:
    """Give the empty sandbox a two-sided book from the counterparty."""
    rig.counter(Side.BUY, bid, quantity)
    rig.counter(Side.SELL, ask, quantity)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def with_settings(**changes: Any) -> EngineSettings:
    return replace(EngineSettings(log_ticks=False), **changes)
