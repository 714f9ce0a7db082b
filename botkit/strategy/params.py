"""Typed strategy parameters: ``botkit.param(default, low=, high=, step=)`` or ``choices=[...]``.

A strategy's ``PARAMS`` maps each name to a default; a default written with :func:`param` also
says which values are allowed (a range, or a list of choices) and which are worth trying (the grid
``low, low + step, ..., high``). The config's values are checked against both, so a typo such as
``size = 5`` for a 0.05 BTC quote is refused at start-up, naming the key and the allowed range;
the same declaration drives ``botkit backtest --sweep NAME.KEY`` with no values, and
:func:`search_space` hands it to an optimiser. A plain default (old-style ``PARAMS``) keeps
meaning what it always did: the config must give a value of the default's type.

Grid values are exact: a Decimal grid is ``low + k × step`` computed in Decimal (no float is ever
made, so ``0.1 + 0.2`` is ``0.3``), and every value a strategy sees has the default's type.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from botkit.core.errors import ConfigError, PluginError
from botkit.core.numbers import NumberError, exact_decimal, exact_number, short

MAX_GRID = 10_000
"""Most values one declared grid may hold: a step of 0.0001 over a wide range is a typo."""

Value = Decimal | int | bool | str


@dataclass(frozen=True)
class Param:
    """One declared parameter: its default, and what the config may set it to."""

    default: Any
    low: Decimal | int | None = None
    high: Decimal | int | None = None
    step: Decimal | int | None = None
    choices: tuple[Value, ...] = ()
    doc: str = ""

    @property
    def kind(self) -> type:
        """The type every value of this parameter has (bool before int: a bool is an int)."""
        return type(self.default)

    @property
    def typed(self) -> bool:
        """Declared with :func:`param` (a range, a step or choices), not a plain old-style default."""
        return self.low is not None or self.high is not None or self.step is not None or bool(self.choices)

    def allowed(self) -> str:
        """The allowed values as a phrase for errors and docs ("from 0.01 to 0.5", "one of a, b")."""
        if self.choices:
            return "one of " + ", ".join(_show(c) for c in self.choices)
        if self.low is not None and self.high is not None:
            return f"from {short(self.low)} to {short(self.high)}"
        if self.low is not None:
            return f"at least {short(self.low)}"
        if self.high is not None:
            return f"at most {short(self.high)}"
        return _KIND_WORDS.get(self.kind, f"a {self.kind.__name__}")

    def check(self, value: Any, key: str, strategy: str) -> Any:
        """``value`` (from the config or the command line) as this parameter's type, in range; a
        :class:`ConfigError` naming ``key`` and the allowed values otherwise."""
        typed = _coerce(value, self.default, key)
        if self.choices and typed not in self.choices:
            raise ConfigError(key, f"{_show(value)} is not a choice of strategy {strategy}'s parameter",
                              f"give {self.allowed()}")
        # Only a number's declaration has bounds (param() refuses them on bools and choices).
        if (self.low is not None and typed < self.low) or (self.high is not None and typed > self.high):
            raise ConfigError(key, f"{short(typed)} is out of strategy {strategy}'s range",
                              f"give a value {self.allowed()}")
        return typed

    def grid(self) -> list[Any] | None:
        """The values a sweep tries: the choices, both booleans, or ``low..high`` by ``step``
        (both ends included when ``high`` is on the grid); None when the declaration gives none."""
        if self.choices:
            return list(self.choices)
        if self.kind is bool:
            return [False, True]
        if self.low is None or self.high is None or self.step is None:
            return None
        return list(_steps(self.low, self.high, self.step, self.kind))


def param(default: Any, *, low: Any = None, high: Any = None, step: Any = None,
          choices: Sequence[Any] | None = None, doc: str = "") -> Param:
    """Declare a strategy parameter in ``PARAMS``: its default and the values the config may give.

    ``default`` is a ``Decimal`` (money and ratios, exact), an ``int``, a ``bool``, or one of
    ``choices``. ``low``/``high`` bound a number (each may be given alone); ``step`` with both
    makes the sweep grid ``low, low + step, ..., high``. Bounds and step are read exactly in the
    default's type (``"0.05"``, ``Decimal("0.05")`` or ``5``; a float is refused, as in money).
    A mistake in the declaration is the strategy's own: a :class:`PluginError` when it is loaded.
    """
    if isinstance(default, float):
        raise PluginError(f"param({default!r}): a float default is inexact; write Decimal({str(default)!r})")
    if choices is not None:
        return _choice_param(default, choices, low, high, step, doc)
    if not isinstance(default, Decimal | int):
        raise PluginError(f"param({default!r}): the default must be a Decimal, an int or a bool, "
                          "or give choices=[...]")
    if isinstance(default, bool):
        if low is not None or high is not None or step is not None:
            raise PluginError(f"param({default!r}): a bool takes no low, high or step")
        return Param(default, doc=doc)
    kind = type(default)
    lo, hi, st = (_bound(v, kind, name, default) for v, name in ((low, "low"), (high, "high"), (step, "step")))
    if lo is not None and hi is not None and lo > hi:
        raise PluginError(f"param({default!r}): low {short(lo)} is above high {short(hi)}")
    if (lo is not None and default < lo) or (hi is not None and default > hi):
        span = f"{'' if lo is None else short(lo)}..{'' if hi is None else short(hi)}"
        raise PluginError(f"param({default!r}): the default {short(default)} is outside low..high ({span})")
    if st is not None:
        if st <= 0:
            raise PluginError(f"param({default!r}): step must be positive, got {short(st)}")
        if lo is None or hi is None:
            raise PluginError(f"param({default!r}): a step needs both low and high (the grid runs from one to the "
                              "other)")
        if (hi - lo) / st >= MAX_GRID:
            raise PluginError(f"param({default!r}): low..high by step {short(st)} is more than {MAX_GRID} values")
    return Param(default, lo, hi, st, doc=doc)


def _choice_param(default: Any, choices: Sequence[Any], low: Any, high: Any, step: Any, doc: str) -> Param:
    if low is not None or high is not None or step is not None:
        raise PluginError(f"param({default!r}): choices take no low, high or step")
    if isinstance(choices, str) or not choices:
        raise PluginError(f"param({default!r}): choices must be a non-empty list")
    values = tuple(choices)
    for choice in values:
        if isinstance(choice, float):
            raise PluginError(f"param({default!r}): the choice {choice!r} is a float; write Decimal({str(choice)!r})")
        if type(choice) is not type(default):
            raise PluginError(f"param({default!r}): every choice must be a {type(default).__name__} like the "
                              f"default, got {choice!r}")
    if len(set(values)) != len(values):
        raise PluginError(f"param({default!r}): choices {list(values)!r} repeat a value")
    if default not in values:
        raise PluginError(f"param({default!r}): the default is not one of the choices {list(values)!r}")
    return Param(default, choices=values, doc=doc)


def _bound(value: Any, kind: type, name: str, default: Any) -> Decimal | int | None:
    """A bound or step in the default's type, exactly."""
    if value is None:
        return None
    if isinstance(value, float | bool):
        raise PluginError(f"param({default!r}): {name}={value!r} must be exact: write it as a "
                          f"{'Decimal' if kind is Decimal else 'whole number'}")
    if kind is int:
        if not isinstance(value, int):
            raise PluginError(f"param({default!r}): {name}={value!r} must be a whole number like the default")
        return value
    try:
        return exact_decimal(value, name)
    except NumberError as exc:
        raise PluginError(f"param({default!r}): {name}={value!r}: {exc.reason}") from None


