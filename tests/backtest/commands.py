"""Running botkit's commands in-process for the backtest tests (one helper, not a copy a file)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from botkit.cli import main

SHIPPED = Path(__file__).resolve().parents[2] / "strategies"
"""The strategies shipped in the checkout's strategies/ folder."""


def invoke(*args: str) -> tuple[int, str, str]:
    """``botkit ARGS...``: exit code, stdout, stderr."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr
