"""The ``botkit`` command: every subcommand is found, loads, and has help."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from botkit.cli import COMMANDS, main


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_loads_and_has_help(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: botkit" in result.output or f"Usage: main {name}" in result.output


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["trade"])
    assert result.exit_code == 2
    assert "No such command" in result.output
