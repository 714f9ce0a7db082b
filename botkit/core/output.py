"""Rows out to the terminal: an aligned table for people, JSON or CSV (exact) for programs.

**Money shown to people** goes through :func:`money`, one rule everywhere (tables, the tick and
shutdown lines, ``botkit status``, fill logs): an amount is rounded half-even to its currency's
smallest unit (:data:`botkit.core.money.UNIT_STEPS`) and shown with exactly that many places, USD to
the cent (``0.01``), BTC to the satoshi (``0.00000001``); prices are USD per BTC, so cents too.
JSON and CSV carry the exact values. **Times** shown to people are ISO 8601 UTC
(``2026-12-07T11:09:28.123Z``, :func:`botkit.core.times.iso_ms`); epoch milliseconds appear only in
JSON and CSV, next to the ISO time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from botkit.core import jsonutil
from botkit.core.money import UNIT_STEPS


def money(value: Decimal | None, currency: str) -> str:
    """``value`` for people: rounded half-even to the currency's unit, with all its places
    (``-4.59``, ``0.05000000``); ``-`` for an unknown value. An unknown currency is shown to the
    cent."""
    if value is None:
        return "-"
    if not value.is_finite():
        return str(value)
    shown = value.quantize(UNIT_STEPS.get(currency, UNIT_STEPS["USD"]), rounding=ROUND_HALF_EVEN)
    return f"{shown + 0:f}"  # + 0: -0.00 shows as 0.00


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return jsonutil.decimal_text(value)
    return str(value)


def render(rows: Sequence[Mapping[str, Any]], fmt: str, columns: Sequence[str] | None = None, *,
           units: Mapping[str, str] | None = None, machine_only: Collection[str] = ()) -> str:
    """Render rows (dicts with the same keys) as ``table``, ``json`` or ``csv`` text.

    In a table, the ``units`` columns (column → currency) go through :func:`money` and the
    ``machine_only`` columns (epoch milliseconds) are left out."""
    cols = list(columns or (rows[0].keys() if rows else []))
    if fmt == "table":
        cols = [c for c in cols if c not in machine_only]
        rows = [{c: (money(v, units[c]) if units and c in units and isinstance(v, Decimal) else v)
                 for c, v in row.items()} for row in rows]
    if fmt == "json":
        return jsonutil.dumps([{c: row.get(c) for c in cols} for row in rows])
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(cols)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in cols])
        return buffer.getvalue().rstrip("\n")
    if not rows:
        return "(none)"
    cells = [[_cell(row.get(c)) for c in cols] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)
