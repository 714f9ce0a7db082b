"""The only module that touches pluggy: builds the plugin manager and finds strategies.

Strategies come from two places: the ``botkit.strategies`` entry-point group (installed packages,
botkit's own shipped strategies included) and the ``.py`` files of the strategy folders. A
strategy is a module with ``@hookimpl`` functions, or a module holding a class with ``@hookimpl``
methods (instantiated with no arguments). Its parameters and their defaults are the module's (or
class's) ``PARAMS`` dict; the type of each default is the type the config must give, and a
default declared with ``botkit.param`` also bounds it (:mod:`botkit.strategy.params`).

Every module loaded is checked (:func:`checked_plugin`) for hooks botkit would silently never
call, so ``botkit strategies`` (which loads every file) and ``botkit run`` and ``botkit backtest``
(which load the strategies they run) refuse the same mistakes alike.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import sys
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from botkit.core.errors import ConfigError, PluginError, did_you_mean
from botkit.strategy import hookspecs
from botkit.strategy.history import declarations
from botkit.strategy.params import RESERVED_NAMES, Param, declared
from botkit.strategy.params import defaults as param_defaults

log = logging.getLogger("botkit.plugins")

ENTRY_POINT_GROUP = "botkit.strategies"
IMPL_MARK = f"{hookspecs.PROJECT}_impl"
HOOK_NAMES = tuple(sorted(name for name, value in vars(hookspecs).items()
                          if name.startswith("botkit_") and hasattr(value, f"{hookspecs.PROJECT}_spec")))
"""Every hook botkit calls, from :mod:`botkit.strategy.hookspecs`."""
HOOK_ARGUMENTS = {name: tuple(inspect.signature(getattr(hookspecs, name)).parameters) for name in HOOK_NAMES}
"""The arguments each hook passes (an implementation may take fewer)."""


@dataclass(frozen=True)
class StrategySpec:
    """A strategy found on disk or in an entry point, before it is configured."""

    name: str
    plugin: object
    source: str
    doc: str
    defaults: Mapping[str, Any]
    """Each parameter's default value (what ``ctx.params`` holds when the config sets nothing)."""
    path: Path | None = None
    declared: Mapping[str, Param] = field(default_factory=dict)
    """Each parameter's declaration: its type, and for a typed one its range or choices."""


