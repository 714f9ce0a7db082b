"""Strategy discovery: entry points, folders, classes or modules, parameters, and `botkit strategies`."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from botkit import hookimpl
from botkit.core.errors import ConfigError, PluginError
from botkit.data import generate
from botkit.strategy.plugins import discover, make_manager, register, resolve_params

ROOT = Path(__file__).resolve().parents[2]

MODULE_STRATEGY = '''
"""Buys a little on every snapshot."""
from decimal import Decimal
import botkit
from botkit import hookimpl

PARAMS = {"size": Decimal("0.01"), "label": "x", "levels": 3, "active": True}

@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    return [botkit.buy(ctx.params["size"], snapshot.best_bid)]
'''

CLASS_STRATEGY = '''
"""A class-based strategy."""
from botkit import hookimpl

class Quiet:
    """Does nothing, politely."""
    PARAMS = {"patience": 5}

    @hookimpl
    def botkit_on_snapshot(self, snapshot, ctx):
        return None
'''


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(text))
    return path


def test_folder_strategies_as_modules_and_classes(tmp_path: Path) -> None:
    _write(tmp_path, "buyer", MODULE_STRATEGY)
    _write(tmp_path, "quiet", CLASS_STRATEGY)
    _write(tmp_path, "helpers", "X = 1\n")  # not a strategy: skipped
    _write(tmp_path, "_private", MODULE_STRATEGY)  # underscore files are skipped
    found = discover([tmp_path], entry_point_strategies=False)
    assert sorted(found) == ["buyer", "quiet"]
    assert found["buyer"].doc == "Buys a little on every snapshot."
    assert found["quiet"].doc == "Does nothing, politely."
    assert found["quiet"].defaults == {"patience": 5}
    assert type(found["quiet"].plugin).__name__ == "Quiet"


def test_shipped_market_maker_comes_from_the_entry_point_once(tmp_path: Path) -> None:
    found = discover([ROOT / "strategies"])
    assert found["market_maker"].source == "entry point strategies.market_maker"
    assert found["market_maker"].path == (ROOT / "strategies" / "market_maker.py").resolve()


def test_third_party_entry_points_are_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "thirdparty_strats"
    _write(package, "__init__", "")
    _write(package, "trend", MODULE_STRATEGY)
    dist = tmp_path / "thirdparty_strats-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-strats\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[botkit.strategies]\ntrend = thirdparty_strats.trend\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = discover([])
    assert found["trend"].source == "entry point thirdparty_strats.trend"


def test_two_strategies_with_one_name_are_refused(tmp_path: Path) -> None:
    _write(tmp_path / "a", "twin", MODULE_STRATEGY)
    _write(tmp_path / "b", "twin", MODULE_STRATEGY)
    with pytest.raises(PluginError, match="two strategies are named 'twin'"):
        discover([tmp_path / "a", tmp_path / "b"], entry_point_strategies=False)


def test_a_strategy_that_fails_to_import_names_its_file(tmp_path: Path) -> None:
    _write(tmp_path, "broken", "import nonexistent_module_xyz\n")
    with pytest.raises(PluginError, match=r"broken\.py: import failed: ModuleNotFoundError"):
        discover([tmp_path], entry_point_strategies=False)


def test_params_are_typed_by_their_defaults(tmp_path: Path) -> None:
    _write(tmp_path, "buyer", MODULE_STRATEGY)
    spec = discover([tmp_path], entry_point_strategies=False)["buyer"]
    params = resolve_params(spec, {"enabled": True, "size": "0.5", "levels": 7}, "strategies.buyer")
    assert params == {"size": Decimal("0.5"), "label": "x", "levels": 7, "active": True}
    for bad in ({"size": "lots"}, {"levels": "7"}, {"active": 1}, {"label": 3}, {"size": True}):
        with pytest.raises(ConfigError) as caught:
            resolve_params(spec, bad, "strategies.buyer")
        assert caught.value.key == f"strategies.buyer.{next(iter(bad))}"
    with pytest.raises(ConfigError, match="unknown parameter"):
        resolve_params(spec, {"sise": 1}, "strategies.buyer")


HOOK_MISTAKES = {
    # name: (file text, what the one line says after "FILE:LINE: ")
    "unmarked": ("def botkit_on_snapshot(snapshot, ctx):\n    return None\n",
                 "1: botkit_on_snapshot has no @hookimpl, so botkit would never call it: decorate it with @hookimpl"),
    "misspelt": ("from botkit import hookimpl\n\n@hookimpl\ndef botkit_on_snapshoot(snapshot, ctx):\n    return None\n",
                 "3: botkit_on_snapshoot is marked @hookimpl but is not a botkit hook: "
                 "did you mean botkit_on_snapshot?"),
    "misspelt-and-unmarked": ("def botkit_on_snapshoot(snapshot, ctx):\n    return None\n",
                              "1: botkit_on_snapshoot has no @hookimpl and is not a botkit hook: "
                              "did you mean botkit_on_snapshot?"),
    "marked-without-the-prefix": ("from botkit import hookimpl\n\n@hookimpl\ndef on_fill(fill):\n    pass\n",
                                  "3: on_fill is marked @hookimpl but is not a botkit hook: "
                                  "did you mean botkit_on_fill?"),
    "unknown-specname": ("from botkit import hookimpl\n\n@hookimpl(specname='botkit_on_snapshop')\n"
                         "def decide(snapshot):\n    pass\n",
                         "3: decide is marked @hookimpl(specname='botkit_on_snapshop') but botkit_on_snapshop is "
                         "not a botkit hook: did you mean botkit_on_snapshot?"),
    "unmarked-method": ('class Quiet:\n    @__import__("botkit").hookimpl\n'
                        "    def botkit_on_snapshot(self, snapshot):\n"
                        "        return None\n\n    def botkit_on_fill(self, fill):\n        pass\n",
                        "6: Quiet.botkit_on_fill has no @hookimpl, so botkit would never call it"),
    "wrong-argument": ("from botkit import hookimpl\n\n@hookimpl\ndef botkit_on_snapshot(snap, ctx):\n    pass\n",
                       "3: botkit_on_snapshot asks for snap, which botkit_on_snapshot does not pass: "
                       "its arguments are snapshot, ctx"),
    "wrong-method-argument": ("from botkit import hookimpl\n\nclass Q:\n    @hookimpl\n"
                              "    def botkit_on_fill(self, fil, order):\n        pass\n",
                              "4: Q.botkit_on_fill asks for fil, which botkit_on_fill does not pass: "
                              "its arguments are fill, order, ctx"),
    "no-close-hook": ("def botkit_launch_rockets():\n    pass\n",
                      "1: botkit_launch_rockets has no @hookimpl and is not a botkit hook: the hooks are "
                      "botkit_check_intent, botkit_on_bar, botkit_on_fill"),
}


@pytest.mark.parametrize("case", list(HOOK_MISTAKES))
def test_hooks_botkit_would_never_call_are_refused_naming_file_line_and_likely_hook(tmp_path: Path,
                                                                                    case: str) -> None:
    text, message = HOOK_MISTAKES[case]
    path = _write(tmp_path, "oops", text)
    with pytest.raises(PluginError) as caught:
        discover([tmp_path], entry_point_strategies=False)
    assert str(caught.value).startswith(f"{path}:{message}"), str(caught.value)
    assert "\n" not in str(caught.value)


def test_hooks_in_two_places_are_refused(tmp_path: Path) -> None:
    """Only one of the module and its classes would be the plugin: the other's hooks never run."""
    _write(tmp_path, "split", MODULE_STRATEGY + CLASS_STRATEGY.split('"""A class-based strategy."""')[1])
    with pytest.raises(PluginError, match=r"split\.py: hooks in the module and Quiet: botkit would call only one"):
        discover([tmp_path], entry_point_strategies=False)


