"""Running botkit's commands in-process for the backtest tests (one helper, not a copy a file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from botkit.cli import main

SHIPPED = Path(__file__).resolve().parents[2] / "strategies"
"""The strategies shipped in the checkout's strategies/ folder."""


def invoke(*args: str) -> tuple[int, str, str]:
    """``botkit ARGS...``: exit code, stdout, stderr."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def botkit_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``botkit ARGS...`` in its own process (a daemon: ``botkit run``), in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "botkit", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False)


def paper_config(folder: Path) -> Path:
    """``folder/botkit.toml``: a fast paper session of the market maker on the embedded sandbox, its
    journal and sandbox state in ``folder``; the fees and balances ``botkit backtest`` is given to
    replay it."""
    config = folder / "botkit.toml"
    config.write_text(f"""
strategy_paths = []
[journal]
url = "sqlite:///{folder / 'journal.sqlite'}"
[engine]
interval_seconds = 0.2
[sandbox]
state_path = "{folder / 'sandbox.sqlite'}"
seed = 4
usd = 100000
btc = 10
[paper]
maker_fee_bps = 10
taker_fee_bps = 20
[strategies.market_maker]
spread_bps = 4
size = 0.05
""")
    return config
