"""The search space of ``botkit optimize``: a strategy's typed parameters, each as its exact grid.

The optimiser never sees a parameter's value, only its position on the grid the strategy declares
(``botkit.param(default, low=, high=, step=)``, ``choices=[...]``, or a bool): optuna suggests an
integer index and the value is ``grid[index]``, built by :meth:`botkit.strategy.params.Param.grid`
in Decimal from integers. No float ever reaches a strategy, and TPE still learns that neighbouring
indexes are neighbouring values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from botkit.core.errors import ConfigError, did_you_mean
from botkit.strategy.plugins import StrategySpec


class IndexSuggester(Protocol):
    """What the space needs of an optuna trial (``optuna.Trial`` has it)."""

    def suggest_int(self, name: str, low: int, high: int) -> int: ...


def text(value: Any) -> str:
    """A parameter value as the command line and the reports write it (``true``, ``0.05``, ``7``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class SearchSpace:
    """Strategy ``strategy``'s searched parameters, each with its grid, plus the fixed ones."""

    strategy: str
    grids: Mapping[str, tuple[Any, ...]]
    """Each searched parameter's grid, in declaration order."""
    fixed: Mapping[str, Any]
    """Parameters given with ``--param`` (not searched)."""

    @classmethod
    def of(cls, specs: Mapping[str, StrategySpec], strategy: str, fixed: Mapping[str, Any]) -> SearchSpace:
        """The space of ``strategy``: every parameter not in ``fixed`` must declare a grid; the
        first that does not is refused, naming it, with the two ways out."""
        spec = specs.get(strategy)
        if spec is None:
            raise ConfigError("--strategy", f"no strategy named {strategy}",
                              f"{did_you_mean(strategy, specs)}available: {', '.join(sorted(specs)) or 'none found'}")
        for key in fixed:
            if key not in spec.declared:
                raise ConfigError("--param", f"strategy {strategy} has no parameter {key}",
                                  f"{did_you_mean(key, spec.declared)}known: {', '.join(sorted(spec.declared))}")
        grids: dict[str, tuple[Any, ...]] = {}
        for key, declaration in spec.declared.items():
            if key in fixed:
                continue
            grid = declaration.grid()
            if grid is None:
                raise ConfigError("--strategy", f"{strategy}.{key} has no range to search",
                                  f"declare it in PARAMS as botkit.param(default, low=..., high=..., step=...) or "
                                  f"choices=[...], or fix it with --param {strategy}.{key}=VALUE")
            grids[key] = tuple(grid)
        if not grids:
            raise ConfigError("--strategy", f"strategy {strategy} has no parameter left to search",
                              "declare ranges with botkit.param(...), or drop a --param")
        return cls(strategy, grids, dict(fixed))

    def suggest(self, trial: IndexSuggester) -> dict[str, Any]:
        """The trial's values: an index per parameter, suggested by the sampler, looked up exactly."""
        return {key: grid[trial.suggest_int(key, 0, len(grid) - 1)] for key, grid in self.grids.items()}

    def params(self, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """``{strategy: {key: value}}`` for a backtest: the fixed parameters with ``values``."""
        return {self.strategy: {**self.fixed, **values}}

    def values_of(self, indexes: Mapping[str, Any]) -> dict[str, Any]:
        """The values of a stored trial's indexes (optuna keeps the indexes)."""
        return {key: self.grids[key][int(indexes[key])] for key in self.grids}

    def signature(self) -> dict[str, list[str]]:
        """The grids as text: kept with a stored study, so a resumed study searches the same space."""
        return {key: [text(v) for v in grid] for key, grid in self.grids.items()}

    def size(self) -> int:
        """How many distinct points the space holds."""
        count = 1
        for grid in self.grids.values():
            count *= len(grid)
        return count
