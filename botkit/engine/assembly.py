"""Assembles a bot from its config: venue, market data, journal, strategies, risk and engine.

Live, paper and backtest runs are all built here, so they share one engine, one set of hooks, one
risk manager and one journal; only the venue (and where snapshots come from) differs.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botkit.config import Config
from botkit.core.errors import ConfigError, did_you_mean
from botkit.engine.bars import read_warmup
from botkit.engine.risk import AccountRisk, RiskLimits
from botkit.engine.state import RISK_PLUGIN_NAME, EngineSettings
from botkit.engine.tick import Engine
from botkit.journal import Journal
from botkit.model import Snapshot
from botkit.strategy.context import StrategyContext
from botkit.strategy.host import StrategyHost
from botkit.strategy.plugins import StrategySpec, discover, make_manager, register, resolve_params
from botkit.venues.buttercoin import ButtercoinMarketData, ButtercoinVenue
from botkit.venues.port import Venue

if TYPE_CHECKING:  # the client loads requests, which a backtest never needs (see connect())
    from botkit.client import Buttercoin

log = logging.getLogger("botkit.bot")

DATA_DIR = Path("botkit-data")


@dataclass
class Bot:
    """A ready-to-start bot: call ``engine.start``, then ``engine.tick(fetch())`` repeatedly."""

    config: Config
    engine: Engine
    journal: Journal
    fetch: Callable[[], Snapshot]
    closers: ExitStack = field(default_factory=ExitStack)
    """What closing the bot closes, last opened first (the journal, the client, the sandbox...)."""
    base_url: str | None = None
    market_data: ButtercoinMarketData | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Every secret this bot holds, redacted from its logs and from the error texts its journal
    keeps (never in ``repr()``)."""

    def on_close(self, close: Callable[[], None]) -> None:
        """Close ``close`` with the bot (before what was there already); a failure is logged and
        the rest still closes."""
        self.closers.callback(_logged, close)

    def watch_calls(self, observer: Callable[..., None]) -> None:
        """Tell ``observer`` of each HTTP attempt of the bot's client (for metrics); the client a
        paper venue uses for market data included. A backtest's bot has none."""
        if self.market_data is not None:
            self.market_data.api.client.on_call = observer

    def close(self) -> None:
        try:
            self.closers.close()  # runs every closer, whatever one of them raises
        except Exception:
            log.exception("error while shutting down")


def _logged(close: Callable[[], None]) -> None:
    try:
        close()
    except Exception:
        log.exception("error while shutting down")


def build_strategies(config: Config, pm: Any, extra_paths: Sequence[Path] = (), *, only: Sequence[str] = (),
                     params: Mapping[str, Mapping[str, Any]] | None = None, timeout: float | None = None,
                     specs: Mapping[str, StrategySpec] | None = None) -> list[StrategyHost]:
    """Discover, configure and register the enabled strategies (or just ``only``); ``specs``, when
    given, are the strategies to choose from instead of those discovered (:mod:`botkit.testing`)."""
    chosen = list(only) if only else list(config.enabled_strategies())
    if specs is None:
        paths = [*config.strategy_paths, *extra_paths]
        specs = discover(paths, names=chosen)
        if not specs.keys() >= set(chosen):
            specs = discover(paths)  # the refusal below names every strategy there is
    tables: dict[str, dict[str, Any]] = {name: dict(config.strategies.get(name, {})) for name in chosen}
    for name, overrides in (params or {}).items():
        if name not in tables:
            raise ConfigError(f"--param {name}.*", f"strategy {name} is not enabled in this run",
                              f"enable it in the config or add --strategy {name}")
        tables[name].update(overrides)
    hosts = []
    for name, table in tables.items():
        spec: StrategySpec | None = specs.get(name)
        if spec is None:
            available = ", ".join(sorted(specs)) or "none found"
            raise ConfigError(f"strategies.{name}", "no such strategy",
                              f"{did_you_mean(name, specs)}available: {available}; add its folder to strategy_paths")
        values = resolve_params(spec, table, f"strategies.{name}")
        register(pm, [(name, spec.plugin)])
        ctx = StrategyContext.create(name, values)
        hosts.append(StrategyHost(name, pm, spec.plugin, ctx, timeout=timeout,
                                  max_failures=int(config["engine"]["max_strategy_failures"])))
    return hosts


