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
    "optimize": "botkit.cli.optimize:optimize",
    "compare": "botkit.cli.compare:compare",
    "check": "botkit.cli.check:check",
    "record": "botkit.cli.record:record",
    "data": "botkit.cli.data:data",
    "new-strategy": "botkit.cli.scaffold:new_strategy_command",
    "new-config": "botkit.cli.scaffold:new_config_command",
    "web": "botkit.cli.web:web",
}


SUMMARIES: dict[str, str] = {
    "run": "Run the bot as a daemon until SIGINT/SIGTERM (or --duration).",
    "strategies": "List the strategies botkit can find, with their source, parameters and description.",
    "journal": "Show the journal's orders, fills or PnL, or apply pending schema migrations (upgrade).",
    "status": "Show every bot in the journal: running, degraded, stale, stopped or crashed; last tick, position, "
              "open orders, today's PnL, each strategy (active or paused, and why), the kill switch, last error.",
    "sandbox": "Run the local Buttercoin-compatible exchange (REST API v1).",
    "backtest": "Replay recorded snapshots through strategies with the live engine and a simulated venue.",
    "optimize": "Search a strategy's typed parameters with optuna, each trial a real backtest.",
    "compare": "List where a run and the replay of its recording diverge, order by order and fill by fill.",
    "check": "Check strategy NAME on --data: restarts (state kept outside ctx), look-ahead (decisions that change "
             "when later data is cut off) and determinism (two runs, the same decisions).",
    "record": "Record market snapshots from the configured exchange (the embedded sandbox by default), or from any "
              "exchange ccxt speaks (``--source ccxt:EXCHANGE:SYMBOL``: docs/data.md).",
    "data": "Snapshot files: import, convert, generate, check.",
    "new-strategy": "Write a new strategy NAME.py and its passing test test_NAME.py, ready to backtest.",
    "new-config": "Write a commented botkit.toml: every config key at its default, the strategies enabled.",
    "web": "Serve the web dashboard and control API of every bot in the journal, until SIGINT/SIGTERM.",
}
"""Each command's first docstring paragraph, what ``botkit --help`` lists: without it the listing
would import every command's module (the whole of botkit, a second). ``tests/cli/test_cli.py``
holds it to the commands' own help."""


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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The listing :class:`click.Group` writes, from :data:`SUMMARIES` instead of the commands."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names))
        rows = []
        for name in names:  # a stand-in with the command's help shortens it as the command would
            command = click.Command(name, help=SUMMARIES[name]) if name in SUMMARIES else self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="botkit")
def main() -> None:
    """Trading bots on the Buttercoin REST API v1: run, record, backtest, and a local sandbox exchange."""
