"""Loading and validating ``botkit.toml``.

Every key is declared once in :data:`SCHEMA` with its type, default and a line of help; the loader
checks types and ranges and reports the first problem as a :class:`~botkit.core.errors.ConfigError`
naming the key and the fix (the CLI prints it on one line and exits 2). TOML floats are read as
``Decimal`` so money in the config is exact. Unknown keys are errors: a misspelt risk limit that
silently does nothing is worse than a refusal to start.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.core.errors import ConfigError, did_you_mean
from botkit.core.numbers import exact_number, short
from botkit.core.urlmask import MaskedUrl, mask_url, url_password

log = logging.getLogger("botkit.config")

DEFAULT_CONFIG_NAME = "botkit.toml"
DEFAULT_JOURNAL_URL = "sqlite:///botkit-data/journal.sqlite"
DEFAULT_STRATEGIES: dict[str, dict[str, Any]] = {"market_maker": {"enabled": True}}
"""With no ``[strategies]`` table at all, the shipped market maker runs (the out-of-the-box bot)."""
MIN_WEB_TOKEN = 16
"""A web token shorter than this is refused: it guards orders and the kill switch."""


class Secret(str):
    """A secret string whose ``repr`` hides it: config tables get printed by debuggers,
    tracebacks with locals, ``dataclasses.asdict`` and test failure reports."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<hidden>"


@dataclass(frozen=True)
class Key:
    """One config key: its type, default and the help line shown in errors and docs."""

    kind: str  # "str" | "int" | "decimal" | "bool" | "seconds" | "list[str]" | "choice"
    default: Any
    help: str
    choices: tuple[str, ...] = ()
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    """Every duration and count has one: ``1e400`` seconds is a typo, not a setting."""
    secret: bool = False


