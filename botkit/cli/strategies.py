"""``botkit strategies``: what strategies botkit can find, with their parameters."""

from __future__ import annotations

from pathlib import Path

import click

from botkit.cli.options import config_option, fail_cleanly, load_config


@click.command()
@config_option
@click.option("--strategy-path", "strategy_paths", multiple=True, type=click.Path(path_type=Path, file_okay=False))
@fail_cleanly
def strategies(config_path: Path | None, strategy_paths: tuple[Path, ...]) -> None:
    """List the strategies botkit can find, with their source, parameters and description."""
    from botkit.strategy.plugins import discover

    cfg = load_config(config_path)
    found = discover([*cfg.strategy_paths, *strategy_paths])
    enabled = cfg.enabled_strategies()
    if not found:
        click.echo("no strategies found")
    for name, spec in sorted(found.items()):
        mark = "enabled" if name in enabled else "available"
        click.echo(f"{name}  ({mark})\n  source: {spec.source}")
        if spec.defaults:
            # A typed parameter shows what the config may set it to (botkit.param's range or choices).
            params = ", ".join(f"{k}={v}" + (f" ({spec.declared[k].allowed()})" if k in spec.declared
                                              and spec.declared[k].typed else "")
                               for k, v in spec.defaults.items())
            click.echo(f"  params: {params}")
        if spec.doc:
            click.echo("  " + spec.doc.splitlines()[0])
