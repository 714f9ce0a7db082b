"""``report.html``: the run as one interactive page (zoom, pan, hover), beside ``equity.png``.

Panels on one shared time axis: equity against buy and hold, drawdown, the mid price with the
fills (buys ▲, sells ▼), the strategy's position, and the book's depth as a heatmap (one row a
level from the touch, bids below asks, the colour its quantity, the price on hover).

Drawn with plotly, whose JavaScript is inlined: one file that opens in any browser, offline, with
no server. plotly is optional (``pip install "botkit[report]"``): without it the page is skipped
with one log line and the rest of the report is written. The page's element id is fixed and the
data comes from the thinned, deterministic series of the run, so the same run (and plotly
version) gives the same bytes.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botkit.backtest.booksamples import BookSampler, DepthPoint
from botkit.backtest.performance import PerformanceRecorder
from botkit.backtest.plots import curves, drawdown_percent

log = logging.getLogger("botkit.backtest")

TITLES = ("Equity (USD)", "Drawdown (%)", "Price (mid) with fills", "Position (BTC, from the start)",
          "Book depth (BTC by level)")
DIV_ID = "botkit-report"
"""The plot's element id: fixed, where plotly would draw a random one, so that the file is deterministic."""


def _time(ts: int) -> str:
    """Epoch ms as the date text plotly reads (UTC, to the millisecond)."""
    return datetime.fromtimestamp(ts / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _depth_grid(points: list[DepthPoint], levels: int) -> tuple[list[str], list[list[float | None]],
                                                                  list[list[float | None]]]:
    """The heatmap's rows (deepest bid at the bottom, deepest ask at the top), its quantities and
    prices, one column a sample; a level a book did not have is empty."""
    rows = [f"bid {n}" for n in range(levels, 0, -1)] + [f"ask {n}" for n in range(1, levels + 1)]
    cells = [(True, index) for index in reversed(range(levels))] + [(False, index) for index in range(levels)]
    quantity: list[list[float | None]] = []
    price: list[list[float | None]] = []
    for is_bid, index in cells:
        sides = [p[1] if is_bid else p[2] for p in points]
        quantity.append([side[index][1] if index < len(side) else None for side in sides])
        price.append([side[index][0] if index < len(side) else None for side in sides])
    return rows, quantity, price


def report_figure(recorder: PerformanceRecorder, book: BookSampler | None, title: str = "backtest") -> Any:
    """The page's figure (a plotly Figure; a notebook shows it as it is)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=5, cols=1, shared_xaxes=True, vertical_spacing=0.04, subplot_titles=TITLES,
                           row_heights=[3, 1.2, 3, 1.5, 3])
    points = recorder.equity_series.points
    times = [_time(p[0]) for p in points]
    equity, benchmark, _ = curves(recorder)
    figure.add_trace(go.Scatter(x=times, y=equity, name="equity", line={"color": "#1f77b4", "width": 1}), 1, 1)
    figure.add_trace(go.Scatter(x=times, y=benchmark, name="buy and hold",
                                line={"color": "grey", "width": 1, "dash": "dash"}), 1, 1)
    figure.add_trace(go.Scatter(x=times, y=drawdown_percent(equity), name="drawdown", fill="tozeroy",
                                line={"color": "#d62728", "width": 1}), 2, 1)
    figure.add_trace(go.Scatter(x=times, y=[p[2] for p in points], name="mid",
                                line={"color": "#555555", "width": 1}), 3, 1)
    fills = recorder.fill_series.points
    for name, sign, symbol, colour in (("buy", 1, "triangle-up", "#2ca02c"), ("sell", -1, "triangle-down", "#d62728")):
        mine = [p for p in fills if p[2] == sign]
        figure.add_trace(go.Scatter(x=[_time(p[0]) for p in mine], y=[p[1] for p in mine], name=name, mode="markers",
                                    marker={"symbol": symbol, "size": 8, "color": colour}), 3, 1)
    if book is not None:
        start = float(recorder.start_btc or 0)
        held = book.position.points
        figure.add_trace(go.Scatter(x=[_time(p[0]) for p in held], y=[p[1] - start for p in held], name="position",
                                    line={"color": "#9467bd", "width": 1, "shape": "hv"}), 4, 1)
        depth = book.depth.points
        rows, quantity, price = _depth_grid(depth, book.levels)
        domain = figure.layout.yaxis5.domain
        figure.add_trace(go.Heatmap(x=[_time(p[0]) for p in depth], y=rows, z=quantity, customdata=price,
                                    name="depth", colorscale="Viridis",
                                    colorbar={"title": {"text": "BTC"}, "len": domain[1] - domain[0],
                                              "y": domain[0], "yanchor": "bottom"},
                                    hovertemplate="%{x}<br>%{y}: %{z} BTC at %{customdata}<extra></extra>"), 5, 1)
    figure.update_layout(title={"text": title}, height=1400, hovermode="closest",
                         legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"})
    figure.update_yaxes(tickformat="~f")
    return figure


def write_html_report(recorder: PerformanceRecorder, book: BookSampler | None, path: Path,
                      title: str = "backtest") -> Path | None:
    """Write the page to ``path``; None (and one log line) when plotly is not installed."""
    try:
        import plotly.io as pio
    except ImportError:
        log.warning('%s skipped: plotly is not installed (pip install "botkit[report]")', path.name)
        return None
    html = pio.to_html(report_figure(recorder, book, title), include_plotlyjs=True, full_html=True,
                       div_id=DIV_ID, config={"displaylogo": False})
    path.write_text(html, encoding="utf-8")
    return path
