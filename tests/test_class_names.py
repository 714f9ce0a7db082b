"""No two classes in botkit share a name: one name, one thing (issue 12).

Two ``OrderBook`` classes (the public snapshot type and the sandbox's matching book), two
``Metrics`` (Prometheus and the backtest's statistics), two ``Response``, two ``Exchange`` and two
``OrderRecord`` (the journal's and the sandbox's) once made a reader check the import to know
which was meant.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import botkit


def test_every_class_name_in_botkit_is_used_once() -> None:
    root = Path(botkit.__file__).parent
    where: dict[str, list[str]] = defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                where[node.name].append(str(path.relative_to(root.parent)))
    shared = {name: files for name, files in where.items() if len(files) > 1}
    assert not shared, f"class names defined more than once (rename one of each): {shared}"
