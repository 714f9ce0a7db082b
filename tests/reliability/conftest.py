"""Shared parts of the reliability suite: the scale knob and the figures each scenario records.

``BOTKIT_RELIABILITY_SCALE`` multiplies the sizes (kills, placements, ticks); CI runs scale 1,
which keeps the suite within a few minutes; ``benchmarks/`` and a larger scale run the issue's
full sizes. Each scenario records its figures (runs, faults injected, orders placed, duplicates,
orphans, mismatches) in ``.reliability/figures.json`` at the repository root, and they are printed
at the end of the session.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIGURES_DIR = ROOT / ".reliability"
FIGURES_FILE = FIGURES_DIR / "figures.json"
_lock = threading.Lock()


def scale() -> float:
    """How much bigger than the CI size to run (``BOTKIT_RELIABILITY_SCALE``, default 1)."""
    try:
        return max(0.1, float(os.environ.get("BOTKIT_RELIABILITY_SCALE", "1")))
    except ValueError:
        return 1.0


def scaled(n: int) -> int:
    return max(1, round(n * scale()))


class Figures:
    """Figures of one scenario, merged into the shared JSON file when the test ends."""

    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.values: dict[str, Any] = {}

    def __setitem__(self, key: str, value: Any) -> None:
        self.values[key] = value

    def add(self, key: str, amount: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + amount

    def save(self) -> None:
        if not self.values:
            return
        with _lock:
            FIGURES_DIR.mkdir(exist_ok=True)
            data = json.loads(FIGURES_FILE.read_text()) if FIGURES_FILE.exists() else {}
            data[self.scenario] = self.values
            FIGURES_FILE.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Iterator[Figures]:
    """Record figures under the test's name (``figures["orders_placed"] = n``)."""
    fig = Figures(request.node.name)
    yield fig
    fig.save()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES_FILE.exists():
        terminalreporter.write_sep("-", "reliability figures (.reliability/figures.json)")
        for scenario, values in sorted(json.loads(FIGURES_FILE.read_text()).items()):
            shown = ", ".join(f"{k}={v}" for k, v in sorted(values.items()))
            terminalreporter.write_line(f"{scenario}: {shown}")
