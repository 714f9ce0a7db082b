"""One botkit backtest in this process (botkit's interpreter): prints one JSON line of figures.

    python benchmarks/peers/botkit_child.py STRATEGY FILE

``seconds`` is ``run_backtest`` alone (imports and config loading excluded), as nautilus_trader's
``run_seconds`` is ``engine.run()`` alone; the parent times the whole process.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from decimal import Decimal
from pathlib import Path

from peak_memory import peak_rss_mb

STRATEGIES = Path(__file__).resolve().parent / "botkit_strategies"
INITIAL = {"USD": Decimal(100_000), "BTC": Decimal(2)}


def run(strategy: str, data: Path) -> dict[str, object]:
    from botkit.backtest.runner import run_backtest
    from botkit.backtest.settings import BacktestSettings
    from botkit.config import load

    logging.getLogger("botkit").setLevel(logging.ERROR)
    settings = BacktestSettings(
        data=data,
        initial=INITIAL,
        maker_fee_bps=Decimal(1),
        taker_fee_bps=Decimal(5),
        strategies=(strategy,),
        strategy_paths=(STRATEGIES,),
    )
    config = load(None)
    started = time.perf_counter()
    result = run_backtest(config, settings)
    seconds = time.perf_counter() - started
    metrics = result.metrics
    return {"snapshots": metrics.snapshots, "run_seconds": seconds, "orders": metrics.orders,
            "fills": metrics.fills, "rss_mb": peak_rss_mb(), "check": _notional(strategy)}


def _notional(strategy: str) -> str | None:
    """What the read-every-level strategy summed (botkit imports it under a private module name)."""
    for name, module in list(sys.modules.items()):
        if name.startswith("botkit_strategy_") and name.endswith(f"_{strategy}") and hasattr(module, "NOTIONAL"):
            return str(module.NOTIONAL[0])
    return None


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], Path(sys.argv[2]))))
