"""The layering docs/architecture.md writes down holds: no part imports a part of a lower layer
(late imports inside functions included), and no two parts import each other, however indirectly.
The table in the doc is the rule: moving a part means changing the doc, and this test with it."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import botkit

ROOT = Path(botkit.__file__).parent
DOC = ROOT.parent / "docs" / "architecture.md"


def _layers() -> dict[str, int]:
    """Part name → layer, from the doc's table rows ``| N | `a`, `b` | ... |``."""
    layers: dict[str, int] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        row = re.match(r"\|\s*(\d+)\s*\|([^|]*)\|", line)
        if row:
            for name in re.findall(r"`([^`]+)`", row.group(2)):
                layers[name] = int(row.group(1))
    return layers


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = ("botkit", *path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


LAZY_FACADE = {("botkit", "botkit.backtest.optimizer.api")}
"""Imports docs/architecture.md allows against the layering: ``botkit.optimize`` (a notebook's
entry point) loads the optimiser only when it is asked for, from inside ``botkit.__getattr__``."""


def _part(module: str) -> str:
    """The part a module belongs to: its subpackage or root module (``botkit.journal.queries`` →
    ``journal``); the package itself is ``botkit``."""
    names = module.split(".")
    return names[1] if len(names) > 1 else "botkit"


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the botkit modules it imports anywhere in its body."""
    found: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                # `from botkit.x import y`: y may be a submodule or a name defined in botkit.x
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                           for alias in node.names]
            targets = [name for name in targets if (module, name) not in LAZY_FACADE]
            for name in targets:
                target = name
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith("botkit") and target != module:
                    found[module].add(target)
    return found


def test_every_part_is_in_the_table() -> None:
    layers = _layers()
    parts = {_part(m) for m in _modules()}
    assert parts <= set(layers), f"parts missing from docs/architecture.md's table: {sorted(parts - set(layers))}"


def test_no_part_imports_a_lower_layer() -> None:
    layers = _layers()
    wrong = []
    for module, targets in _imports(_modules()).items():
        for target in targets:
            here, there = _part(module), _part(target)
            if here != there and layers[there] > layers[here]:
                wrong.append(f"{module} (layer {layers[here]}) imports {target} (layer {layers[there]})")
    assert not wrong, "imports against docs/architecture.md's layering:\n" + "\n".join(sorted(wrong))


def test_no_two_parts_import_each_other() -> None:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in _imports(_modules()).items():
        for target in targets:
            if _part(module) != _part(target):
                edges[_part(module)].add(_part(target))

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            if node == goal:
                return True
            if node not in seen:
                seen.add(node)
                todo.extend(edges[node])
        return False

    cycles = sorted({tuple(sorted((a, b))) for a in list(edges) for b in edges[a] if reaches(b, a)})
    assert not cycles, f"parts that import each other: {cycles}"
