"""``equity.png``: equity against buy and hold, the strategy's own PnL, drawdown, and the mid price
with the fills marked.

The benchmark (the starting balances held, valued at each point's mid) is drawn next to the
equity, and the strategy's PnL (equity − benchmark) gets its own panel: with BTC in the starting
balances the equity line alone is mostly the price chart.

Drawn with matplotlib's Agg backend (no display needed) from the thinned series the metrics keep
(:class:`~botkit.backtest.performance.Series`), with fixed PNG metadata so that the same run gives
the same bytes.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botkit.backtest.performance import PerformanceRecorder


def _times(points: list[tuple[int, float, float]]) -> list[datetime]:
    return [datetime.fromtimestamp(p[0] / 1000, tz=UTC) for p in points]


def curves(recorder: PerformanceRecorder) -> tuple[list[float], list[float], list[float]]:
    """The plotted lines at each kept point: equity, buy and hold (the starting balances valued at
    that point's mid), and the strategy's PnL (their difference)."""
    points = recorder.equity_series.points
    start_usd = float(recorder.start_usd or 0)
    start_btc = float(recorder.start_btc or 0)
    equity = [p[1] for p in points]
    benchmark = [start_usd + start_btc * p[2] for p in points]
    return equity, benchmark, [e - b for e, b in zip(equity, benchmark, strict=True)]


def drawdown_percent(equity: list[float]) -> list[float]:
    """Each point's fall from the running peak of ``equity``, in percent (0 or negative)."""
    peak = 0.0
    drawdown = []
    for value in equity:
        peak = max(peak, value)
        drawdown.append((value / peak - 1) * 100 if peak else 0.0)
    return drawdown


def plot_equity(recorder: PerformanceRecorder, path: str | os.PathLike[str], title: str = "backtest") -> Path:
    """Write the four-panel figure to ``path`` and return it."""
    import matplotlib

    matplotlib.use("Agg")  # no display needed, nor wanted, for a file
    import matplotlib.pyplot as plt

    figure = equity_figure(recorder, title)
    try:
        out = Path(path)
        metadata: dict[str, Any] = {"Software": None}
        figure.savefig(out, dpi=100, metadata=metadata)
    finally:
        plt.close(figure)
    return out


def equity_figure(recorder: PerformanceRecorder, title: str = "backtest") -> Any:
    """The four-panel figure as a matplotlib Figure (a notebook shows it; :func:`plot_equity` saves it)."""
    import matplotlib.pyplot as plt

    points = recorder.equity_series.points
    fills = recorder.fill_series.points
    figure, (ax_equity, ax_strategy, ax_drawdown, ax_price) = plt.subplots(
        4, 1, figsize=(10, 10), sharex=True, gridspec_kw={"height_ratios": [3, 2, 1, 3]}
    )
    try:
        if points:
            times = _times(points)
            equity, benchmark, strategy = curves(recorder)
            drawdown = drawdown_percent(equity)
            ax_equity.plot(times, equity, color="tab:blue", linewidth=1, label="strategy")
            ax_equity.plot(times, benchmark, color="0.5", linewidth=1, linestyle="--", label="buy and hold")
            ax_equity.legend(loc="best", fontsize="small")
            ax_strategy.plot(times, strategy, color="tab:purple", linewidth=1)
            ax_strategy.axhline(0, color="0.6", linewidth=0.6)
            ax_drawdown.fill_between(times, drawdown, 0, color="tab:red", alpha=0.4, linewidth=0)
            ax_price.plot(times, [p[2] for p in points], color="0.4", linewidth=0.8, label="mid")
        buys = [p for p in fills if p[2] > 0]
        sells = [p for p in fills if p[2] < 0]
        if buys:
            ax_price.scatter(_times(buys), [p[1] for p in buys], marker="^", s=14, color="tab:green", label="buy")
        if sells:
            ax_price.scatter(_times(sells), [p[1] for p in sells], marker="v", s=14, color="tab:red", label="sell")
        ax_equity.ticklabel_format(axis="y", useOffset=False, style="plain")  # dollars, not +1.04e4 offsets
        ax_strategy.ticklabel_format(axis="y", useOffset=False, style="plain")
        ax_price.ticklabel_format(axis="y", useOffset=False, style="plain")
        ax_equity.set_title(title)
        ax_equity.set_ylabel("equity (USD)")
        ax_strategy.set_ylabel("strategy PnL (USD)")
        ax_drawdown.set_ylabel("drawdown (%)")
        ax_price.set_ylabel("price (USD)")
        ax_price.set_xlabel("time (UTC)")
        if points or fills:
            ax_price.legend(loc="best", fontsize="small")
        for axis in (ax_equity, ax_strategy, ax_drawdown, ax_price):
            axis.grid(True, alpha=0.3)
        figure.autofmt_xdate()
        figure.tight_layout()
    except BaseException:
        plt.close(figure)
        raise
    return figure
