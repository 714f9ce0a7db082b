"""docs/strategies.md's tutorial works as written: each ``$`` command of its console blocks runs,
in order, in an empty folder, and succeeds; then the testing kit's examples run as tests there."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from botkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "strategies.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return DOC.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


TUTORIAL = _section("From `botkit new-strategy` to a backtest report in ten minutes")
COMMANDS = [line[2:] for block in re.findall(r"```console\n(.*?)```", TUTORIAL, re.S)
            for line in block.splitlines() if line.startswith("$ ")]


def _run(command: str, cwd: Path) -> tuple[int, str]:
    words = shlex.split(command)
    if words[0] == "pytest":
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *words[1:]],
                              cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
        return done.returncode, done.stdout + done.stderr
    assert words[0] == "botkit", f"the tutorial runs only botkit and pytest, not {command!r}"
    here = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, words[1:], catch_exceptions=False)
    finally:
        os.chdir(here)
    return result.exit_code, result.stdout + result.stderr


def test_the_tutorial_lists_the_steps() -> None:
    assert [c.split()[:2] for c in COMMANDS] == [
        ["botkit", "new-strategy"], ["pytest", "strategies/test_mybot.py"], ["botkit", "backtest"],
        ["botkit", "backtest"], ["botkit", "new-config"], ["botkit", "backtest"]]


@pytest.mark.slow
def test_every_tutorial_command_works_as_written_and_the_testing_examples_pass(tmp_path: Path) -> None:
    for command in COMMANDS:
        code, output = _run(command, tmp_path)
        assert code == 0, f"{command}: {output}"
    assert json.loads((tmp_path / "reports" / "mybot" / "report.json").read_text())["run"]["strategies"]["mybot"]
    assert (tmp_path / "reports" / "mybot-sweep" / "sweep.csv").read_text().count("\n") == 6  # header + 5 points
    configured = json.loads((tmp_path / "reports" / "configured" / "report.json").read_text())
    assert list(configured["run"]["strategies"]) == ["mybot"]

    examples = re.findall(r"```python\n(.*?)```", _section("Testing a strategy"), re.S)
    assert len(examples) == 2
    (tmp_path / "test_examples.py").write_text(examples[0] + "\n\nimport botkit\nfrom botkit.testing import mids\n\n\n"
                                               + examples[1])
    code, output = _run("pytest test_examples.py", tmp_path)
    assert code == 0 and "2 passed" in output, output
