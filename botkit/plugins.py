"""The only module that touches pluggy: builds the plugin manager and finds strategies.

Strategies come from two places: the ``botkit.strategies`` entry-point group (installed packages,
botkit's own shipped strategies included) and the ``.py`` files of the strategy folders. A
strategy is a module with ``@hookimpl`` functions, or a module holding a class with ``@hookimpl``
methods (instantiated with no arguments). Its parameters and their defaults are the module's (or
class's) ``PARAMS`` dict; the type of each default is the type the config must give.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from botkit import hookspecs
from botkit.config import exact_number
from botkit.errors import ConfigError, PluginError

log = logging.getLogger("botkit.plugins")

ENTRY_POINT_GROUP = "botkit.strategies"


@dataclass(frozen=True)
class StrategySpec:
    """A strategy found on disk or in an entry point, before it is configured."""

    name: str
    plugin: object
    source: str
    doc: str
    defaults: Mapping[str, Any]
    path: Path | None = None


def make_manager() -> pluggy.PluginManager:
    """A plugin manager that knows every ``botkit_*`` hook."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _hook_names(obj: object) -> set[str]:
    names = set()
    for attr in dir(obj):
        if attr.startswith("botkit_"):
            value = getattr(obj, attr, None)
            if callable(value) and hasattr(value, f"{hookspecs.PROJECT}_impl"):
                names.add(attr)
    return names


def plugin_object(module: ModuleType) -> object:
    """The pluggable object of a plugin module: the module itself or its hookimpl class.

    A plugin implementing ``botkit_on_snapshot`` is a strategy; one with only other hooks (a
    pre-trade check, a fill logger) is configured the same way but never asked for intents.
    """
    if _hook_names(module):
        return module
    for _, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ == module.__name__ and _hook_names(cls):
            try:
                return cls()
            except TypeError as exc:
                raise PluginError(f"{module.__name__}: {cls.__name__}() must take no arguments: {exc}") from exc
    raise PluginError(f"{module.__name__} has no @hookimpl botkit_* hook: not a botkit plugin")


def _spec(name: str, module: ModuleType, source: str, path: Path | None) -> StrategySpec:
    plugin = plugin_object(module)
    defaults = getattr(plugin, "PARAMS", None) or getattr(module, "PARAMS", None) or {}
    if not isinstance(defaults, Mapping):
        raise PluginError(f"strategy {name}: PARAMS must be a dict of defaults")
    doc = inspect.getdoc(plugin) if plugin is not module else inspect.getdoc(module)
    return StrategySpec(name, plugin, source, (doc or "").strip(), dict(defaults), path)


def load_file(path: Path) -> ModuleType:
    """Import one strategy file under a private module name (so two folders may share names)."""
    module_name = f"botkit_strategy_{abs(hash(str(path.resolve())))}_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise PluginError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise PluginError(f"{path}: import failed: {type(exc).__name__}: {exc}") from exc
    return module


def discover(paths: Sequence[Path] = (), *, entry_point_strategies: bool = True) -> dict[str, StrategySpec]:
    """Every strategy available: entry points first, then folders (a file already loaded through
    an entry point, such as a checkout's ``strategies/``, is not loaded twice)."""
    found: dict[str, StrategySpec] = {}
    seen_files: set[Path] = set()
    if entry_point_strategies:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                module = ep.load()
            except Exception as exc:
                raise PluginError(f"entry point {ep.name} = {ep.value}: import failed: {exc}") from exc
            if not isinstance(module, ModuleType):
                raise PluginError(f"entry point {ep.name} = {ep.value} must name a module")
            file = Path(module.__file__).resolve() if module.__file__ else None
            if file is not None:
                seen_files.add(file)
            found[ep.name] = _spec(ep.name, module, f"entry point {ep.value}", file)
    for folder in paths:
        if not folder.is_dir():
            log.debug("strategy folder %s does not exist", folder)
            continue
        for file in sorted(folder.glob("*.py")):
            if file.name.startswith("_") or file.resolve() in seen_files:
                continue
            module = load_file(file)
            try:
                spec = _spec(file.stem, module, str(file), file.resolve())
            except PluginError:
                log.debug("%s has no strategy hooks; skipped", file)
                continue
            if spec.name in found:
                raise PluginError(
                    f"two strategies are named {spec.name!r}: {found[spec.name].source} and {file}"
                )
            found[spec.name] = spec
            seen_files.add(file.resolve())
    return found


def _coerce(value: Any, default: Any, key: str) -> Any:
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ConfigError(key, f"expected true or false, got {value!r}")
    if isinstance(default, Decimal):
        return exact_number(value, key, repr(value))
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected a whole number, got {value!r}")
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(key, f"expected a string, got {value!r}")
        return value
    if isinstance(default, list | tuple):
        if not isinstance(value, list):
            raise ConfigError(key, f"expected a list, got {value!r}")
        return value
    return value


def resolve_params(spec: StrategySpec, given: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The strategy's defaults overlaid with the configured values, each type-checked."""
    params = dict(spec.defaults)
    for key, value in given.items():
        if key == "enabled":
            continue
        if key not in spec.defaults:
            known = ", ".join(["enabled", *sorted(spec.defaults)])
            raise ConfigError(f"{where}.{key}", f"unknown parameter of strategy {spec.name}", f"known: {known}")
        params[key] = _coerce(value, spec.defaults[key], f"{where}.{key}")
    return params


def register(pm: pluggy.PluginManager, plugins: Iterable[tuple[str, object]]) -> None:
    """Register plugins by name and check that no hook name is misspelt."""
    current = ""
    try:
        for name, plugin in plugins:
            current = name
            if pm.is_registered(plugin):
                continue
            pm.register(plugin, name=name)
        current = ""
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        name = current or pm.get_name(exc.plugin) or "?"
        reason = " ".join(str(exc).split(" in plugin ")[0].split())
        raise PluginError(f"plugin {name}: {reason} (hooks are botkit_*: see docs/strategies.md)") from None
