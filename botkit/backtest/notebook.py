"""``botkit.backtest.run(...)``: a backtest from Python (a notebook), answered with DataFrames.

The run is ``botkit backtest``'s own (:func:`~botkit.backtest.runner.run_backtest`); its fills
and orders are read back from the ``fills.csv``/``orders.csv`` the report writes as it goes (in a
temporary folder unless ``report`` names one), so a long run does not hold them twice. Money
columns hold exact ``Decimal`` values (pandas' object dtype), never floats; the equity curve is
the thinned series the plot draws (at most a few thousand points).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from botkit.backtest.report import metrics_dict
from botkit.backtest.runner import BacktestResult, run_backtest
from botkit.backtest.settings import BacktestSettings

FILL_MONEY = ("price", "quantity", "notional", "fee")
ORDER_MONEY = ("price", "quantity", "filled", "average_price", "fees")


def _exact(text: str) -> Decimal | None:
    return Decimal(text) if text else None


class BacktestRun:
    """One backtest, for notebooks: ``equity``, ``fills``, ``orders`` and ``bars`` DataFrames,
    ``metrics`` (as ``report.json`` writes them), ``result`` (the runner's own), and :meth:`plot`.
    ``bars`` holds each declared timeframe's bars at the end of the run (as many as its strategies
    keep: ``HISTORY``), one row per bar, its ``timeframe`` a column; empty without ``TIMEFRAMES``."""

    def __init__(self, result: BacktestResult, report: Path) -> None:
        import pandas as pd

        self.result = result
        self.metrics: dict[str, Any] = metrics_dict(result.metrics)
        points = result.recorder.equity_series.points
        self.equity = pd.DataFrame({"equity": [p[1] for p in points], "mid": [p[2] for p in points]},
                                   index=pd.to_datetime([p[0] for p in points], unit="ms", utc=True))
        self.equity.index.name = "time"
        converters: dict[str, Any] = dict.fromkeys(ORDER_MONEY, _exact)
        self.fills = pd.read_csv(report / "fills.csv", converters=dict.fromkeys(FILL_MONEY, _exact))
        self.orders = pd.read_csv(report / "orders.csv", converters=converters)
        frames = [history.to_pandas().assign(timeframe=timeframe) for timeframe, history in result.bars.items()]
        self.bars = pd.concat(frames) if frames else pd.DataFrame()
        for frame, column in ((self.fills, "ts"), (self.orders, "created_ts")):
            frame.insert(0, "time", pd.to_datetime(frame[column], unit="ms", utc=True))

    def plot(self) -> Any:
        """The report's four-panel figure (equity vs buy and hold, strategy PnL, drawdown, price
        with fills) as a matplotlib Figure."""
        from botkit.backtest.plots import equity_figure

        return equity_figure(self.result.recorder, f"backtest of {self.result.data_name}")

    def __repr__(self) -> str:
        return self.result.table()


def run(data: str | os.PathLike[str], *, strategies: Sequence[str] = (), params: Mapping[str, Mapping[str, Any]]
        | None = None, config: str | os.PathLike[str] | None = None,
        strategy_paths: Sequence[str | os.PathLike[str]] = (), report: str | os.PathLike[str] | None = None,
        limit: int | None = None, from_ts: int | None = None, to_ts: int | None = None,
        **options: Any) -> BacktestRun:
    """Backtest ``data`` as ``botkit backtest`` does; ``options`` are
    :meth:`BacktestSettings.options`' keywords (``initial``, fees, ``latency_ms``, ``bar_seconds``)."""
    from botkit import config as config_mod

    cfg = config_mod.load(Path(config)) if config is not None else config_mod.parse({})
    path = Path(data)
    settings = BacktestSettings(data=path, **BacktestSettings.options(cfg, data=path, **options),
                                strategies=tuple(strategies), strategy_paths=tuple(Path(p) for p in strategy_paths),
                                params=params or {}, limit=limit, from_ts=from_ts, to_ts=to_ts)
    if report is not None:
        return BacktestRun(run_backtest(cfg, settings, report_dir=report), Path(report))
    with tempfile.TemporaryDirectory(prefix="botkit-notebook-") as folder:
        return BacktestRun(run_backtest(cfg, settings, report_dir=folder), Path(folder))