def make_manager() -> pluggy.PluginManager:
    """A plugin manager that knows every ``botkit_*`` hook."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def checked_plugin(module: ModuleType, where: str) -> object | None:
    """The pluggable object of a plugin module, once its hooks are checked: the module itself or
    the class (instantiated with no arguments) that holds its hooks; None for a module without
    any hook (a helper next to the strategies).

    The one check that ``botkit strategies``, ``botkit run`` and ``botkit backtest`` share (all
    load strategies through :func:`discover`). It refuses, in one line naming the file and line,
    the function and the likely hook, whatever botkit would otherwise load and silently never
    call: a ``botkit_*`` function without ``@hookimpl``, an ``@hookimpl`` whose name is no hook
    (``botkit_on_snapshoot``: did you mean ``botkit_on_snapshot``?), an implementation asking for
    an argument the hook does not pass, and hooks in more than one place (the module and a class,
    or two classes: only one would be used).

    A plugin implementing ``botkit_on_snapshot`` is a strategy; one with only other hooks (a
    pre-trade check, a fill logger) is configured the same way but never asked for intents.
    """
    holders: list[tuple[str, object]] = []
    for label, holder in _holders(module):
        marked = 0
        for attr, value, is_method in _callables(holder):
            place = f"{_location(value, where)}: {'' if holder is module else label + '.'}{attr}"
            if _marked(value):
                marked += 1
                specname = getattr(value, IMPL_MARK).get("specname")
                hook = specname or attr
                if hook not in HOOK_NAMES:
                    what = f"@hookimpl(specname={specname!r}) but {specname}" if specname else "@hookimpl but"
                    raise PluginError(f"{place} is marked {what} is not a botkit hook: {_suggest(hook)}")
                extra = _unknown_arguments(value, hook, is_method)
                if extra:
                    raise PluginError(f"{place} asks for {', '.join(extra)}, which {hook} does not pass: "
                                      f"its arguments are {', '.join(HOOK_ARGUMENTS[hook])}")
            elif attr.startswith("botkit_"):
                if attr in HOOK_NAMES:
                    raise PluginError(f"{place} has no @hookimpl, so botkit would never call it: "
                                      "decorate it with @hookimpl (from botkit import hookimpl)")
                raise PluginError(f"{place} has no @hookimpl and is not a botkit hook: {_suggest(attr)}")
        if marked:
            holders.append((label, holder))
    if not holders:
        return None
    if len(holders) > 1:
        places = " and ".join(label for label, _ in holders)
        raise PluginError(f"{where}: hooks in {places}: botkit would call only one of them; "
                          "keep a plugin's hooks in the module or in one class")
    label, holder = holders[0]
    plugin = holder
    if holder is not module:
        try:
            plugin = holder()  # type: ignore[operator]
        except TypeError as exc:
            raise PluginError(f"{where}: {label}() must take no arguments: {exc}") from exc
    try:
        make_manager().register(plugin, name=module.__name__)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"{where}: {_pluggy_reason(exc)} (see docs/strategies.md)") from None
    return plugin


def _holders(module: ModuleType) -> list[tuple[str, object]]:
    """Where a plugin module may keep hooks: the module itself and each class defined in it."""
    holders: list[tuple[str, object]] = [("the module", module)]
    for name, cls in inspect.getmembers(module, inspect.isclass):
        if cls.__module__ == module.__name__:
            holders.append((name, cls))
    return holders


def _callables(holder: object) -> list[tuple[str, Any, bool]]:
    """The functions of a module (those defined in it) or of a class (its own and inherited),
    each with whether it is called bound (its first argument is then not the hook's)."""
    found = []
    for attr in dir(holder):
        if attr.startswith("__"):
            continue
        value = inspect.getattr_static(holder, attr, None)
        is_method = isinstance(holder, type) and not isinstance(value, staticmethod)
        if isinstance(value, staticmethod | classmethod):
            value = value.__func__
        if not callable(value) or isinstance(value, type):
            continue
        if isinstance(holder, ModuleType) and getattr(value, "__module__", None) != holder.__name__:
            continue  # imported into the module (hookspecs, helpers): judged where it is defined
        found.append((attr, value, is_method))
    return found


def _unknown_arguments(function: Any, hook: str, is_method: bool) -> list[str]:
    """The arguments an implementation requires that the hook does not pass (pluggy's rule:
    arguments with defaults are not asked for)."""
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):
        return []  # no signature to read: pluggy's own check below judges it
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if is_method:
        positional = positional[1:]
    return [p.name for p in positional if p.default is p.empty and p.name not in HOOK_ARGUMENTS[hook]]


def _marked(value: object) -> bool:
    return isinstance(getattr(value, IMPL_MARK, None), dict)


def _location(function: object, where: str) -> str:
    code = getattr(function, "__code__", None)
    return f"{where}:{code.co_firstlineno}" if code is not None else where


def _suggest(name: str) -> str:
    """The likely hook, or the list of hooks."""
    close = did_you_mean(name, HOOK_NAMES, cutoff=0.6, ignore_prefix="botkit_")
    return close.rstrip() if close else f"the hooks are {', '.join(HOOK_NAMES)} (see docs/strategies.md)"


def _pluggy_reason(exc: pluggy.PluginValidationError) -> str:
    """pluggy's words on one line, without its repr of the plugin object."""
    return " ".join(str(exc).split(" in plugin ")[0].split())


def _spec(name: str, module: ModuleType, source: str, path: Path | None, where: str) -> StrategySpec | None:
    """The strategy a module holds; None when it holds no hooks at all."""
    plugin = checked_plugin(module, where)
    if plugin is None:
        return None
    return strategy_spec(name, plugin, module, source, path)


