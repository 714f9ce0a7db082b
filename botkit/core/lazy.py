"""Package facades that load a name's module when the name is first asked for (PEP 562).

A facade such as ``botkit.backtest`` re-exports names from modules that pull in heavy libraries
(pandas for the notebook API, SQLAlchemy and Alembic for the journal, requests for the client).
Importing one of its submodules runs the package's ``__init__`` first, so an eager facade would
make ``botkit backtest`` pay for all of them before its first tick. A lazy facade keeps every
name importable where it was (``from botkit.backtest import run``) and loads only what is used.

A facade lists its names as ``lazy_facade(__name__, {name: module})``; ``tests/test_architecture.py``
reads that table as imports, so the layering rules hold for it as for any ``import`` statement.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_facade(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, a facade of ``names`` (name → the module
    defining it). A name loaded once is stored on the package: later reads are plain attributes."""
    table = dict(names)

    def load(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def listing() -> list[str]:
        return sorted({*vars(sys.modules[package]), *table})

    return load, listing
