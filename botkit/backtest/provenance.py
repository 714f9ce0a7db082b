"""What decided a backtest's result, recorded in ``report.json``'s ``run``, and the re-run from it.

A result nobody can reproduce is an anecdote. :func:`describe_run` writes down every input that
changes the numbers: each strategy's effective parameters (its defaults, the config's table and
``--param`` merged) with its source file's SHA-256, the risk limits and engine settings, the fees,
the starting balances, the fill model, the data file (absolute path, SHA-256, the snapshots
replayed), botkit's version and the command line.

:func:`from_report` turns that record back into a config and settings (``botkit backtest
--from-report report.json``), refusing when the data file or a strategy's source is not the one
the report was made from: a re-run of changed inputs is not a reproduction.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from botkit import __version__
from botkit.config import Config, parse
from botkit.core.errors import ConfigError
from botkit.data.files import file_instrument

if TYPE_CHECKING:
    from botkit.backtest.settings import BacktestSettings
    from botkit.strategy.host import StrategyHost

log = logging.getLogger("botkit.backtest")

FILL_MODEL = "book-walk"
"""The simulated venue's fill model (docs/backtesting.md, "The fill model"); a new model gets a new name."""
ENGINE_KEYS = ("on_shutdown", "unknown_orders", "resolve_window_seconds", "max_strategy_failures",
               "max_intents_per_tick")
"""The ``[engine]`` keys a backtest uses (the others are wall-clock limits a replay turns off)."""


def sha256(path: Path) -> str:
    """The file's SHA-256 in hex, read in 1 MiB pieces (a store may be gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def plain(value: Any) -> Any:
    """A value as JSON holds it exactly: Decimals as their text, containers element by element."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def source_file(plugin: object) -> Path | None:
    """The file a strategy's plugin (a module, or an instance of a class) was loaded from."""
    try:
        found = inspect.getfile(plugin if isinstance(plugin, ModuleType) else type(plugin))
    except (TypeError, OSError):
        return None
    return Path(found).resolve()


def describe_strategy(host: StrategyHost) -> dict[str, Any]:
    source = source_file(host.plugin)
    return {"params": plain(host.ctx.params), "source": None if source is None else str(source),
            "sha256": None if source is None or not source.is_file() else sha256(source)}


def describe_run(config: Config, settings: BacktestSettings, hosts: Sequence[StrategyHost], *,
                 first_ts: int, last_ts: int, snapshots: int, command: Sequence[str] = ()) -> dict[str, Any]:
    """``report.json``'s ``run``: every input that decided the result (see the module's docstring)."""
    data = settings.data.resolve()
    return {
        "botkit_version": __version__,
        "command": list(command),
        "config_file": None if config.path is None else str(config.path.resolve()),
        "data": {"path": str(data), "sha256": sha256(data), "first_ts": first_ts, "last_ts": last_ts,
                 "snapshots": snapshots, "limit": settings.limit, "strict": settings.strict,
                 "warmup_bars": settings.warmup_bars},
        "initial": plain(settings.initial),
        "instrument": file_instrument(data).to_json(),
        "fees": {"maker_fee_bps": plain(settings.maker_fee_bps), "taker_fee_bps": plain(settings.taker_fee_bps)},
        "fill_model": {"model": FILL_MODEL, "latency_ms": settings.latency_ms},
        "bar_ms": settings.bar_ms,
        "strategies": {host.name: describe_strategy(host) for host in hosts},
        "risk": plain(config["risk"]),
        "engine": {key: plain(config["engine"][key]) for key in ENGINE_KEYS},
    }


def load_report(path: Path) -> dict[str, Any]:
    """``report.json``'s ``run``, checked to be one written by this version's :func:`describe_run`."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError("--from-report", f"cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError("--from-report", f"{path} is not JSON: {exc}") from None
    run = document.get("run") if isinstance(document, dict) else None
    needed = ("data", "initial", "fees", "fill_model", "bar_ms", "strategies", "risk", "engine")
    if not isinstance(run, dict) or any(key not in run for key in needed):
        raise ConfigError("--from-report", f"{path} has no complete 'run' section",
                          "give the report.json of a single backtest (botkit 0.1 or later)")
    return run


def _check_file(recorded: Any, what: str) -> Path:
    if not isinstance(recorded, dict) or not recorded.get("path"):
        raise ConfigError("--from-report", f"the report does not say which {what} it used")
    path = Path(recorded["path"])
    if not path.is_file():
        raise ConfigError("--from-report", f"{what} {path} is gone", "restore it at that path to reproduce the run")
    if recorded.get("sha256") and sha256(path) != recorded["sha256"]:
        raise ConfigError("--from-report", f"{what} {path} has changed since the report was made (SHA-256 differs)",
                          "restore the original to reproduce the run")
    return path


def from_report(path: Path) -> tuple[Config, dict[str, Any]]:
    """The config and :class:`~botkit.backtest.settings.BacktestSettings` keywords a report was made with.

    The strategies' effective parameters become their config tables, so nothing of today's
    ``botkit.toml`` leaks into the re-run; the data file and each strategy's source must be the
    ones the report names, byte for byte.
    """
    run = load_report(path)
    if run.get("botkit_version") != __version__:
        log.warning("%s was made by botkit %s, this is %s: the result may differ", path, run.get("botkit_version"),
                    __version__)
    data = run["data"]
    data_path = _check_file(data, "data file")
    folders: list[str] = []
    tables: dict[str, dict[str, Any]] = {}
    for name, recorded in run["strategies"].items():
        if recorded.get("source"):
            source = _check_file({"path": recorded["source"], "sha256": recorded.get("sha256")},
                                 f"strategy {name}'s source")
            folders.append(str(source.parent))
        tables[name] = {"enabled": True, **recorded["params"]}
    config = parse({"risk": run["risk"], "engine": run["engine"], "strategies": tables,
                    "strategy_paths": list(dict.fromkeys(folders))}, base_dir=path.parent)
    settings = {
        "data": data_path,
        "initial": {currency: Decimal(amount) for currency, amount in run["initial"].items()},
        "maker_fee_bps": Decimal(run["fees"]["maker_fee_bps"]),
        "taker_fee_bps": Decimal(run["fees"]["taker_fee_bps"]),
        "latency_ms": int(run["fill_model"]["latency_ms"]),
        "bar_ms": int(run["bar_ms"]),
        "strategies": tuple(tables),
        "limit": data.get("limit"),
        "strict": bool(data.get("strict", False)),
        "warmup_bars": int(data.get("warmup_bars", 0)),
    }
    if run["fill_model"].get("model", FILL_MODEL) != FILL_MODEL:
        raise ConfigError("--from-report", f"the report used fill model {run['fill_model']['model']!r}, "
                          f"this botkit has {FILL_MODEL!r}", f"use botkit {run.get('botkit_version')}")
    return config, settings