def test_helpers_beside_strategies_are_not_refused(tmp_path: Path) -> None:
    """Modules without hooks are skipped; a hookspec imported for its docstring is not a hook."""
    _write(tmp_path, "helpers", "from botkit.strategy.hookspecs import botkit_on_snapshot\n\ndef spread(a, b):\n"
                                "    return b - a\n\nclass Book:\n    def best(self):\n        pass\n")
    _write(tmp_path, "buyer", MODULE_STRATEGY + "\nfrom botkit.strategy.hookspecs import botkit_on_fill\n"
                                                "def _helper():\n    pass\n")
    assert sorted(discover([tmp_path], entry_point_strategies=False)) == ["buyer"]


def test_a_class_strategy_without_a_docstring_is_described_by_its_module(tmp_path: Path) -> None:
    _write(tmp_path, "quiet", CLASS_STRATEGY.replace('    """Does nothing, politely."""\n', ""))
    assert discover([tmp_path], entry_point_strategies=False)["quiet"].doc == "A class-based strategy."


def test_shipped_strategies_pass_the_hook_check() -> None:
    found = discover([ROOT / "strategies", ROOT / "tests" / "backtest" / "strategies"])
    assert {"market_maker", "sma_crossover", "grid", "scripted"} <= set(found)


def test_register_still_names_a_misspelt_hook_of_a_plugin_given_directly() -> None:
    class Typo:
        @hookimpl
        def botkit_on_snapshoot(self, snapshot: object) -> None:
            pass

    with pytest.raises(PluginError, match="plugin typo: unknown hook 'botkit_on_snapshoot'"):
        register(make_manager(), [("typo", Typo())])