@dataclass
class EnginePlan:
    """Everything of an engine but its venue and journal: built first, so a bad strategy table
    is refused before any exchange or database is touched."""

    pm: Any
    hosts: list[StrategyHost]
    risk: AccountRisk
    settings: EngineSettings

    def build(self, venue: Venue, journal: Journal) -> Engine:
        return Engine(venue=venue, pm=self.pm, strategies=self.hosts, risk=self.risk, journal=journal,
                      settings=self.settings)


def plan_engine(config: Config, *, extra_paths: Sequence[Path] = (), only: Sequence[str] = (),
                params: Mapping[str, Mapping[str, Any]] | None = None, wall_clock: bool = True,
                strategies: bool = True, specs: Mapping[str, StrategySpec] | None = None) -> EnginePlan:
    """Strategies, risk rules and settings from the config. ``wall_clock`` False (backtests) disables
    wall-clock time limits and the per-tick log line, which would make a replay non-deterministic,
    and keeping bars in the journal (each backtest starts afresh).
    ``strategies`` False plans an engine that only watches the market (``botkit record``)."""
    engine_cfg = config["engine"]
    pm = make_manager()
    risk = AccountRisk(RiskLimits.from_config(config["risk"]))
    register(pm, [(RISK_PLUGIN_NAME, risk)])
    timeout_s = float(engine_cfg["strategy_timeout_seconds"]) if wall_clock else 0.0
    hosts = (build_strategies(config, pm, extra_paths, only=only, params=params, timeout=timeout_s or None,
                              specs=specs)
             if strategies else [])
    settings = EngineSettings(
        on_shutdown=engine_cfg["on_shutdown"],
        unknown_orders=engine_cfg["unknown_orders"],
        resolve_window_ms=int(engine_cfg["resolve_window_seconds"] * 1000),
        max_intents_per_tick=int(engine_cfg["max_intents_per_tick"]),
        log_ticks=wall_clock,
        keep_bars=wall_clock,
    )
    return EnginePlan(pm, hosts, risk, settings)


def _demo_secret(data_dir: Path) -> str:
    """The embedded sandbox's demo secret, made once and kept readable by the owner only."""
    path = data_dir / "sandbox-demo.secret"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret


def start_embedded_sandbox(config: Config) -> tuple[Any, str, str, str]:
    """Start the in-process sandbox the config asks for; returns (sandbox, base_url, key, secret)."""
    from botkit.sandbox import Sandbox, SandboxAccount
    from botkit.sandbox.store import StoreError

    cfg = config["sandbox"]
    state_path = Path(cfg["state_path"]) if cfg["state_path"] else DATA_DIR / "sandbox.sqlite"
    state_path.parent.mkdir(parents=True, exist_ok=True)
    key = "demo"
    secret = _demo_secret(state_path.parent)
    account = SandboxAccount(key=key, secret=secret, balances={"USD": cfg["usd"], "BTC": cfg["btc"]})
    try:
        sandbox = Sandbox(market=cfg["market"], seed=cfg["seed"], state_path=state_path, accounts=[account],
                          rate_limit=cfg["rate_limit"])
    except StoreError as exc:  # another bot's sandbox holds the file, or it is not a state file
        raise ConfigError("sandbox.state_path", str(exc)) from None
    base_url = sandbox.start()
    log.info("embedded sandbox exchange at %s (state %s, market %s)", base_url, state_path, cfg["market"])
    return sandbox, base_url, key, secret


def connect(config: Config, closers: ExitStack) -> tuple[Buttercoin, str, str]:
    """The typed client for the configured exchange, starting the embedded sandbox when no
    ``base_url`` is set; returns (api, base_url, secret) and appends what must be closed."""
    from botkit.client import Buttercoin, ButtercoinClient  # loads requests: for live and paper only

    exchange = config["exchange"]
    if config.uses_embedded_sandbox:
        sandbox, base_url, key, secret = start_embedded_sandbox(config)
        closers.callback(sandbox.stop)
    else:
        base_url, key, secret = exchange["base_url"], exchange["api_key"], exchange["api_secret"]
    client = ButtercoinClient(api_key=key, api_secret=secret, base_url=base_url,
                              timeout=float(exchange["timeout_seconds"]))
    closers.callback(client.close)
    return Buttercoin(client), base_url, secret


