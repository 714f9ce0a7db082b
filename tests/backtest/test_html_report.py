"""``--report DIR`` also writes ``report.html`` (issue 16, "Notebooks and pictures"): one
self-contained interactive page with equity and drawdown, price with fills, position and a depth
heatmap; skipped with one log line when plotly is missing, the rest of the report still written."""

from __future__ import annotations

import csv
import logging
import re
import sys
from pathlib import Path

import pytest

from botkit.backtest.htmlreport import TITLES, report_figure
from botkit.backtest.notebook import run
from botkit.data import generate
from tests.backtest.commands import SHIPPED, invoke

REPORT_FILES = ["equity.png", "fills.csv", "orders.csv", "report.json"]


@pytest.fixture
def market(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    generate(tmp_path / "market.bks", 600, levels=25, seed=4)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "market.bks"


def backtest(report: str) -> None:
    code, _, err = invoke("backtest", "--data", "market.bks", "--strategy", "grid", "--strategy-path", str(SHIPPED),
                          "--param", "grid.size=0.1", "--param", "grid.step=5", "--initial", "USD=20000,BTC=0.3",
                          "--report", report)
    assert code == 0, err


def test_report_html_holds_the_panels_and_the_fills_and_needs_nothing_else(market: Path) -> None:
    backtest("out")
    html = (market.parent / "out" / "report.html").read_text(encoding="utf-8")
    for title in TITLES:
        assert title in html
    with open(market.parent / "out" / "fills.csv", newline="") as f:
        fills = list(csv.DictReader(f))
    assert {fill["side"] for fill in fills} == {"buy", "sell"}  # both markers are drawn
    for fill in fills:
        assert repr(float(fill["price"])) in html
    assert re.search(r"<script[^>]*\bsrc=", html) is None  # plotly.js is inlined: self-contained
    assert "<link" not in html
    backtest("again")
    assert (market.parent / "again" / "report.html").read_bytes() == html.encode()  # deterministic


def test_the_figure_marks_every_fill_and_samples_the_book_small(market: Path, tmp_path: Path) -> None:
    result = run(market, strategies=["grid"], strategy_paths=[SHIPPED],
                 params={"grid": {"size": "0.1", "step": "5"}}, report=tmp_path / "nb").result
    assert result.book is not None
    figure = report_figure(result.recorder, result.book)
    traces = {trace.name: trace for trace in figure.data}
    assert len(traces["buy"].x) + len(traces["sell"].x) == result.metrics.fills > 0
    depth = traces["depth"]
    assert len(depth.y) == 40  # 20 levels a side
    assert 250 <= len(depth.x) <= 500  # 600 snapshots thinned to at most 500 samples
    start_btc = result.recorder.start_btc
    assert start_btc is not None
    assert traces["position"].y[-1] == pytest.approx(float(result.venue.btc - start_btc))  # the run's end


def test_without_plotly_the_rest_of_the_report_is_written(market: Path, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "plotly.io", None)  # import plotly.io raises ImportError
    with caplog.at_level(logging.WARNING, logger="botkit.backtest"):
        backtest("out")
    out = market.parent / "out"
    assert sorted(p.name for p in out.iterdir()) == REPORT_FILES
    lines = [r.getMessage() for r in caplog.records if "report.html" in r.getMessage()]
    assert lines == ['report.html skipped: plotly is not installed (pip install "botkit[report]")']
