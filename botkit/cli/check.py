"""``botkit check``: a strategy's restarts, look-ahead and determinism on a data file."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from botkit.cli.options import config_option, fail_cleanly, load_config

COLUMNS = ("check", "tick", "time", "ts", "context", "expected", "got")
SHOWN = 20
"""Findings of each check a table lists (JSON lists them all)."""


@click.command()
@click.argument("name")
@click.option("--data", required=True, type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="A snapshot file (a recording, or botkit data generate/import's).")
@config_option
@click.option("--strategy-path", "strategy_paths", multiple=True, type=click.Path(path_type=Path, file_okay=False),
              help="Another folder of strategy files (repeatable).")
@click.option("--seed", type=int, default=0, show_default=True, help="Draws the restart and cut ticks.")
@click.option("--restarts", type=click.IntRange(1), default=3, show_default=True,
              help="How many restarts, and how many truncated copies.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@fail_cleanly
def check(name: str, data: Path, config_path: Path | None, strategy_paths: tuple[Path, ...], seed: int,
          restarts: int, fmt: str) -> None:
    """Check strategy NAME on --data: restarts (state kept outside ctx), look-ahead (decisions
    that change when later data is cut off) and determinism (two runs, the same decisions).

    Exit 0 when clean, 1 with findings, 2 for bad input."""
    from botkit.backtest.checks import CHECKS, CheckInputError, check_strategy
    from botkit.core import jsonutil
    from botkit.core.errors import DataFileError
    from botkit.core.output import render

    cfg = load_config(config_path)
    try:
        report = check_strategy(cfg, name, data, strategy_paths=strategy_paths, seed=seed, restarts=restarts)
    except (CheckInputError, DataFileError) as exc:
        click.echo(f"botkit: {exc}", err=True)
        sys.exit(2)
    counts = report.counts()
    if fmt == "json":
        click.echo(jsonutil.dumps({"strategy": report.strategy, "snapshots": report.snapshots,
                                   "restarts": list(report.restarts), "cuts": list(report.cuts), "findings": counts,
                                   "details": [f.row() for f in report.findings]}))
    else:
        for check_name in CHECKS:
            found = [f.row() for f in report.findings if f.check == check_name]
            if found:
                click.echo(render(found[:SHOWN], "table", COLUMNS, machine_only=("ts",)))
                if len(found) > SHOWN:
                    click.echo(f"... and {len(found) - SHOWN} more {check_name} findings (--format json lists all)")
                click.echo()
        verdicts = ", ".join(f"{c}: {'clean' if not counts[c] else str(counts[c]) + ' tick(s) differ'}"
                             for c in CHECKS)
        click.echo(f"{report.strategy} on {data.name} ({report.snapshots} snapshots; restarts before ticks "
                   f"{', '.join(map(str, report.restarts))}; cuts after {', '.join(str(c - 1) for c in report.cuts)}): "
                   f"{verdicts}")
    sys.exit(1 if report.findings else 0)