def build_bot(config: Config, *, dry_run: bool = False, extra_paths: Sequence[Path] = (),
              warmup: Path | None = None) -> Bot:
    """Everything a daemon needs, started in the right order and closed in reverse. ``warmup``: a
    recording whose snapshots build bars before the first tick (after those the journal kept)."""
    plan = plan_engine(config, extra_paths=extra_paths)
    warmup_snapshots = read_warmup(warmup) if warmup is not None else None
    closers = ExitStack()
    try:
        api, base_url, secret = connect(config, closers)
        market_data = ButtercoinMarketData(api)
        venue: Venue
        sandboxed = config.uses_embedded_sandbox
        where = f"the embedded sandbox at {base_url}" if sandboxed else f"the exchange at {base_url}"
        venue = (_paper_venue(api, config, where) if dry_run
                 else ButtercoinVenue(api, name="sandbox" if sandboxed else "live", label=where))
        # Paper orders and fills are journaled under their own bot id, so they never mix with the
        # live bot's reconciliation, positions, PnL or status.
        bot_id = paper_bot_id(config["bot"]["id"]) if dry_run else config["bot"]["id"]
        bot_secrets = (*config.secrets, secret) if secret else config.secrets
        journal = Journal(config["journal"]["url"], bot_id=bot_id,
                          auto_upgrade=config["journal"]["auto_upgrade"], exclusive=True, secrets=bot_secrets)
        closers.callback(journal.close)
        engine = plan.build(venue, journal)
        engine.bars.warmup = warmup_snapshots
        return Bot(config, engine, journal, market_data.fetch, closers, base_url, market_data,
                   secrets=bot_secrets)
    except BaseException:
        closers.close()
        raise


def build_recorder(config: Config, *, feed: Callable[[], Snapshot] | None = None, where: str = "") -> Bot:
    """A bot that only watches the market: the daemon's loop for ``botkit record``, with no
    strategies, a simulated venue with nothing to trade and a journal in memory (a recording
    neither reads nor changes any bot's orders). ``feed`` (with ``where`` it comes from) replaces
    the configured exchange's market data: ``botkit record --source ccxt:...``."""
    from botkit.venues.simulated import SimulatedVenue

    plan = plan_engine(config, wall_clock=False, strategies=False)
    closers = ExitStack()
    try:
        market_data: ButtercoinMarketData | None = None
        secret = ""
        if feed is None:
            api, where, secret = connect(config, closers)
            market_data = ButtercoinMarketData(api)
            feed = market_data.fetch
        bot_secrets = (*config.secrets, secret) if secret else config.secrets
        journal = Journal("sqlite://", bot_id=f"{config['bot']['id']}-recorder", secrets=bot_secrets)
        closers.callback(journal.close)
        venue = SimulatedVenue(initial={}, name="recording", label=f"recording from {where} (no orders)")
        return Bot(config, plan.build(venue, journal), journal, feed, closers, where, market_data,
                   secrets=bot_secrets)
    except BaseException:
        closers.close()
        raise


def _paper_venue(api: Buttercoin, config: Config, where: str) -> Venue:
    """A simulated venue fed by live snapshots, starting from the live account's balances."""
    from botkit.venues.simulated import SimulatedVenue

    balances = api.balances()
    paper = config["paper"]
    # Ids unique across sessions: the journal keeps every paper session's orders side by side.
    prefix = f"paper-{time.time_ns() // 1_000_000}-"
    return SimulatedVenue(initial=dict(balances.amounts), maker_fee_bps=paper["maker_fee_bps"],
                          taker_fee_bps=paper["taker_fee_bps"], name="paper", id_prefix=prefix,
                          label=f"paper (simulated fills, market data from {where})")


def paper_bot_id(bot_id: str) -> str:
    """The journal's bot id of ``bot_id``'s paper sessions (``botkit run --dry-run``)."""
    return f"{bot_id}.paper"
