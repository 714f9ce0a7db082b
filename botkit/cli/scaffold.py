"""``botkit new-strategy`` and ``botkit new-config``: a strategy, its passing test, and a config.

``new-strategy NAME`` writes ``DIR/NAME.py`` and ``DIR/test_NAME.py`` from a template (templates/),
so a new author starts from code that loads, trades and is tested, and edits from there; the test
runs the strategy through :mod:`botkit.testing` and passes as generated. ``new-config`` writes a
``botkit.toml`` holding every key of the schema with its default and help (the file documents
itself), with the chosen strategies enabled and their parameters listed.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Mapping, Sequence
from decimal import Decimal
from importlib.metadata import entry_points
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

import click

from botkit.cli.options import config_option, fail_cleanly, load_config
from botkit.config import DEFAULT_CONFIG_NAME, SCHEMA, TOP_LEVEL, Key
from botkit.core.errors import ConfigError, did_you_mean
from botkit.strategy.params import Param

TEMPLATES = {"snapshot": "snapshot", "bars": "bars", "market-maker": "market_maker"}
"""``--template`` → the files in templates/ (``X.py.tmpl`` and ``X_test.py.tmpl``)."""


def _template(stem: str, name: str) -> str:
    text = files("botkit.cli").joinpath("templates", f"{stem}.tmpl").read_text(encoding="utf-8")
    return Template(text).substitute(name=name)


def check_name(name: str) -> None:
    """A strategy's name is its file's stem and its config table's key: a Python identifier
    (botkit skips files starting with ``_``; ``test_`` is its tests')."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ConfigError("NAME", f"{name!r} is not a valid strategy name",
                          "use letters, digits and underscores, not starting with a digit, e.g. dip_buyer")
    if name.startswith(("_", "test_")):
        raise ConfigError("NAME", f"{name!r} starts with {'_' if name.startswith('_') else 'test_'}",
                          "botkit skips files starting with _ and test_ files are tests; choose another name")
    shipped = {ep.name: ep.value for ep in entry_points(group="botkit.strategies")}
    if name in shipped:
        raise ConfigError("NAME", f"a strategy named {name} is already installed ({shipped[name]})",
                          "two strategies may not share a name; choose another")


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it is inside it (what a user would type)."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def new_strategy(name: str, directory: Path, template: str, *, force: bool = False) -> tuple[Path, Path]:
    """Write ``directory/NAME.py`` and ``directory/test_NAME.py``; returns their paths. An existing
    file is refused (both are checked before either is written) unless ``force``."""
    check_name(name)
    if template not in TEMPLATES:
        raise ConfigError("--template", f"unknown template {template!r}", f"one of {', '.join(TEMPLATES)}")
    strategy, test = directory / f"{name}.py", directory / f"test_{name}.py"
    if directory.exists() and not directory.is_dir():
        raise ConfigError("--dir", f"{directory} is not a directory", "give a folder of strategies")
    for path in (strategy, test):
        if path.exists() and not force:
            raise ConfigError("NAME", f"{_shown(path)} already exists",
                              "add --force to overwrite it, or choose another name")
    stem = TEMPLATES[template]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        strategy.write_text(_template(f"{stem}.py", name), encoding="utf-8")
        test.write_text(_template(f"{stem}_test.py", name), encoding="utf-8")
    except OSError as exc:
        raise ConfigError("--dir", f"cannot write in {_shown(directory)}: {exc.strerror or exc}",
                          "choose a writable folder") from None
    return strategy, test


@click.command("new-strategy")
@click.argument("name")
@click.option("--dir", "directory", type=click.Path(path_type=Path, dir_okay=True, file_okay=False),
              help="Folder to write NAME.py and test_NAME.py in (default: the first of the config's strategy_paths).")
@click.option("--template", default="snapshot", show_default=True, type=click.Choice(list(TEMPLATES)),
              help="snapshot: decides on each snapshot; bars: on closed 1-minute bars (TIMEFRAMES, "
                   "botkit_on_bar); market-maker: quotes both sides.")
