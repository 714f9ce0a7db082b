"""The backtest report: a terminal table, ``report.json``, ``fills.csv``, ``orders.csv``.

Everything here is deterministic: the same run gives byte-identical files. Money is written as
strings of exact decimals (``"10012.34567"``), never as JSON floats; ratios are JSON numbers.
Fills and orders are written while the run goes (:class:`CsvLog` listens to the venue), so a long
replay does not keep them in memory.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import fields
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from botkit.backtest.performance import Performance
from botkit.core.jsonutil import decimal_text
from botkit.core.output import money
from botkit.model import Fill, Order, Side

FILL_COLUMNS = ["ts", "order_id", "seq", "side", "price", "quantity", "notional", "fee", "liquidity"]
ORDER_COLUMNS = ["created_ts", "order_id", "side", "type", "status", "price", "quantity", "filled",
                 "average_price", "fees", "fills"]


RANKABLE = ("total_return", "strategy_pnl", "end_equity", "realized_pnl", "sharpe", "sortino", "max_drawdown", "fees",
            "win_rate", "fill_ratio", "turnover", "fills", "orders")
"""Metrics a sweep ranks by and an optimiser aims at."""
LOWER_IS_BETTER = frozenset({"max_drawdown", "fees"})


PERCENT = frozenset({"total_return", "benchmark_return", "max_drawdown", "fill_ratio", "win_rate", "exposure"})
"""Ratios that are fractions of a whole: shown to people as percentages."""


def cell(metric: str, value: Any) -> str:
    """``metric`` in a ranked table (a sweep's, an optimisation's), shown as :func:`table` shows it:
    money to the cent (``value`` may be :func:`metrics_dict`'s exact text, which stays in the JSON
    and CSV files), fractions as percentages, other ratios to three places; n/a when undefined."""
    if value is None:
        return "n/a"
    if metric in Performance.MONEY:
        return money(Decimal(value), "USD")
    if isinstance(value, float):
        return _ratio(value, percent=metric in PERCENT)
    return str(value)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def metrics_dict(metrics: Performance) -> dict[str, Any]:
    """The metrics as JSON-ready values: money as exact decimal strings, ratios as numbers."""
    out: dict[str, Any] = {}
    for f in fields(metrics):
        value = getattr(metrics, f.name)
        if isinstance(value, Decimal):
            out[f.name] = _money(value)
        elif isinstance(value, float):
            out[f.name] = round(value, 12)
        else:
            out[f.name] = value
    return out


def notes(metrics: Performance) -> list[str]:
    """What a reader must know before trusting a figure (e.g. ratios not annualized, and why)."""
    ratio = metrics.ratio_note()
    return [ratio] if ratio else []


def report_dict(metrics: Performance, run: Mapping[str, Any],
                counts: Mapping[str, int] | None = None) -> dict[str, Any]:
    """``report.json``'s content: what the run gave under ``result`` (the metrics and their
    ``notes``, and ``counts`` such as the intents refused), everything that decided it under ``run``.

    ``result`` depends only on the inputs recorded in ``run`` (no paths, no clock), so a re-run
    from the report (``botkit backtest --from-report``) gives it back byte for byte.
    """
    return {"result": {**metrics_dict(metrics), **(counts or {}), "notes": notes(metrics)}, "run": dict(run)}


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n", encoding="utf-8")


def _json_default(value: object) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _ratio(value: float | None, percent: bool = False) -> str:
    if value is None:
        return "n/a"
    shown = round(value * 100, 2) if percent else round(value, 3)
    shown += 0.0  # a tiny negative rounds to -0.0: show 0.00, not -0.00
    return f"{shown:.2f}%" if percent else f"{shown:.3f}"


def _usd(value: Decimal | None) -> str:
    return "n/a" if value is None else money(value, "USD")


def table(metrics: Performance, title: str = "backtest", extra: Sequence[tuple[str, str]] = ()) -> str:
    """The metrics (and ``extra`` rows) as an aligned two-column table for the terminal."""
    m = metrics
    basis = " (annualized)" if m.annualized else f" (per {m.bar_ms / 1000:g} s bar)"
    rows = [
        ("start equity (USD)", _usd(m.start_equity)),
        ("end equity (USD)", _usd(m.end_equity)),
        ("total return", _ratio(m.total_return, percent=True)),
        ("buy-and-hold end equity (USD)", _usd(m.benchmark_end_equity)),
        ("buy-and-hold return", _ratio(m.benchmark_return, percent=True)),
        ("strategy PnL (USD, net of fees)", _usd(m.strategy_pnl)),
        ("realized PnL (USD, average cost)", _usd(m.realized_pnl)),
        ("unrealized PnL (USD)", _usd(m.unrealized_pnl)),
        ("fees (USD)", _usd(m.fees)),
        ("max drawdown", _ratio(m.max_drawdown, percent=True)),
        ("max drawdown (USD)", _usd(m.max_drawdown_usd)),
        (f"sharpe{basis}", _ratio(m.sharpe)),
        (f"sortino{basis}", _ratio(m.sortino)),
        ("orders", str(m.orders)),
        ("fills (maker/taker)", f"{m.fills} ({m.maker_fills}/{m.taker_fills})"),
        ("fill ratio", _ratio(m.fill_ratio, percent=True)),
        ("win rate", _ratio(m.win_rate, percent=True)),
        ("exposure", _ratio(m.exposure, percent=True)),
        ("turnover", _ratio(m.turnover)),
        ("snapshots", str(m.snapshots)),
        *extra,
    ]
    width = max(len(name) for name, _ in rows)
    value_width = max(len(value) for _, value in rows)
    rule = "-" * (width + value_width + 3)
    lines = [title, rule]
    lines += [f"{name:<{width}}   {value:>{value_width}}" for name, value in rows]
    lines.append(rule)
    lines += [f"note: {note}" for note in notes(m)]
    return "\n".join(lines)


class CsvLog:
    """Writes ``fills.csv`` and ``orders.csv`` as the venue reports fills and finished orders.

    Fills come in the order they happened; an order is written when it finishes (filled or
    canceled), and the orders still open at the end by :meth:`finish`, oldest first.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._fills_file: IO[str] = open(self.directory / "fills.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._orders_file: IO[str] = open(self.directory / "orders.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
        self._fills = csv.writer(self._fills_file, lineterminator="\n")
        self._orders = csv.writer(self._orders_file, lineterminator="\n")
        self._fills.writerow(FILL_COLUMNS)
        self._orders.writerow(ORDER_COLUMNS)

    def on_fill(self, fill: Fill, side: Side) -> None:
        self._fills.writerow([
            fill.ts, fill.order_id, fill.seq, side.value, decimal_text(fill.price), decimal_text(fill.quantity),
            decimal_text(fill.notional), decimal_text(fill.fee), fill.liquidity.value,
        ])

    def on_order_closed(self, order: Order) -> None:
        self._write_order(order)

    def _write_order(self, order: Order) -> None:
        self._orders.writerow([
            order.created_ts, order.order_id, order.side.value, order.order_type.value, order.status.value,
            _money(order.price) or "", decimal_text(order.quantity), decimal_text(order.filled),
            _money(order.average_price) or "", decimal_text(order.fees), len(order.fills),
        ])

    def finish(self, open_orders: Sequence[Order]) -> None:
        """Write the orders still open (oldest first) and close the files."""
        for order in sorted(open_orders, key=lambda o: (o.created_ts, o.order_id)):
            self._write_order(order)
        self.close()

    def close(self) -> None:
        self._fills_file.close()
        self._orders_file.close()
