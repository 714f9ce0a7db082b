"""Typed parameters: botkit.param's declarations, the config checked against them, exact grids,
attribute access on ctx.params, the search space, and old-style PARAMS unchanged."""

from __future__ import annotations

import copy
import pickle
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import botkit
from botkit import param
from botkit.backtest.sweep import declared_grid, search_space
from botkit.core.errors import ConfigError, PluginError
from botkit.strategy.context import StrategyContext
from botkit.strategy.params import Dimension, Params
from botkit.strategy.params import search_space as params_search_space
from botkit.strategy.plugins import discover, resolve_params

D = Decimal

TYPED = '''
from decimal import Decimal
import botkit
from botkit import hookimpl, param

PARAMS = {
    "size": param(Decimal("0.05"), low="0.01", high="0.5", step="0.01"),
    "levels": param(3, low=1, high=9, step=2),
    "active": param(True),
    "mode": param("calm", choices=["calm", "eager"]),
    "offset": param(Decimal(1), low=0),
    "label": "x",
}

@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    return [botkit.buy(ctx.params.size, snapshot.best_bid)]
'''


@pytest.fixture
def typed(tmp_path: Path) -> Any:
    (tmp_path / "typed.py").write_text(textwrap.dedent(TYPED))
    return discover([tmp_path], entry_point_strategies=False)["typed"]


def test_botkit_param_is_public() -> None:
    assert botkit.param is param
    assert "param" in botkit.__all__


def test_defaults_are_the_declared_defaults_and_ctx_params_reads_them_as_attributes(typed: Any) -> None:
    params = resolve_params(typed, {"enabled": True}, "strategies.typed")
    assert params == {"size": D("0.05"), "levels": 3, "active": True, "mode": "calm", "offset": D(1), "label": "x"}
    ctx = StrategyContext.create("typed", params)
    assert ctx.params.size == ctx.params["size"] == D("0.05")
    assert ctx.params.mode == "calm"
    with pytest.raises(AttributeError, match=r"no parameter 'sise'.*size"):
        _ = ctx.params.sise
    with pytest.raises(AttributeError, match="read-only"):
        ctx.params.size = D(1)  # type: ignore[misc]
    with pytest.raises(TypeError):
        ctx.params["size"] = D(1)  # type: ignore[index]
    for change in (lambda p: p.update(size=D(1)), lambda p: p.pop("size"), lambda p: p.setdefault("new", 1),
                   lambda p: p.popitem(), lambda p: p.clear(), lambda p: p.__delitem__("size"),
                   lambda p: p.__ior__({"size": D(1)})):
        with pytest.raises(TypeError, match="read-only"):
            change(ctx.params)
    ctx.params.__init__({"size": D(1)}, levels=9)  # a dict's __init__ called again would update it
    assert ctx.params == {"size": D("0.05"), "levels": 3, "active": True, "mode": "calm", "offset": D(1), "label": "x"}


def test_config_values_are_checked_against_type_and_range_naming_the_key_and_the_fix(typed: Any) -> None:
    ok = resolve_params(typed, {"size": "0.5", "levels": 9, "mode": "eager", "offset": 100, "active": False},
                        "strategies.typed")
    assert (ok["size"], ok["levels"], ok["mode"], ok["offset"], ok["active"]) == (D("0.5"), 9, "eager", D(100), False)
    cases = {
        "size": ("0.6", "strategies.typed.size: 0.6 is out of strategy typed's range (give a value from 0.01 to 0.5)"),
        "levels": (0, "strategies.typed.levels: 0 is out of strategy typed's range (give a value from 1 to 9)"),
        "mode": ("wild", "strategies.typed.mode: 'wild' is not a choice of strategy typed's parameter "
                         "(give one of 'calm', 'eager')"),
        "offset": ("-1", "strategies.typed.offset: -1 is out of strategy typed's range (give a value at least 0)"),
        "active": (1, "strategies.typed.active: expected true or false, got 1"),
    }
    for key, (value, message) in cases.items():
        with pytest.raises(ConfigError) as caught:
            resolve_params(typed, {key: value}, "strategies.typed")
        assert str(caught.value) == f"config error: {message}"
        assert caught.value.key == f"strategies.typed.{key}"
    with pytest.raises(ConfigError, match="expected a whole number"):
        resolve_params(typed, {"levels": "3"}, "strategies.typed")


def test_a_float_never_reaches_a_strategy(typed: Any) -> None:
    with pytest.raises(ConfigError, match=r"expected a number, got 0\.1"):
        resolve_params(typed, {"size": 0.1}, "strategies.typed")
    with pytest.raises(PluginError, match="float default is inexact"):
        param(0.1)
    with pytest.raises(PluginError, match="must be exact"):
        param(D("0.1"), low=0.05)


def test_grids_are_exact_and_of_the_default_s_type(typed: Any) -> None:
    grid = declared_grid({"typed": typed}, "typed", "size")
    assert len(grid) == 50
    assert grid[0] == D("0.01") and grid[-1] == D("0.50")
    assert all(type(v) is Decimal for v in grid)
    assert D("0.3") in grid  # 0.01 + 29 x 0.01, exactly (in floats 0.1 + 0.2 != 0.3)
    assert param(D("0.1"), low="0.1", high="0.35", step="0.1").grid() == [D("0.1"), D("0.2"), D("0.3")]
    assert declared_grid({"typed": typed}, "typed", "levels") == [1, 3, 5, 7, 9]
    assert declared_grid({"typed": typed}, "typed", "active") == [False, True]
    assert declared_grid({"typed": typed}, "typed", "mode") == ["calm", "eager"]
    assert param(D(100), low="1E+2", high="1E+2", step=1).grid() == [D(100)]


