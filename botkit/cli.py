"""The ``botkit`` command. Each subcommand lives beside the part it drives and is added here."""

from __future__ import annotations

import click

from botkit import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="botkit")
def main() -> None:
    """Trading bots on the Buttercoin REST API v1: run, record, backtest, and a local sandbox exchange."""


def _register() -> None:
    from botkit.run_cli import journal, run, strategies

    main.add_command(run)
    main.add_command(strategies)
    main.add_command(journal)
    from botkit.status import status
    main.add_command(status)
    from botkit.sandbox.cli import sandbox_command
    main.add_command(sandbox_command)
    from botkit.backtest.cli import commands as backtest_commands
    for command in backtest_commands():
        main.add_command(command)


_register()