def test_botkit_strategies_lists_source_params_and_doc(tmp_path: Path) -> None:
    _write(tmp_path / "mine", "buyer", MODULE_STRATEGY)
    _write(tmp_path / "mine", "quiet", CLASS_STRATEGY.replace('    """Does nothing, politely."""\n', ""))
    result = subprocess.run([sys.executable, "-m", "botkit", "strategies", "--strategy-path", str(tmp_path / "mine")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60, check=True)
    assert "quiet  (available)" in result.stdout
    assert "A class-based strategy." in result.stdout  # the module's docstring: the class has none
    assert "market_maker  (enabled)" in result.stdout
    assert "buyer  (available)" in result.stdout
    assert f"source: {tmp_path / 'mine' / 'buyer.py'}" in result.stdout
    assert "params: size=0.01, label=x, levels=3, active=True" in result.stdout
    assert "Buys a little on every snapshot." in result.stdout


CLI_MISTAKES = {
    "unmarked": ("def botkit_on_snapshot(snapshot, ctx):\n    return None\n",
                 "oops.py:1: botkit_on_snapshot has no @hookimpl, so botkit would never call it"),
    "misspelt": ("from botkit import hookimpl\n\n@hookimpl\ndef botkit_on_snapshoot(snapshot, ctx):\n    return None\n",
                 "oops.py:3: botkit_on_snapshoot is marked @hookimpl but is not a botkit hook: "
                 "did you mean botkit_on_snapshot?"),
    "wrong-argument": ("from botkit import hookimpl\n\n@hookimpl\ndef botkit_on_snapshot(snap, ctx):\n    pass\n",
                       "oops.py:3: botkit_on_snapshot asks for snap, which botkit_on_snapshot does not pass"),
}
COMMANDS = {
    "strategies": ["strategies"],
    "run": ["run", "--duration", "1"],
    "backtest": ["backtest", "--strategy", "oops", "--data", "market.bks"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("case", list(CLI_MISTAKES))
def test_every_command_refuses_a_bad_hook_in_one_line(tmp_path: Path, case: str, command: str) -> None:
    """Found by a newcomer trial: a misspelt hook or argument gave a 15-line pluggy traceback; then
    `botkit strategies` listed a misspelt hook as fine and an unmarked one was never called."""
    text, message = CLI_MISTAKES[case]
    _write(tmp_path / "mine", "oops", text)
    (tmp_path / "c.toml").write_text(f'strategy_paths = ["{tmp_path / "mine"}"]\n[strategies.oops]\n')
    generate(tmp_path / "market.bks", 20, levels=2, seed=1)
    result = subprocess.run([sys.executable, "-m", "botkit", *COMMANDS[command], "--config", str(tmp_path / "c.toml")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False)
    assert result.returncode == 2, result
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"botkit: {tmp_path / 'mine' / message}"), line
    assert not (tmp_path / "botkit-data").exists()  # refused before any exchange or journal was touched


def test_a_param_for_a_strategy_that_is_not_enabled_is_refused_not_enabling_it() -> None:
    """Found by a newcomer trial: --param quietly ran a strategy the config had turned off."""
    from botkit import config
    from botkit.engine.assembly import build_strategies

    cfg = config.parse({"strategy_paths": [], "strategies": {"market_maker": {"enabled": False}}}, environ={})
    with pytest.raises(ConfigError, match="strategy market_maker is not enabled"):
        build_strategies(cfg, make_manager(), params={"market_maker": {"spread_bps": 15}})
    hosts = build_strategies(cfg, make_manager(), only=["market_maker"], params={"market_maker": {"spread_bps": 15}})
    assert hosts[0].ctx.params["spread_bps"] == 15


def test_a_run_imports_only_the_strategies_it_names(tmp_path: Path) -> None:
    # A run or a backtest finds its strategies by entry-point name and file stem without importing
    # the others: a draft that fails to import does not stop it, and `botkit strategies` (which
    # imports everything) still names the draft's mistake.
    from botkit.config import parse
    from botkit.engine.assembly import plan_engine

    _write(tmp_path, "buyer", MODULE_STRATEGY)
    marker = tmp_path / "draft-imported"
    _write(tmp_path, "draft", f"open({str(marker)!r}, 'w').close()\nraise RuntimeError('half written')\n")
    found = discover([ROOT / "strategies", tmp_path], names=["buyer", "market_maker"])
    assert sorted(found) == ["buyer", "market_maker"]
    assert found["market_maker"].source == "entry point strategies.market_maker"  # the checkout's file: not again
    assert not marker.exists()
    plan = plan_engine(parse({"strategy_paths": [str(tmp_path)], "strategies": {"buyer": {}}}), wall_clock=False)
    assert [host.name for host in plan.hosts] == ["buyer"]
    with pytest.raises(PluginError, match=r"draft\.py: import failed: RuntimeError: half written"):
        discover([tmp_path])
    assert marker.exists()  # the marker tells an import
    # A name that is nowhere: the refusal lists every strategy there is, as before.
    _write(tmp_path / "mine", "buyer", MODULE_STRATEGY)
    with pytest.raises(ConfigError, match=r"buyr: no such strategy.*did you mean buyer.*"
                                          r"available: book_imbalance, buyer, grid, market_maker, sma_crossover;"):
        plan_engine(parse({"strategies": {"buyr": {}}}), extra_paths=[tmp_path / "mine"], wall_clock=False)


def test_an_unused_entry_point_whose_package_raises_does_not_stop_a_run(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Found in review: locating an entry point's module (to know it is no second strategy)
    imports its package, and a package that raised stopped a run that does not use it."""
    from importlib.metadata import EntryPoint

    package = tmp_path / "brokenpkg"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('boom')\n")
    (package / "strat.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = EntryPoint("broken", "brokenpkg.strat", "botkit.strategies")
    shipped = list(importlib.metadata.entry_points(group="botkit.strategies"))
    monkeypatch.setattr("botkit.strategy.plugins.entry_points", lambda group: [*shipped, broken])
    assert sorted(discover(names=["market_maker"])) == ["market_maker"]
    with pytest.raises(PluginError, match=r"entry point broken = brokenpkg\.strat: import failed: boom"):
        discover()