@click.option("--force", is_flag=True, help="Overwrite NAME.py and test_NAME.py if they exist.")
@config_option
@fail_cleanly
def new_strategy_command(name: str, directory: Path | None, template: str, force: bool,
                         config_path: Path | None) -> None:
    """Write a new strategy NAME.py and its passing test test_NAME.py, ready to backtest."""
    if directory is None:
        paths = load_config(config_path).strategy_paths
        if not paths:
            raise ConfigError("strategy_paths", "is empty, so there is no folder to write the strategy in",
                              "give --dir DIR")
        directory = paths[0]
    strategy, test = (_shown(p) for p in new_strategy(name, directory, template, force=force))
    click.echo(f"wrote {strategy} and {test}")
    default_folder = directory.resolve() == (Path.cwd() / "strategies").resolve()
    folder = "" if default_folder else f" --strategy-path {_shown(directory)}"
    click.echo("next:")
    click.echo(f"  pytest {test}")
    click.echo(f"  botkit backtest --strategy {name}{folder}")
    click.echo(f"  botkit new-config --strategy {name}{folder}")


# --------------------------------------------------------------------------- new-config


def _toml(value: Any) -> str:
    """A value as TOML writes it (decimals as their digits: the loader reads them exactly)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value))


def _range(key: Key) -> str:
    if key.choices:
        return "one of " + ", ".join(key.choices)
    low, high = key.minimum, key.maximum
    unit = " seconds" if key.kind == "seconds" else ""
    if low is not None and high is not None:
        return f"{low} to {high}{unit}"
    if low is not None:
        return f"at least {low}{unit}"
    return ""


def _key_lines(name: str, key: Key) -> list[str]:
    extra = _range(key)
    comment = f"# {key.help}" + (f" ({extra})" if extra else "")
    if key.default is None or key.secret:
        return [comment, f"# {name} = ..."]
    return [comment, f"{name} = {_toml(key.default)}"]


def config_text(strategies: Mapping[str, Mapping[str, Param]], strategy_paths: Sequence[str]) -> str:
    """A complete commented config: every schema key at its default, ``strategies`` enabled with
    each parameter commented out at its default (with its allowed values)."""
    lines = ["# botkit configuration, written by `botkit new-config`: every key, at its default.",
             "# Money is exact: 0.05 and \"0.05\" are both read as decimals, never floats.",
             "# Reference: config.example.toml and docs/running.md.", ""]
    lines += [f"# {TOP_LEVEL['strategy_paths'].help} (relative to this file)",
              f"strategy_paths = {_toml(list(strategy_paths))}"]
    for section, keys in SCHEMA.items():
        lines += ["", f"[{section}]"]
        for name, key in keys.items():
            lines += _key_lines(name, key)
    for name, declared in strategies.items():
        lines += ["", f"[strategies.{name}]", "enabled = true"]
        for parameter, spec in declared.items():
            lines.append(f"# {parameter} = {_toml(spec.default)}    # {spec.allowed()}")
    return "\n".join(lines) + "\n"


@click.command("new-config")
@click.option("--strategy", "strategies", multiple=True,
              help="Enable this strategy (repeatable; default: the shipped market_maker).")
@click.option("--strategy-path", "strategy_paths", multiple=True,
              help="Folder of strategy files, written as strategy_paths (repeatable; default: strategies).")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=Path(DEFAULT_CONFIG_NAME),
              show_default=True, help="File to write.")
@click.option("--force", is_flag=True, help="Overwrite the file if it exists.")
@fail_cleanly
def new_config_command(strategies: tuple[str, ...], strategy_paths: tuple[str, ...], output: Path,
                       force: bool) -> None:
    """Write a commented botkit.toml: every config key at its default, the strategies enabled."""
    from botkit.strategy.plugins import discover

    if output.exists() and not force:
        raise ConfigError("--output", f"{output} already exists", "add --force to overwrite it, or give --output PATH")
    paths = list(strategy_paths) or ["strategies"]
    base = output.absolute().parent
    found = discover([base / p for p in paths])  # an absolute p stays itself
    chosen: dict[str, Mapping[str, Param]] = {}
    for name in strategies or ("market_maker",):
        if name not in found:
            raise ConfigError("--strategy", f"no strategy named {name} in {', '.join(paths)} or the installed ones",
                              f"{did_you_mean(name, found)}found: {', '.join(sorted(found)) or 'none'}")
        chosen[name] = found[name].declared
    try:
        output.write_text(config_text(chosen, paths), encoding="utf-8")
    except OSError as exc:
        raise ConfigError("--output", f"cannot write {output}: {exc.strerror or exc}",
                          "give a path in an existing, writable folder") from None
    click.echo(f"wrote {output} (strategies enabled: {', '.join(chosen)})")
