"""The ``botkit`` command. Each subcommand lives beside the part it drives and is imported only
when it is used: ``botkit journal`` need not load the backtester's numpy, nor ``botkit sandbox``
the journal's SQLAlchemy (click's lazy-group pattern)."""

from __future__ import annotations

import importlib

import click

from botkit import __version__

COMMANDS: dict[str, str] = {
    "run": "botkit.cli.run:run",
    "strategies": "botkit.cli.strategies:strategies",
    "journal": "botkit.cli.journal:journal",
    "status": "botkit.cli.status:status",
    "sandbox": "botkit.cli.sandbox:sandbox_command",
    "backtest": "botkit.cli.backtest:backtest",
    "record": "botkit.cli.record:record",
    "data": "botkit.cli.data:data",
    "new-strategy": "botkit.cli.scaffold:new_strategy_command",
    "new-config": "botkit.cli.scaffold:new_config_command",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        module_name, attribute = COMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{COMMANDS[cmd_name]} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="botkit")
def main() -> None:
    """Trading bots on the Buttercoin REST API v1: run, record, backtest, and a local sandbox exchange."""
