"""A seeded synthetic market, for tests, benchmarks and trying strategies without a recording.

The mid price is a random walk in whole cents (σ $1.50 a step: about 1.5% a day at
$30,000 with one-second snapshots) with occasional regime changes of its drift (so
trend followers have trends to find and market makers have swings to earn on); each snapshot
has a spread of 1-6 cents and ``levels`` levels a side, 1-5 cents apart, with random quantities;
between two snapshots a Poisson number of trades print at the best price of the side they hit,
and each snapshot carries the newest ``trades`` of them (as ``GET /v1/trades`` would).

Everything is integer arithmetic in numpy, written straight into the fast store, so a million
snapshots take seconds; a JSON Lines target is produced by converting that store. The same seed
and arguments give the same file, byte for byte.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from botkit.data.store import TRADE_DTYPE, StoreWriter, record_dtype

BLOCK = 65536
START_TS = 1_700_000_000_000


def _block(
    rng: np.random.Generator,
    n: int,
    levels: int,
    state: dict[str, Any],
    *,
    interval_ms: int,
    trades_kept: int,
    trade_rate: float,
) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    dtype = record_dtype(levels)
    rec = np.zeros(n, dtype=dtype)
    # Drift regimes: every ~2000 snapshots the drift changes sign and size.
    regime = rng.random(n) < 1 / 2000
    drift = np.empty(n)
    current = state["drift"]
    changes = np.flatnonzero(regime)
    start = 0
    for index in [*changes.tolist(), n]:
        drift[start:index] = current
        if index < n:
            current = float(rng.normal(0.0, 6.0))
        start = index
    state["drift"] = current
    steps = np.rint(rng.normal(drift, 150.0, n)).astype(np.int64)
    mid = state["mid"] + np.cumsum(steps)
    mid = np.maximum(mid, 1000)  # never below $10.00
    state["mid"] = int(mid[-1])
    half = rng.integers(1, 4, n)
    best_bid = mid - half
    best_ask = mid + rng.integers(1, 4, n)
    gaps_b = rng.integers(1, 6, (n, levels))
    gaps_a = rng.integers(1, 6, (n, levels))
    gaps_b[:, 0] = 0
    gaps_a[:, 0] = 0
    bid_px = best_bid[:, None] - np.cumsum(gaps_b, axis=1)
    ask_px = best_ask[:, None] + np.cumsum(gaps_a, axis=1)
    bid_px = np.maximum(bid_px, 1)
    rec["bid_px"] = bid_px
    rec["ask_px"] = ask_px
    rec["bid_qty"] = rng.integers(100_000, 200_000_000, (n, levels))
    rec["ask_qty"] = rng.integers(100_000, 200_000_000, (n, levels))
    # A bid side that ran into the one-cent floor would repeat prices: keep only strictly falling levels.
    nbid = np.full(n, levels, dtype=np.int32)
    floor_rows = np.flatnonzero(bid_px[:, -1] <= 1)
    for row in floor_rows.tolist():
        distinct = int(np.count_nonzero(bid_px[row] > 1)) + 1
        nbid[row] = min(levels, distinct)
        rec["bid_px"][row, nbid[row]:] = 0
        rec["bid_qty"][row, nbid[row]:] = 0
    rec["nbid"] = nbid
    rec["nask"] = levels
    ts = state["ts"] + interval_ms * np.arange(1, n + 1, dtype=np.int64)
    state["ts"] = int(ts[-1])
    rec["ts"] = ts
    rec["bid"] = best_bid
    rec["ask"] = best_ask
    # Trades between the previous snapshot and this one.
    counts = rng.poisson(trade_rate, n) if trades_kept else np.zeros(n, dtype=np.int64)
    total = int(counts.sum())
    owner = np.repeat(np.arange(n), counts)
    trades = np.zeros(total, dtype=TRADE_DTYPE)
    if total:
        sell = rng.random(total) < 0.5
        price = np.where(sell, best_bid[owner], best_ask[owner])
        qty = rng.integers(100_000, 50_000_000, total)
        offset = rng.integers(0, interval_ms, total)
        offset = offset[np.lexsort((offset, owner))]  # time order within each interval
        trades["ts"] = ts[owner] - interval_ms + 1 + offset
        trades["btc"] = qty
        trades["usd"] = price * qty  # cents x satoshis = 1e-10 USD, exact
        trades["sell"] = sell.astype(np.int64)
    ends = state["trades"] + np.cumsum(counts)
    rec["trade_end"] = ends
    rec["ntrades"] = np.minimum(ends, trades_kept)
    rec["flags"] = 1 if trades_kept else 0
    # The ticker's last: the newest trade so far (carried over snapshots without trades).
    newest = np.cumsum(counts) - 1
    fallback = state["last"] if state["last"] > 0 else mid
    if total:
        trade_prices = trades["usd"] // trades["btc"]
        lasts = np.where(newest >= 0, trade_prices[np.maximum(newest, 0)], fallback)
    else:
        lasts = np.broadcast_to(fallback, (n,)).astype(np.int64)
    rec["last"] = lasts
    state["last"] = int(lasts[-1])
    state["trades"] = int(ends[-1]) if n else state["trades"]
    return rec, trades


def generate(
    path: str | os.PathLike[str],
    snapshots: int,
    *,
    levels: int = 20,
    seed: int = 1,
    interval_ms: int = 1000,
    start_price_cents: int = 3_000_000,
    trades_kept: int = 10,
    trade_rate: float = 0.8,
    start_ts: int = START_TS,
) -> Path:
    """Write ``snapshots`` synthetic snapshots to ``path`` (``.bks`` directly, else converted).

    ``trades_kept`` is the length of each snapshot's trades list (0: no ``trades`` key) and
    ``trade_rate`` the mean number of new prints between two snapshots.
    """
    from botkit.data.files import convert, file_format

    out = Path(path)
    if file_format(out) != "store":
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            store = Path(tmp) / "generated.bks"
            generate(store, snapshots, levels=levels, seed=seed, interval_ms=interval_ms,
                     start_price_cents=start_price_cents, trades_kept=trades_kept, trade_rate=trade_rate,
                     start_ts=start_ts)
            convert(store, out)
        return out
    rng = np.random.default_rng(seed)
    state: dict[str, Any] = {"mid": start_price_cents, "ts": start_ts - interval_ms, "drift": 0.0,
                             "trades": 0, "last": 0}
    with StoreWriter(out, levels=levels) as writer:
        left = snapshots
        while left:
            n = min(BLOCK, left)
            rec, trades = _block(rng, n, levels, state, interval_ms=interval_ms, trades_kept=trades_kept,
                                 trade_rate=trade_rate)
            writer.add_block(rec, trades)
            left -= n
    return out
