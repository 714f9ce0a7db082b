"""A backtest's settings: everything about a run that is not the config (data, money, fees,
latency), with their defaults taken from the config schema, the one place defaults are written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.backtest.performance import DEFAULT_BAR_MS
from botkit.config import Config, default
from botkit.data.files import file_instrument
from botkit.instrument import BUTTERCOIN

DEFAULT_MAKER_FEE_BPS: Decimal = default("paper", "maker_fee_bps")
DEFAULT_TAKER_FEE_BPS: Decimal = default("paper", "taker_fee_bps")
DEFAULT_LATENCY_MS: int = default("backtest", "latency_ms")


def _initial(usd: Decimal, btc: Decimal) -> dict[str, Decimal]:
    return {"USD": usd, "BTC": btc}


@dataclass(frozen=True)
class BacktestSettings:
    """Everything about a backtest that is not the config: data, money, fees, latency.

    The defaults are the config's (:data:`botkit.config.SCHEMA`: ``[backtest]`` and the
    ``[paper]`` fees), the one place they are written; :meth:`options` resolves a run's values
    (command-line option, else the config file, else that default) for single runs and sweeps alike.
    """

    data: Path
    initial: Mapping[str, Decimal] = field(default_factory=lambda: _initial(
        default("backtest", "initial_usd"), default("backtest", "initial_btc")))
    maker_fee_bps: Decimal = DEFAULT_MAKER_FEE_BPS
    taker_fee_bps: Decimal = DEFAULT_TAKER_FEE_BPS
    latency_ms: int = DEFAULT_LATENCY_MS
    strategies: tuple[str, ...] = ()
    """Only these strategies (default: the config's enabled ones)."""
    strategy_paths: tuple[Path, ...] = ()
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """``{strategy: {key: value}}`` overriding the config's strategy tables."""
    strict: bool = False
    bar_ms: int = DEFAULT_BAR_MS
    limit: int | None = None
    """Stop after this many snapshots (None: the whole file)."""
    journal_url: str | None = None
    """Keep the run's journal here (None: a temporary SQLite file, deleted afterwards)."""
    warmup_bars: int = 0
    """Build this many bars of each declared timeframe from the first snapshots before any
    strategy is asked (they are in ``ctx.history`` at ``botkit_on_start``); nothing trades then."""

    @staticmethod
    def options(config: Config, *, initial: Mapping[str, Decimal] | None = None,
                maker_fee_bps: Decimal | None = None, taker_fee_bps: Decimal | None = None,
                latency_ms: int | None = None, bar_seconds: int | None = None,
                data: Path | None = None) -> dict[str, Any]:
        """The money, fee and timing keywords of a run: each one given (not None) wins, else the
        config's value (which is the built-in default when the file does not set it).

        Fees not given are the ``data`` file's instrument's when it names a market other than
        Buttercoin's (an imported one: its exchange charges its own fees), else ``[paper]``'s.
        """
        section, paper = config["backtest"], config["paper"]
        configured = _initial(section["initial_usd"], section["initial_btc"])
        instrument = file_instrument(data) if data is not None else BUTTERCOIN
        if instrument != BUTTERCOIN:
            paper = {"maker_fee_bps": instrument.maker_fee_bps, "taker_fee_bps": instrument.taker_fee_bps}
        return {
            "initial": configured if initial is None else dict(initial),
            "maker_fee_bps": paper["maker_fee_bps"] if maker_fee_bps is None else maker_fee_bps,
            "taker_fee_bps": paper["taker_fee_bps"] if taker_fee_bps is None else taker_fee_bps,
            "latency_ms": section["latency_ms"] if latency_ms is None else latency_ms,
            "bar_ms": (section["bar_seconds"] if bar_seconds is None else bar_seconds) * 1000,
        }