SCHEMA: dict[str, dict[str, Key]] = {
    "bot": {
        "id": Key("str", "default", "name of this bot in the journal; bots sharing a database need distinct ids"),
    },
    "exchange": {
        "base_url": Key("str", None, "exchange URL, e.g. http://127.0.0.1:8765; absent = the embedded sandbox"),
        "api_key": Key("str", None, "API key (or BUTTERCOIN_API_KEY)"),
        "api_secret": Key("str", None, "API secret (or BUTTERCOIN_API_SECRET, or secret_file)", secret=True),
        "secret_file": Key("str", None, "file holding the API secret; should be readable by you only"),
        "timeout_seconds": Key("seconds", Decimal(10), "timeout of each HTTP call",
                               minimum=Decimal("0.1"), maximum=Decimal(3600)),
    },
    "sandbox": {
        "seed": Key("int", 1, "seed of the embedded sandbox's simulated market",
                    minimum=Decimal(0), maximum=Decimal(2**63 - 1)),
        "market": Key("choice", "sim", "embedded sandbox market: sim (simulated traders) or off", ("sim", "off")),
        "state_path": Key("str", None, "SQLite file keeping the embedded sandbox's state across restarts"),
        "usd": Key("decimal", Decimal(100000), "USD balance of the embedded sandbox's demo account",
                   minimum=Decimal(0), maximum=Decimal(10**12)),
        "btc": Key("decimal", Decimal(10), "BTC balance of the embedded sandbox's demo account",
                   minimum=Decimal(0), maximum=Decimal(21_000_000)),
        "rate_limit": Key("int", 1200, "calls a minute the embedded sandbox allows (0 = no limit)",
                          minimum=Decimal(0), maximum=Decimal(1_000_000)),
    },
    "engine": {
        "interval_seconds": Key("seconds", Decimal(2), "time between ticks",
                                minimum=Decimal("0.01"), maximum=Decimal(86400)),
        "on_shutdown": Key("choice", "cancel", "what to do with open orders on stop", ("cancel", "leave")),
        "unknown_orders": Key(
            "choice", "cancel", "open orders on the exchange the journal does not know, found at start-up",
            ("cancel", "adopt", "ignore"),
        ),
        "resolve_window_seconds": Key(
            "seconds", Decimal(30),
            "how long an order of unknown outcome is looked for before it is declared not placed",
            minimum=Decimal(0), maximum=Decimal(86400),
        ),
        "strategy_timeout_seconds": Key(
            "seconds", Decimal(5), "a strategy call longer than this has its intents dropped (0 = no limit)",
            minimum=Decimal(0), maximum=Decimal(3600),
        ),
        "max_strategy_failures": Key("int", 5, "consecutive failures after which a strategy is paused",
                                     minimum=Decimal(1), maximum=Decimal(1_000_000)),
        "breaker_threshold": Key("int", 5, "consecutive failed ticks that open the circuit breaker",
                                 minimum=Decimal(1), maximum=Decimal(1_000_000)),
        "breaker_max_cooldown_seconds": Key("seconds", Decimal(60), "longest pause of an open circuit breaker",
                                            minimum=Decimal("0.1"), maximum=Decimal(86400)),
        "stop_timeout_seconds": Key(
            "seconds", Decimal(10), "after SIGTERM/SIGINT, the longest the daemon takes to stop (the tick in flight, "
            "cancels); past it, it exits at once and the next start reconciles", minimum=Decimal("0.1"),
            maximum=Decimal(3600),
        ),
        "max_intents_per_tick": Key("int", 20, "more intents than this from one strategy in one tick is a failure",
                                    minimum=Decimal(1), maximum=Decimal(10_000)),
    },
    "paper": {
        "maker_fee_bps": Key("decimal", Decimal(10),
                             "fee of a resting order's simulated fill (--dry-run, backtests, sweeps), bps of notional",
                             minimum=Decimal(0), maximum=Decimal(9999)),
        "taker_fee_bps": Key("decimal", Decimal(20),
                             "fee of a crossing order's simulated fill (--dry-run, backtests, sweeps), bps of notional",
                             minimum=Decimal(0), maximum=Decimal(9999)),
    },
    "backtest": {
        "initial_usd": Key("decimal", Decimal(10000), "USD a backtest starts with", minimum=Decimal(0),
                           maximum=Decimal(10**12)),
        "initial_btc": Key("decimal", Decimal(0),
                           "BTC a backtest starts with (not 0: the results include that BTC's price change)",
                           minimum=Decimal(0), maximum=Decimal(21_000_000)),
        "latency_ms": Key("int", 0, "recorded time each order or cancel takes to reach the simulated venue",
                          minimum=Decimal(0), maximum=Decimal(3_600_000)),
        "bar_seconds": Key("int", 60, "bar length of the returns behind Sharpe and Sortino", minimum=Decimal(1),
                           maximum=Decimal(86_400)),
    },
    "journal": {
        "url": Key("str", DEFAULT_JOURNAL_URL, "SQLAlchemy URL of the journal (SQLite file or PostgreSQL)"),
        "auto_upgrade": Key("bool", True, "apply pending schema migrations at start; false: refuse to start instead"),
    },
    "risk": {
        "max_order_quantity": Key("decimal", Decimal(1), "largest order, BTC", minimum=Decimal(0)),
        "max_position": Key("decimal", Decimal(5), "largest absolute BTC position of one strategy", minimum=Decimal(0)),
        "max_notional": Key("decimal", Decimal(100000), "largest order value, USD", minimum=Decimal(0)),
        "max_open_orders": Key("int", 20, "most open orders of the bot at once",
                               minimum=Decimal(0), maximum=Decimal(100_000)),
        "price_band_bps": Key("decimal", Decimal(500), "limit prices further than this from mid are refused (bps)",
                              minimum=Decimal(0)),
        "daily_loss_limit": Key("decimal", Decimal(5000), "loss in USD since the UTC day began that halts new orders",
                                minimum=Decimal(0)),
        "min_balance_usd": Key("decimal", Decimal(0), "USD that must stay available after a buy", minimum=Decimal(0)),
        "min_balance_btc": Key("decimal", Decimal(0), "BTC that must stay available after a sell", minimum=Decimal(0)),
    },
    "metrics": {
        "port": Key("int", None, "serve Prometheus /metrics on this port (absent = off; 0 = any free port, logged)",
                    minimum=Decimal(0), maximum=Decimal(65535)),
        "host": Key("str", "127.0.0.1", "address the /metrics server listens on"),
    },
    "web": {
        "port": Key("int", None, "serve the dashboard and control API of this bot on this port (absent = off; "
                    "0 = any free port, logged)", minimum=Decimal(0), maximum=Decimal(65535)),
        "host": Key("str", "127.0.0.1", "address the dashboard listens on; put it behind a TLS proxy, never "
                    "expose it bare"),
        "token": Key("str", None, "token every page and call needs (or BOTKIT_WEB_TOKEN, or token_file)",
                     secret=True),
        "token_file": Key("str", None, "file holding the web token; should be readable by you only"),
    },
    "notify": {
        "urls": Key("list[str]", [], "apprise URLs told of starts, stops, the kill switch, the breaker, "
                    "paused strategies, unknown or vanished orders and crashes, e.g. [\"json://127.0.0.1:9000\"]",
                    secret=True),
        "min_interval_seconds": Key("seconds", Decimal(60), "at most one notification of each kind this often "
                                    "(more are counted and told in the next one)",
                                    minimum=Decimal(0), maximum=Decimal(86400)),
        "fills": Key("bool", False, "also notify of fills (rate-limited like the rest)"),
        "daily_summary": Key("bool", True, "notify each UTC day's ticks, fills and equity change once it is over"),
    },
    "log": {
        "format": Key("choice", "text", "log format", ("text", "json")),
        "level": Key("choice", "INFO", "log level", ("DEBUG", "INFO", "WARNING", "ERROR")),
    },
}


