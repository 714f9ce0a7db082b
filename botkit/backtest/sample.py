"""The shipped sample recording: the sandbox's simulated market, recorded through the client.

``botkit backtest`` without ``--data`` replays :data:`SAMPLE` (a few thousand snapshots), so it
works out of the box. The file is made by :func:`record_sample` (``botkit data sandbox-sample``):
an in-process sandbox whose clock is stepped by hand, one market step and one snapshot each
``interval_ms`` of simulated time, fetched over HTTP with the real client exactly as
``botkit record`` does, so the sample is what a recording of the sandbox looks like, made in
seconds instead of an hour.
"""

from __future__ import annotations

import os
from pathlib import Path

SAMPLE = Path(__file__).parent / "data" / "sandbox-sample.jsonl.gz"
"""The shipped recording (gzip JSON Lines)."""


def record_sample(
    path: str | os.PathLike[str],
    snapshots: int = 3600,
    *,
    seed: int = 1,
    interval_ms: int = 1000,
    start_ts: int = 1_700_000_000_000,
) -> Path:
    """Record ``snapshots`` snapshots of a seeded sandbox market to ``path`` (any suffix)."""
    from botkit.client import Buttercoin, ButtercoinClient
    from botkit.data.files import convert, file_format
    from botkit.data.jsonl import JsonlWriter
    from botkit.sandbox import Sandbox
    from botkit.venues.buttercoin import ButtercoinMarketData

    out = Path(path)
    target = out if file_format(out) == "jsonl" else out.with_name(out.name + ".partial.jsonl")
    now = [start_ts]
    sandbox = Sandbox(market="sim", seed=seed, market_interval=0, rate_limit=0, clock=lambda: now[0])
    base_url = sandbox.start()
    try:
        client = ButtercoinClient(api_key="", api_secret="", base_url=base_url)
        market = ButtercoinMarketData(Buttercoin(client))
        assert sandbox.market is not None
        with JsonlWriter(target, flush=False) as writer:
            for _ in range(snapshots):
                now[0] += interval_ms
                sandbox.market.step()
                market.fetch(now[0])
                raw = market.last_raw
                assert raw is not None
                trades = raw.get("trades")
                writer.write_wire(raw["ts"], raw["ticker"], raw["orderbook"],  # type: ignore[arg-type]
                                  trades if isinstance(trades, list) else None)
        client.close()
    finally:
        sandbox.stop()
    if target != out:
        convert(target, out)
        target.unlink()
    return out
