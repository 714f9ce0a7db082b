"""Shared by the operations tests: real engines on a real sandbox, `botkit` subprocesses, scrapes."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

import botkit
from botkit import config as config_mod
from botkit.client import Buttercoin, ButtercoinClient
from botkit.engine.assembly import Bot
from botkit.engine.risk import AccountRisk, RiskLimits
from botkit.engine.tick import RISK_PLUGIN_NAME, Engine, EngineSettings
from botkit.journal import Journal
from botkit.strategy.context import StrategyContext
from botkit.strategy.host import StrategyHost
from botkit.strategy.plugins import make_manager, register
from botkit.venues.buttercoin import ButtercoinMarketData, ButtercoinVenue
from tests.plugins.recorder import Recorder
from tests.polling import wait  # noqa: F401 - the ops tests import it from here

D = Decimal
GENEROUS = RiskLimits(max_order_quantity=D(10), max_position=D(100), max_notional=D(10**7), max_open_orders=100,
                      price_band_bps=D(5000), daily_loss_limit=D(10**7), min_balance_usd=D(0), min_balance_btc=D(0))
MM_KEY, MM_SECRET = "ops-mm-key", "ops-mm-secret-0123456789"


def account(key: str, usd: str = "100000", btc: str = "10") -> Any:
    from botkit.sandbox import SandboxAccount

    return SandboxAccount(key=key, secret=f"{key}-secret-0123456789", balances={"USD": D(usd), "BTC": D(btc)})


def counterparty() -> Any:
    from botkit.sandbox import SandboxAccount

    return SandboxAccount(key=MM_KEY, secret=MM_SECRET, balances={"USD": D(10**7), "BTC": D(10**4)})


def counter(sandbox: Any, side: str, price: str, quantity: str) -> None:
    """An order of the counterparty, straight into the sandbox's matching engine."""
    sandbox.exchange.submit_order(MM_KEY, side, "limit", D(price), D(quantity))


@dataclass
class Rig:
    """A bot as the daemon runs it (engine, journal, live venue, signed client), on a sandbox."""

    bot: Bot
    client: ButtercoinClient

    @property
    def engine(self) -> Engine:
        return self.bot.engine

    @property
    def journal(self) -> Journal:
        return self.bot.journal

    def close(self) -> None:
        self.client.close()
        self.journal.close()


def rig(sandbox: Any, journal_url: str, bot_id: str, key: str, plugins: Mapping[str, object], *,
        limits: RiskLimits = GENEROUS, max_failures: int = 3) -> Rig:
    """Assembled like ``build_bot`` does, but on an account of our choosing and with plugin objects."""
    client = ButtercoinClient(api_key=key, api_secret=f"{key}-secret-0123456789", base_url=sandbox.base_url,
                              timeout=10)
    api = Buttercoin(client)
    pm = make_manager()
    risk = AccountRisk(limits)
    register(pm, [(RISK_PLUGIN_NAME, risk)])
    hosts = []
    for name, plugin in plugins.items():
        register(pm, [(name, plugin)])
        hosts.append(StrategyHost(name, pm, plugin, StrategyContext.create(name, {}), timeout=None,
                                  max_failures=max_failures))
    journal = Journal(journal_url, bot_id)
    engine = Engine(venue=ButtercoinVenue(api), pm=pm, strategies=hosts, risk=risk, journal=journal,
                    settings=EngineSettings(log_ticks=False))
    market = ButtercoinMarketData(api)
    bot = Bot(config_mod.parse({}, environ={}), engine, journal, market.fetch, market_data=market)
    return Rig(bot, client)


def market_maker_config(path: Path, *, bot_id: str, journal_url: str, base_url: str, key: str, secret: str,
                        extra: str = "", strategy_paths: Sequence[Path] = ()) -> Path:
    """A `botkit run` config: the example market maker quoting every 0.2 s on ``key``'s account
    (and what ``extra`` adds, e.g. a strategy of ``strategy_paths``)."""
    path.write_text(f"""
strategy_paths = {json.dumps([str(p) for p in strategy_paths])}
[bot]
id = "{bot_id}"
[exchange]
base_url = "{base_url}"
api_key = "{key}"
api_secret = "{secret}"
[journal]
url = "{journal_url}"
[engine]
interval_seconds = 0.2
resolve_window_seconds = 5
[strategies.market_maker]
spread_bps = 4
size = 0.05
{extra}""")
    return path


@contextlib.contextmanager
def standalone_sandbox(workdir: Path, key: str, secret: str, seed: int = 3) -> Iterator[str]:
    """`botkit sandbox` in its own process (so that it outlives a bot killed with -9), with one
    account ``key``; yields its base URL."""
    proc = start_botkit("sandbox", "--port", "0", "--state", str(workdir / "exchange.sqlite"), "--seed", str(seed),
                        "--rate-limit", "0", "--account", f"{key}:{secret}:USD=100000,BTC=10", cwd=workdir)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:"), base_url
        yield base_url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def losing_rig(sandbox: Any, journal_url: str, bot_id: str, key: str) -> Rig:
    """A bot whose second tick trips the kill switch: its first buys 1 BTC at 420.00 with the mid at
    409.50 (a loss of 10.50 USD at once, over its daily_loss_limit of 5), its second buy is refused.
    Its one strategy is ``rec``."""
    counter(sandbox, "buy", "399.00", "5")
    counter(sandbox, "sell", "420.00", "5")
    recorder = Recorder()
    recorder.script = [[botkit.buy("1", "420.00")], [botkit.buy("0.1", "400.00")]]
    return rig(sandbox, journal_url, bot_id, key, {"rec": recorder}, limits=replace(GENEROUS, daily_loss_limit=D(5)))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def start_botkit(*args: str, cwd: Path, log: Path | None = None) -> subprocess.Popen[str]:
    """``botkit ARGS`` in a subprocess; its log (stderr) goes to ``log`` so a test can read it while it runs."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "botkit", *args]
    if log is None:
        return subprocess.Popen(command, cwd=cwd, text=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with log.open("w") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, cwd=cwd, text=True, env=env, stdout=subprocess.PIPE, stderr=stderr)


def botkit_once(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "botkit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)


def metrics_url(log: Path) -> str | None:
    """The /metrics URL a `botkit run --metrics-port 0` logged, once it has."""
    if not log.exists():
        return None
    found = re.search(r"Prometheus metrics at (http://\S+/metrics)", log.read_text())
    return found.group(1) if found else None


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """One scrape, parsed by prometheus_client's own parser: {(sample name, sorted labels): value}."""
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def total(samples: Mapping[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """The sum of the samples named ``name`` whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))