def default(section: str, key: str) -> Any:
    """The built-in default of ``section.key``: the one place defaults are written."""
    return SCHEMA[section][key].default


TOP_LEVEL: dict[str, Key] = {
    "strategy_paths": Key("list[str]", ["strategies"], "folders whose .py files are strategy plugins"),
}


@dataclass(frozen=True)
class Config:
    """A validated configuration: ``sections[section][key]`` plus the strategies' raw tables."""

    sections: Mapping[str, Mapping[str, Any]]
    strategy_paths: tuple[Path, ...]
    strategies: Mapping[str, Mapping[str, Any]]
    path: Path | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def __getitem__(self, section: str) -> Mapping[str, Any]:
        return self.sections[section]

    def __repr__(self) -> str:
        return f"Config(path={self.path}, strategies={sorted(self.strategies)})"

    def enabled_strategies(self) -> dict[str, Mapping[str, Any]]:
        return {name: table for name, table in self.strategies.items() if table.get("enabled", True)}

    @property
    def uses_embedded_sandbox(self) -> bool:
        return self["exchange"]["base_url"] is None


def _check(key_path: str, spec: Key, value: Any) -> Any:
    kind = spec.kind
    if kind in ("str", "choice"):
        if not isinstance(value, str):
            raise ConfigError(key_path, f"expected a string, got {_show(value, spec)}")
        if kind == "choice" and value not in spec.choices:
            raise ConfigError(key_path, f"{value!r} is not one of {', '.join(spec.choices)}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(key_path, f"expected true or false, got {_show(value, spec)}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            allowed = _allowed(spec)
            raise ConfigError(key_path, f"expected a whole number{' ' + allowed if allowed else ''}, "
                                        f"got {_show(value, spec)}")
        _in_range(key_path, spec, value)
        return value
    if kind in ("decimal", "seconds"):
        try:
            number = exact_number(value, key_path, _show(value, spec))
        except ConfigError as exc:
            allowed = _allowed(spec)
            raise ConfigError(key_path, exc.problem + (f"; it must be {allowed}" if allowed else ""), exc.fix) from None
        _in_range(key_path, spec, number)
        return number
    if kind == "list[str]":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(key_path, f"expected a list of strings, got {_show(value, spec)}", 'e.g. ["strategies"]')
        return list(value)
    raise AssertionError(kind)


def _in_range(key: str, spec: Key, number: Decimal | int) -> None:
    low, high = spec.minimum, spec.maximum
    if (low is not None and number < low) or (high is not None and number > high):
        raise ConfigError(key, f"must be {_allowed(spec)}, got {short(number)}")


def _allowed(spec: Key) -> str:
    """The key's range as a phrase ("from 0.1 to 3600 seconds"), or "" when unbounded."""
    unit = " seconds" if spec.kind == "seconds" else ""
    low, high = spec.minimum, spec.maximum
    if low is not None and high is not None:
        return f"from {low} to {high}{unit}"
    if low is not None:
        return f"at least {low}{unit}"
    if high is not None:
        return f"at most {high}{unit}"
    return ""


def _show(value: Any, spec: Key) -> str:
    if spec.secret:
        return "<hidden>"
    if isinstance(value, Decimal):  # what the user wrote (2.0), not Python's Decimal('2.0')
        return f"{short(value)} (a decimal number)"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{short(value)} (int)"
    return f"{value!r} ({type(value).__name__})"


def parse(data: Mapping[str, Any], *, path: Path | None = None, base_dir: Path | None = None,
          environ: Mapping[str, str] | None = None) -> Config:
    """Validate a parsed TOML document (see :data:`SCHEMA`)."""
    env = os.environ if environ is None else environ
    sections: dict[str, dict[str, Any]] = {}
    for name, keys in SCHEMA.items():
        table = data.get(name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(name, "must be a table", f"write it as [{name}]")
        for key in table:
            if key not in keys:
                raise ConfigError(f"{name}.{key}", "unknown key",
                                  f"{did_you_mean(key, keys)}known keys: {', '.join(keys)}")
        sections[name] = {key: (_check(f"{name}.{key}", spec, table[key]) if key in table else spec.default)
                          for key, spec in keys.items()}
    strategies = data.get("strategies", DEFAULT_STRATEGIES)
    if not isinstance(strategies, Mapping) or not all(isinstance(v, Mapping) for v in strategies.values()):
        raise ConfigError("strategies", "must hold one table per strategy", "write [strategies.NAME]")
    for name, table in strategies.items():
        if "enabled" in table and not isinstance(table["enabled"], bool):
            raise ConfigError(f"strategies.{name}.enabled", f"expected true or false, got {table['enabled']!r}")
    for key in data:
        if key not in SCHEMA and key not in TOP_LEVEL and key != "strategies":
            known = [*SCHEMA, *TOP_LEVEL, "strategies"]
            raise ConfigError(key, "unknown key", f"{did_you_mean(key, known)}known: {', '.join(known)}")
    raw_paths = _check("strategy_paths", TOP_LEVEL["strategy_paths"],
                       data.get("strategy_paths", TOP_LEVEL["strategy_paths"].default))
    root = base_dir or Path.cwd()
    strategy_paths = tuple((root / p) if not Path(p).is_absolute() else Path(p) for p in raw_paths)

    exchange = sections["exchange"]
    exchange["api_key"] = exchange["api_key"] or env.get("BUTTERCOIN_API_KEY")
    if exchange["api_secret"] is None and exchange["secret_file"] is not None:
        secret_path = Path(exchange["secret_file"])
        exchange["api_secret"] = _read_secret_file(secret_path if secret_path.is_absolute() else root / secret_path)
    exchange["api_secret"] = exchange["api_secret"] or env.get("BUTTERCOIN_API_SECRET")
    if exchange["base_url"] is None:
        exchange["base_url"] = env.get("BUTTERCOIN_BASE_URL")
    if exchange["base_url"] is not None:
        _check_base_url(exchange["base_url"])
        if not exchange["api_key"] or not exchange["api_secret"]:
            missing = "exchange.api_key" if not exchange["api_key"] else "exchange.api_secret"
            raise ConfigError(missing, "required when exchange.base_url is set",
                              "set it, or BUTTERCOIN_API_KEY / BUTTERCOIN_API_SECRET, or exchange.secret_file")
    journal_url = sections["journal"]["url"]
    if "://" not in journal_url:
        raise ConfigError("journal.url", f"{mask_url(journal_url)!r} is not a SQLAlchemy URL",
                          "e.g. sqlite:///botkit-data/journal.sqlite or postgresql+psycopg://user@host/db")
    if exchange["api_secret"]:
        exchange["api_secret"] = Secret(exchange["api_secret"])
    web = sections["web"]
    if web["token"] is None and web["token_file"] is not None:
        token_path = Path(web["token_file"])
        web["token"] = _read_secret_file(token_path if token_path.is_absolute() else root / token_path,
                                         "web.token_file")
    web["token"] = web["token"] or env.get("BOTKIT_WEB_TOKEN")
    if web["token"]:
        if len(web["token"]) < MIN_WEB_TOKEN:
            raise ConfigError("web.token", f"is {len(web['token'])} characters long, shorter than {MIN_WEB_TOKEN}",
                              "use a long random one: python3 -c 'import secrets; print(secrets.token_urlsafe())'")
        web["token"] = Secret(web["token"])
    sections["notify"]["urls"] = [Secret(url) for url in sections["notify"]["urls"]]
    sections["journal"]["url"] = MaskedUrl(journal_url)
    secrets = tuple(s for s in (exchange["api_secret"], url_password(journal_url), web["token"],
                                *sections["notify"]["urls"]) if s)
    return Config(sections, strategy_paths, {k: dict(v) for k, v in strategies.items()}, path, secrets)


def _check_base_url(url: str) -> None:
    """One line naming ``exchange.base_url`` for a URL the client would refuse (a bad port, user
    info, not http(s)), with any password in it masked: never a traceback echoing the URL."""
    from botkit.client.base_url import normalize_base_url
    from botkit.client.errors import InvalidEnvironmentError

    try:
        normalize_base_url(url)
    except InvalidEnvironmentError as exc:
        raise ConfigError("exchange.base_url", str(exc),
                          "e.g. http://127.0.0.1:8765, or remove it to use the embedded sandbox") from None


def _read_secret_file(path: Path, key: str = "exchange.secret_file") -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning("secret file %s is readable by other users; run: chmod 600 %s", path, path)
    if not text:
        raise ConfigError(key, f"{path} is empty")
    return text


def load(path: Path | None, *, environ: Mapping[str, str] | None = None,
         overrides: Callable[[dict[str, Any]], None] | None = None) -> Config:
    """Read and validate a config file; with no path, ``./botkit.toml`` if present, else defaults."""
    if path is None:
        candidate = Path(DEFAULT_CONFIG_NAME)
        path = candidate if candidate.is_file() else None
    data: dict[str, Any] = {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError("--config", f"cannot read {path}: {exc.strerror}") from None
        try:
            data = tomllib.loads(text, parse_float=Decimal)
        except ValueError as exc:  # TOMLDecodeError, or an integer past Python's digit limit
            raise ConfigError(str(path), f"not valid TOML: {str(exc).split('; use sys.')[0]}") from None
    if overrides is not None:
        overrides(data)
    return parse(data, path=path, base_dir=path.parent if path is not None else None, environ=environ)
