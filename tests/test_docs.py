"""Every hook is documented with its exact signature and has its own test (as datasette does)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from botkit.strategy import hookspecs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = sorted(name for name in dir(hookspecs) if name.startswith("botkit_"))


def _signature(name: str) -> str:
    sig = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(f"{p.name}: {p.annotation}" for p in sig.parameters.values())
    return f"{name}({params}) -> {sig.return_annotation}"


def test_there_are_hooks() -> None:
    assert "botkit_on_snapshot" in HOOKS
    assert len(HOOKS) >= 6


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented_with_its_exact_signature(hook: str) -> None:
    docs = (ROOT / "docs" / "strategies.md").read_text()
    assert f"\n### {hook}\n" in docs, f"docs/strategies.md has no section for {hook}"
    section = docs.split(f"\n### {hook}\n", 1)[1].split("\n### ", 1)[0]
    assert _signature(hook) in section, f"signature of {hook} in the docs is not {_signature(hook)}"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_docstring_saying_whether_it_is_firstresult(hook: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    assert "firstresult" in doc


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_its_own_test(hook: str) -> None:
    pattern = re.compile(rf"def test_hook_{hook}\w*\(")
    assert any(pattern.search(p.read_text()) for p in (ROOT / "tests").rglob("test_*.py")), \
        f"no test named test_hook_{hook}... in tests/"


ENGINE_ONLY = {"refresh", "attach", "trade", "create"}
"""StrategyContext methods the engine calls, not strategies."""


def test_every_ctx_attribute_is_documented() -> None:
    import dataclasses

    from botkit.strategy.context import StrategyContext

    docs = (ROOT / "docs" / "strategies.md").read_text()
    names = {f.name for f in dataclasses.fields(StrategyContext)}
    names |= {name for name in vars(StrategyContext) if not name.startswith("_") and callable(
        getattr(StrategyContext, name))} - ENGINE_ONLY
    missing = sorted(name for name in names if f"`ctx.{name}" not in docs)
    assert not missing, f"docs/strategies.md does not document ctx.{', ctx.'.join(missing)}"


def test_every_bar_field_is_documented() -> None:
    import dataclasses

    from botkit.strategy.bars import Bar

    docs = (ROOT / "docs" / "strategies.md").read_text()
    missing = sorted(f.name for f in dataclasses.fields(Bar) if f"`bar.{f.name}`" not in docs)
    assert not missing, f"docs/strategies.md does not document bar.{', bar.'.join(missing)}"
