"""botkit's pytest plugin (entry point ``pytest11``): the ``botkit_run`` fixture.

Installed with botkit, so a strategy's tests need no conftest: ask for ``botkit_run`` and call it
as :func:`botkit.testing.run_strategy`, with the crafting helpers of :mod:`botkit.testing`. The kit
is imported when the fixture is first used, so that every pytest session of a machine with botkit
installed does not pay for loading the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from botkit.testing import StrategyRun


@pytest.fixture
def botkit_run() -> Callable[..., StrategyRun]:
    """:func:`botkit.testing.run_strategy`: run a strategy on crafted snapshots, in memory."""
    from botkit.testing import run_strategy

    return run_strategy