def _steps(low: Decimal | int, high: Decimal | int, step: Decimal | int, kind: type) -> Iterator[Any]:
    if kind is int:
        yield from range(int(low), int(high) + 1, int(step))
        return
    # Exact whatever the digits: no rounding may change a grid value (Inexact is an error here).
    with decimal.localcontext() as context:
        context.prec = 200
        context.traps[decimal.Inexact] = True
        count = int((Decimal(high) - Decimal(low)) // Decimal(step))
        for k in range(count + 1):
            yield Decimal(low) + Decimal(step) * k


_KIND_WORDS = {bool: "true or false", int: "a whole number", Decimal: "a number", str: "a string"}


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return short(value) if isinstance(value, Decimal | int) else repr(value)


def _coerce(value: Any, default: Any, key: str) -> Any:
    """``value`` as the default's type: the config's rule for every parameter, typed or not."""
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


RESERVED_NAMES = frozenset(name for name in dir(dict) if not name.startswith("_"))
"""Names a parameter may not take: ``ctx.params`` is a dict, and ``ctx.params.items`` (or
``update``, ``copy``...) is its method, not the parameter."""


def declared(params: Mapping[str, Any]) -> dict[str, Param]:
    """A strategy's ``PARAMS`` with every entry as a :class:`Param` (a plain default becomes one
    without range), so typed and old-style parameters are checked by one rule."""
    return {key: value if isinstance(value, Param) else Param(value) for key, value in params.items()}


def defaults(params: Mapping[str, Any]) -> dict[str, Any]:
    """A strategy's ``PARAMS`` as plain default values (what ``ctx.params`` holds unconfigured)."""
    return {key: value.default if isinstance(value, Param) else value for key, value in params.items()}


@dataclass(frozen=True)
class Dimension:
    """One parameter of a search space: a range (``low``/``high``, ``step`` or None for a
    continuous one) or a list of ``choices``; :meth:`values` is the sweep's grid."""

    name: str
    kind: type
    low: Decimal | int | None = None
    high: Decimal | int | None = None
    step: Decimal | int | None = None
    choices: tuple[Value, ...] = ()

    def values(self) -> list[Any] | None:
        """Every value on the grid, or None for a range without a step."""
        if self.choices:
            return list(self.choices)
        if self.low is None or self.high is None or self.step is None:
            return None
        return list(_steps(self.low, self.high, self.step, self.kind))


def search_space(params: Mapping[str, Any]) -> dict[str, Dimension]:
    """The declared search space of a strategy's ``PARAMS``: each parameter with both bounds or
    choices (booleans are the choices false and true); plain defaults and half-open ranges are
    left out. The input of a later optimiser (Optuna's ``suggest_*`` take exactly these)."""
    space: dict[str, Dimension] = {}
    for key, spec in declared(params).items():
        if spec.choices:
            space[key] = Dimension(key, spec.kind, choices=spec.choices)
        elif spec.kind is bool:
            space[key] = Dimension(key, bool, choices=(False, True))
        elif spec.low is not None and spec.high is not None:
            space[key] = Dimension(key, spec.kind, spec.low, spec.high, spec.step)
    return space


class Params(dict[str, Any]):
    """A strategy's validated parameters: read-only, as a mapping (``ctx.params["size"]``) and as
    attributes (``ctx.params.size``). Read-only so no strategy changes what another run (or a
    sweep's next point) starts from.

    A dict whose every mutating method refuses, as SQLAlchemy's ``immutabledict``: a strategy
    reads its parameters at every tick, and a dict's own ``[]`` is a C call where a Mapping's
    ``__getitem__`` is a Python one (a market maker reads six a tick). Its methods refuse; a
    strategy set on it could still go round them through ``dict``'s own (``dict.update(params,
    ...)``), as through ``object.__setattr__`` on a frozen dataclass. A parameter may not be named
    as one of its methods (:data:`RESERVED_NAMES`): ``ctx.params.update`` would be the method."""

    __slots__ = ()

    def __new__(cls, values: Mapping[str, Any] = MappingProxyType({})) -> Params:
        params = dict.__new__(cls)
        dict.update(params, values)  # filled here: a dict's __init__, called again, would update it
        return params

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Nothing: filled by ``__new__``, as a dict's ``__init__`` called again updates it."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            known = ", ".join(sorted(self)) or "none"
            raise AttributeError(f"no parameter {key!r} (the parameters are: {known})") from None

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("ctx.params is read-only: parameters come from PARAMS and the config")

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("ctx.params is read-only: parameters come from PARAMS and the config")

    __setitem__ = __delitem__ = __ior__ = clear = pop = popitem = setdefault = update = _refuse

    def __repr__(self) -> str:
        return f"Params({dict(self)!r})"

    def __reduce__(self) -> tuple[type[Params], tuple[dict[str, Any]]]:
        return (Params, (dict(self),))
