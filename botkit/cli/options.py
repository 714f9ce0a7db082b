"""What every ``botkit`` command shares: the ``--config`` option, loading the config, and turning
framework errors into one line and an exit status. Commands import it; it imports no command
(the CLI's bottom layer)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from botkit import config as config_mod
from botkit.config import Config
from botkit.core.errors import BotkitError, ConfigError, JournalError, JournalLockLost, PluginError

F = TypeVar("F", bound=Callable[..., Any])

config_option = click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                             help="Config file (default: ./botkit.toml if present, else built-in defaults).")


def fail_cleanly(func: F) -> F:
    """Turn framework errors into one clear line on stderr: exit 2 for bad config, 1 otherwise
    (a daemon that lost its journal lock has logged its line already: it exits 1 with no other)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (ConfigError, PluginError) as exc:
            click.echo(f"botkit: {exc}", err=True)
            sys.exit(2)
        except JournalLockLost:
            sys.exit(1)
        except JournalError as exc:
            click.echo(f"botkit: journal error: {exc}", err=True)
            sys.exit(2)
        except BotkitError as exc:
            click.echo(f"botkit: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def load_config(path: Path | None) -> Config:
    if path is not None and not path.is_file():
        raise ConfigError("--config", f"{path} does not exist", "give the path of a TOML config file")
    return config_mod.load(path)
