"""A seeded Monte Carlo of the out-of-sample trades: how much of the result was the order luck
happened to put them in.

Two resamplings, each ``runs`` times from one ``numpy`` generator seeded with ``seed``:

* **fills**: each out-of-sample fill's net PnL (realized under average cost, less its fee),
  drawn with replacement as many times as there were fills, added up in the drawn order from the
  start equity. The open position's PnL is left out: it is one mark, not a trade.
* **bar returns**: a circular block bootstrap of the bars' simple returns of equity (blocks of
  ``⌈n^(1/3)⌉`` bars, so runs of calm and of swings stay together), compounded from the start equity.

Each gives percentiles (5, 25, 50, 75, 95) of the final equity and of the maximum drawdown
(fraction of the running peak). These are statistics of a simulation, computed in float and
rounded to cents: the exact figures are the backtest's own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

PERCENTILES = (5, 25, 50, 75, 95)
DEFAULT_RUNS = 1000


def _drawdowns(paths: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    peaks = np.maximum.accumulate(paths, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        falls = np.where(peaks > 0, (peaks - paths) / peaks, 0.0)
    result: npt.NDArray[np.float64] = falls.max(axis=1)
    return result


def _summary(finals: npt.NDArray[np.float64], drawdowns: npt.NDArray[np.float64]) -> dict[str, Any]:
    return {
        "final_equity": {f"p{p}": round(float(np.percentile(finals, p)), 2) for p in PERCENTILES},
        "max_drawdown": {f"p{p}": round(float(np.percentile(drawdowns, p)), 6) for p in PERCENTILES},
    }


def monte_carlo(fill_pnl: Sequence[Decimal], bar_returns: Sequence[float], start_equity: Decimal, *,
                seed: int, runs: int = DEFAULT_RUNS) -> dict[str, Any]:
    """Both resamplings' percentiles (None for one without samples), with what they were drawn from."""
    rng = np.random.default_rng(seed)
    start = float(start_equity)
    out: dict[str, Any] = {"seed": seed, "runs": runs, "start_equity": str(start_equity)}
    if fill_pnl:
        pnl = np.array([float(p) for p in fill_pnl])
        draws = pnl[rng.integers(0, len(pnl), size=(runs, len(pnl)))]
        paths = start + np.cumsum(draws, axis=1)
        paths = np.concatenate([np.full((runs, 1), start), paths], axis=1)
        out["fills"] = {"samples": len(pnl), **_summary(paths[:, -1], _drawdowns(paths))}
    else:
        out["fills"] = None
    if bar_returns:
        returns = np.array(bar_returns, dtype=np.float64)
        n = len(returns)
        block = max(1, math.ceil(n ** (1 / 3)))
        blocks = math.ceil(n / block)
        starts = rng.integers(0, n, size=(runs, blocks))
        index = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(runs, -1)[:, :n] % n
        growth = np.cumprod(1.0 + returns[index], axis=1)
        paths = np.concatenate([np.full((runs, 1), start), start * growth], axis=1)
        out["bar_returns"] = {"samples": n, "block": block, **_summary(paths[:, -1], _drawdowns(paths))}
    else:
        out["bar_returns"] = None
    return out
