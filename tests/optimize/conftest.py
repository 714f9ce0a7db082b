"""A small generated market and the typed test strategy, shared by the optimiser's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from botkit.data.generate import generate

STRATEGIES = Path(__file__).resolve().parent / "strategies"
SNAPSHOTS = 1200
"""20 minutes of one-second snapshots: enough for a few trades a trial, fast enough for tests."""


@pytest.fixture(scope="session")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("optimize") / "market.bks", SNAPSHOTS, levels=4, seed=5)


def optimize_args(market: Path, *extra: str, trials: int = 4) -> list[str]:
    return ["optimize", "--data", str(market), "--strategy", "tuned", "--strategy-path", str(STRATEGIES),
            "--trials", str(trials), "--workers", "1", "--no-progress", *extra]