def test_a_parameter_without_a_grid_is_refused_for_a_sweep_saying_how_to_declare_one(typed: Any) -> None:
    for key in ("offset", "label"):
        with pytest.raises(ConfigError, match=rf"typed\.{key} declares no grid to sweep.*{key}=V1,V2"):
            declared_grid({"typed": typed}, "typed", key)
    with pytest.raises(ConfigError, match=r"has no parameter sise.*did you mean size"):
        declared_grid({"typed": typed}, "typed", "sise")
    with pytest.raises(ConfigError, match="no strategy named typo"):
        declared_grid({"typed": typed}, "typo", "size")


def test_the_search_space_lists_ranges_and_choices(typed: Any) -> None:
    space = search_space({"typed": typed}, "typed")
    assert space == {
        "size": Dimension("size", Decimal, D("0.01"), D("0.5"), D("0.01")),
        "levels": Dimension("levels", int, 1, 9, 2),
        "active": Dimension("active", bool, choices=(False, True)),
        "mode": Dimension("mode", str, choices=("calm", "eager")),
    }  # offset has no high and label is old-style: not searchable
    assert space["levels"].values() == [1, 3, 5, 7, 9]
    assert params_search_space({"x": param(D(1), low=0, high=2)})["x"].values() is None  # continuous


@pytest.mark.parametrize(("declaration", "message"), [
    (lambda: param(D(1), low=2), "outside low..high"),
    (lambda: param(D(1), low=2, high=1), "low 2 is above high 1"),
    (lambda: param(D(1), low=0, high=2, step=0), "step must be positive"),
    (lambda: param(D(1), low=0, step=1), "a step needs both low and high"),
    (lambda: param(1, low=0, high=10**6, step=1), "more than 10000 values"),
    (lambda: param(1, low="0"), "whole number like the default"),
    (lambda: param(True, low=0), "a bool takes no low"),
    (lambda: param("a", choices=["b", "c"]), "not one of the choices"),
    (lambda: param("a", choices=["a", 1]), "every choice must be a str"),
    (lambda: param("a", choices=["a", "a"]), "repeat a value"),
    (lambda: param("a", choices=[]), "non-empty list"),
    (lambda: param("a"), "must be a Decimal, an int or a bool"),
    (lambda: param(D(1), low="lots"), "low='lots'"),
])
def test_bad_declarations_are_the_strategy_s_error(declaration: Any, message: str) -> None:
    with pytest.raises(PluginError, match=message):
        declaration()


def test_a_bad_declaration_names_the_strategy_file(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("from botkit import hookimpl, param\nPARAMS = {'n': param(1, low=2)}\n"
                                     "@hookimpl\ndef botkit_on_snapshot(snapshot, ctx):\n    return None\n")
    with pytest.raises(PluginError, match=r"bad\.py: import failed: PluginError: param\(1\)"):
        discover([tmp_path], entry_point_strategies=False)


def test_old_style_params_keep_working(tmp_path: Path) -> None:
    (tmp_path / "old.py").write_text("from decimal import Decimal\nfrom botkit import hookimpl\n"
                                     "PARAMS = {'size': Decimal('0.01'), 'levels': 3}\n"
                                     "@hookimpl\ndef botkit_on_snapshot(snapshot, ctx):\n    return None\n")
    spec = discover([tmp_path], entry_point_strategies=False)["old"]
    assert spec.defaults == {"size": D("0.01"), "levels": 3}
    assert resolve_params(spec, {"size": "7"}, "strategies.old") == {"size": D(7), "levels": 3}
    assert search_space({"old": spec}, "old") == {}
    with pytest.raises(ConfigError, match=r"old\.levels declares no grid"):
        declared_grid({"old": spec}, "old", "levels")


def test_params_survive_copy_and_pickle() -> None:
    params = Params({"size": D("0.01")})
    assert pickle.loads(pickle.dumps(params)) == params
    assert copy.deepcopy(params).size == D("0.01")


def test_botkit_strategies_shows_what_each_typed_parameter_may_be(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from botkit.cli import main

    (tmp_path / "typed.py").write_text(textwrap.dedent(TYPED))
    result = CliRunner().invoke(main, ["strategies", "--strategy-path", str(tmp_path)], catch_exceptions=False)
    assert ("params: size=0.05 (from 0.01 to 0.5), levels=3 (from 1 to 9), active=True, "
            "mode=calm (one of 'calm', 'eager'), offset=1 (at least 0), label=x\n") in result.stdout


def test_a_parameter_may_not_be_named_as_a_method_of_ctx_params(tmp_path: Path) -> None:
    """Found in review: ctx.params is a dict, so ctx.params.update would be its method, silently,
    not a parameter named update. Refused when the strategy is loaded, naming the fix."""
    (tmp_path / "named.py").write_text(textwrap.dedent("""
        from botkit import hookimpl
        PARAMS = {"size": 1, "update": True, "values": 2}

        @hookimpl
        def botkit_on_snapshot(snapshot, ctx):
            return None
    """))
    with pytest.raises(PluginError, match=r"strategy named: PARAMS names update, values, a method of ctx.params "
                                          r"\(a dict\): ctx.params.update would be the method"):
        discover([tmp_path], entry_point_strategies=False)