def strategy_spec(name: str, plugin: object, module: ModuleType, source: str, path: Path | None = None
                  ) -> StrategySpec:
    """The strategy of a checked plugin (:func:`checked_plugin`) and the module that holds it."""
    raw = getattr(plugin, "PARAMS", None) or getattr(module, "PARAMS", None) or {}
    if not isinstance(raw, Mapping):
        raise PluginError(f"strategy {name}: PARAMS must be a dict of defaults")
    reserved = sorted(RESERVED_NAMES & raw.keys())
    if reserved:
        raise PluginError(f"strategy {name}: PARAMS names {', '.join(reserved)}, a method of ctx.params (a dict): "
                          f"ctx.params.{reserved[0]} would be the method, not the parameter; rename it")
    try:
        declarations(name, plugin)
    except ValueError as exc:
        raise PluginError(str(exc)) from None
    # A class strategy without a docstring of its own is described by its module's.
    doc = (inspect.getdoc(type(plugin)) if plugin is not module else None) or inspect.getdoc(module)
    return StrategySpec(name, plugin, source, (doc or "").strip(), param_defaults(raw), path, declared=declared(raw))


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


def discover(paths: Sequence[Path] = (), *, entry_point_strategies: bool = True,
             names: Collection[str] | None = None) -> dict[str, StrategySpec]:
    """Every strategy available: entry points first, then folders (a file already loaded through
    an entry point, such as a checkout's ``strategies/``, is not loaded twice).

    With ``names`` (a run or a backtest), only the strategies of those names are imported and
    checked, known before importing by their entry point's name or their file's stem: the others
    cost a process nothing (the shipped sma_crossover's indicator library alone is 13 ms of a
    backtest's start), and a draft beside them does not stop a run that does not use it
    (``botkit strategies`` still shows its mistake)."""
    found: dict[str, StrategySpec] = {}
    seen_files: set[Path] = set()
    if entry_point_strategies:
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if names is not None and ep.name not in names:
                file = _module_file(ep.module)  # a folder may hold it: it is still not a second strategy
                if file is not None:
                    seen_files.add(file)
                continue
            try:
                module = ep.load()
            except Exception as exc:
                raise PluginError(f"entry point {ep.name} = {ep.value}: import failed: {exc}") from exc
            if not isinstance(module, ModuleType):
                raise PluginError(f"entry point {ep.name} = {ep.value} must name a module")
            file = Path(module.__file__).resolve() if module.__file__ else None
            if file is not None:
                seen_files.add(file)
            spec = _spec(ep.name, module, f"entry point {ep.value}", file, str(file or ep.value))
            if spec is None:
                raise PluginError(f"entry point {ep.name} = {ep.value} has no @hookimpl botkit_* hook: "
                                  "not a botkit plugin")
            found[ep.name] = spec
    for folder in paths:
        if not folder.is_dir():
            log.debug("strategy folder %s does not exist", folder)
            continue
        for file in sorted(folder.glob("*.py")):
            if file.name.startswith("_") or file.resolve() in seen_files or (names is not None
                                                                                and file.stem not in names):
                continue
            module = load_file(file)
            spec = _spec(file.stem, module, str(file), file.resolve(), str(file))
            if spec is None:
                log.debug("%s has no strategy hooks; skipped", file)
                continue
            if spec.name in found:
                raise PluginError(
                    f"two strategies are named {spec.name!r}: {found[spec.name].source} and {file}"
                )
            found[spec.name] = spec
            seen_files.add(file.resolve())
    return found


def _module_file(name: str) -> Path | None:
    """Where a module's source is, found without running it; None when it cannot be told (a
    submodule's package is imported to find it, and a package that raises belongs to a strategy
    this run does not use: ``botkit strategies`` shows its error)."""
    try:
        spec = importlib.util.find_spec(name)
    except Exception as exc:
        log.debug("cannot locate entry point module %s: %s", name, exc)
        return None
    return Path(spec.origin).resolve() if spec is not None and spec.origin else None


def resolve_params(spec: StrategySpec, given: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The strategy's defaults overlaid with the configured values, each checked against its
    declaration (:class:`~botkit.strategy.params.Param`: the default's type, and the range or
    choices of a typed parameter)."""
    params = dict(spec.defaults)
    for key, value in given.items():
        if key == "enabled":
            continue
        if key not in spec.declared:
            known = ", ".join(["enabled", *sorted(spec.declared)])
            raise ConfigError(f"{where}.{key}", f"unknown parameter of strategy {spec.name}",
                              f"{did_you_mean(key, spec.declared)}known: {known}")
        params[key] = spec.declared[key].check(value, f"{where}.{key}", spec.name)
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
        raise PluginError(f"plugin {name}: {_pluggy_reason(exc)} (see docs/strategies.md)") from None
