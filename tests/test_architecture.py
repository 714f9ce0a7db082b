"""The layering docs/architecture.md writes down holds: no part imports a part of a lower layer
(late imports inside functions included), and no two parts import each other, however indirectly.
The table in the doc is the rule: moving a part means changing the doc, and this test with it."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

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


def _lazy_table(node: ast.AST) -> dict[str, str] | None:
    """A lazy facade's table, ``lazy_facade(__name__, {name: module})`` (:mod:`botkit.core.lazy`):
    each module in it is imported when its name is first asked for, so it counts as an import."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id.lstrip("_") == "lazy_facade"):
        return None
    table = node.args[1]
    assert isinstance(table, ast.Dict), "lazy_facade takes its table as a dict literal"
    return {ast.literal_eval(key): ast.literal_eval(value) for key, value in zip(table.keys, table.values, strict=True)
            if key is not None}


def _lazy_facades() -> dict[str, dict[str, str]]:
    """Package → its lazy facade's table, for every package that has one."""
    found = {}
    for module, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (table := _lazy_table(node)) is not None:
                found[module] = table
    return found


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
            if (table := _lazy_table(node)) is not None:
                targets = sorted(set(table.values()))
            elif isinstance(node, ast.Import):
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


def test_lazy_facades_give_each_name_from_the_module_their_table_names() -> None:
    """Each name a lazy facade lists is exported, and is the object its module defines, whichever
    way it is reached (attribute, ``from ... import``); an unknown name is still an AttributeError."""
    facades = _lazy_facades()
    assert {"botkit.backtest", "botkit.client", "botkit.journal"} <= set(facades)
    for package, table in facades.items():
        facade = importlib.import_module(package)
        for name, module in table.items():
            assert name in facade.__all__, f"{package}.{name} is lazy but not in __all__"
            assert name in dir(facade)
            assert getattr(facade, name) is getattr(importlib.import_module(module), name), f"{package}.{name}"
            namespace: dict[str, object] = {}
            exec(f"from {package} import {name}", namespace)
            assert namespace[name] is getattr(facade, name)
        with pytest.raises(AttributeError, match="no_such_name"):
            facade.no_such_name  # noqa: B018


def test_the_facades_load_nothing_heavy_for_their_light_modules() -> None:
    """Importing the runner, the PnL rule or the wire parser goes through the ``botkit.backtest``,
    ``botkit.journal`` and ``botkit.client`` facades: pandas, the optimiser, SQLAlchemy and requests
    stay out until a name that needs them is asked for."""
    code = ("import sys; import botkit.backtest.runner, botkit.journal.pnl, botkit.client.parse\n"
            "heavy = {'pandas', 'botkit.backtest.notebook', 'botkit.backtest.optimizer', 'sqlalchemy', 'requests'}\n"
            "loaded = heavy & set(sys.modules)\n"
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_each_lazy_table_names_what_its_type_checking_imports_import() -> None:
    """A facade's names are written twice, once for mypy (``if TYPE_CHECKING:`` imports) and once
    for the runtime (the table): they must say the same."""
    for package, table in _lazy_facades().items():
        path = _modules()[package]
        typed: dict[str, str] = {}
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                for statement in node.body:
                    if isinstance(statement, ast.ImportFrom) and statement.module:
                        typed.update({alias.name: statement.module for alias in statement.names})
        assert typed == table, package
