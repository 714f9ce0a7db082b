"""The ``botkit`` command: every subcommand is found, loads, and has help."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from botkit.cli import COMMANDS, SUMMARIES, main


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_help_lists_what_the_commands_themselves_say(width: int) -> None:
    """The listing from SUMMARIES is, to the character, the one click writes from the loaded commands."""
    assert set(SUMMARIES) == set(COMMANDS)
    ctx = click.Context(main, info_name="botkit")
    lazy, eager = click.HelpFormatter(width=width), click.HelpFormatter(width=width)
    main.format_commands(ctx, lazy)
    click.Group.format_commands(main, ctx, eager)
    assert lazy.getvalue() == eager.getvalue()


def test_help_imports_no_command() -> None:
    code = ("import sys; from botkit.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('botkit.cli.'))\n"
            "assert loaded == [], loaded")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, timeout=60)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_loads_and_has_help(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: botkit" in result.output or f"Usage: main {name}" in result.output


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["trade"])
    assert result.exit_code == 2
    assert "No such command" in result.output
