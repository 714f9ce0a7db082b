"""botkit new-strategy and new-config: the generated strategy's test passes as generated, the
config loads, and the pieces meet in a backtest and a sweep over the declared grid."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from botkit import config
from botkit.cli import main
from botkit.strategy.plugins import discover


def botkit(*args: str, cwd: Path) -> tuple[int, str, str]:
    """``botkit ARGS`` run in ``cwd``: exit code, stdout, stderr."""
    here = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(here)
    return result.exit_code, result.stdout, result.stderr


def pytest_on(test: Path) -> subprocess.CompletedProcess[str]:
    """The generated test run as its author would: pytest in its own process."""
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
                          cwd=test.parent, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("template", ["snapshot", "market-maker"])
def test_the_generated_test_passes_as_generated(tmp_path: Path, template: str) -> None:
    code, out, _ = botkit("new-strategy", "mybot", "--template", template, cwd=tmp_path)
    assert code == 0
    assert out.splitlines()[0] == "wrote strategies/mybot.py and strategies/test_mybot.py"
    assert "  botkit backtest --strategy mybot" in out
    ran = pytest_on(tmp_path / "strategies" / "test_mybot.py")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "1 passed" in ran.stdout
    found = discover([tmp_path / "strategies"], entry_point_strategies=False)
    assert set(found) == {"mybot"}  # the test file beside it is no strategy
    assert found["mybot"].declared  # typed parameters


def test_the_bars_template_passes_its_test(tmp_path: Path) -> None:
    code, _, err = botkit("new-strategy", "trend", "--template", "bars", "--dir", "mine", cwd=tmp_path)
    assert code == 0
    text = (tmp_path / "mine" / "trend.py").read_text()
    assert 'TIMEFRAMES = ("1m",)' in text
    assert "def botkit_on_bar(bar: Any, ctx: botkit.StrategyContext)" in text
    ran = pytest_on(tmp_path / "mine" / "test_trend.py")
    assert err == ""
    assert ran.returncode == 0 and "1 passed" in ran.stdout, ran.stdout + ran.stderr


def test_default_folder_is_the_first_of_strategy_paths(tmp_path: Path) -> None:
    (tmp_path / "botkit.toml").write_text('strategy_paths = ["algos", "more"]\n')
    code, out, _ = botkit("new-strategy", "first", cwd=tmp_path)
    assert code == 0, out
    assert (tmp_path / "algos" / "first.py").is_file()
    assert (tmp_path / "algos" / "test_first.py").is_file()
    assert "botkit backtest --strategy first --strategy-path algos" in out


def test_existing_files_and_bad_names_are_refused(tmp_path: Path) -> None:
    assert botkit("new-strategy", "mybot", cwd=tmp_path)[0] == 0
    (tmp_path / "strategies" / "mybot.py").write_text("# mine\n")
    code, _, err = botkit("new-strategy", "mybot", cwd=tmp_path)
    assert code == 2
    assert err == ("botkit: config error: NAME: strategies/mybot.py already exists "
                   "(add --force to overwrite it, or choose another name)\n")
    assert (tmp_path / "strategies" / "mybot.py").read_text() == "# mine\n"
    assert botkit("new-strategy", "mybot", "--force", cwd=tmp_path)[0] == 0
    assert "hookimpl" in (tmp_path / "strategies" / "mybot.py").read_text()
    (tmp_path / "afile").write_text("")
    code, _, err = botkit("new-strategy", "other", "--dir", "afile", cwd=tmp_path)
    assert code == 2 and "Invalid value for '--dir': Directory 'afile' is a file." in err
    code, _, err = botkit("new-strategy", "other", "--dir", "afile/sub", cwd=tmp_path)
    assert code == 2 and err.startswith("botkit: config error: --dir: cannot write in afile/sub: "), err
    for name, says in [("9lives", "is not a valid strategy name"), ("my-bot", "is not a valid strategy name"),
                       ("class", "is not a valid strategy name"), ("_hidden", "starts with _"),
                       ("test_x", "starts with test_"), ("grid", "a strategy named grid is already installed")]:
        code, _, err = botkit("new-strategy", name, cwd=tmp_path)
        assert code == 2, name
        assert err.startswith("botkit: config error: NAME: ") and says in err, err
        assert err.count("\n") == 1


def test_new_config_enables_the_strategy_and_a_backtest_and_a_declared_sweep_run(tmp_path: Path) -> None:
    assert botkit("new-strategy", "mybot", cwd=tmp_path)[0] == 0
    code, out, _ = botkit("new-config", "--strategy", "mybot", cwd=tmp_path)
    assert code == 0
    assert out == "wrote botkit.toml (strategies enabled: mybot)\n"
    text = (tmp_path / "botkit.toml").read_text()
    assert "[strategies.mybot]\nenabled = true\n# size = 0.01    # from 0.0001 to 1\n" in text
    assert "# API secret (or BUTTERCOIN_API_SECRET, or secret_file)\n# api_secret = ...\n" in text
    cfg = config.load(tmp_path / "botkit.toml", environ={})
    for section, keys in config.SCHEMA.items():
        for key, spec in keys.items():
            assert cfg[section][key] == spec.default, f"{section}.{key}"
    assert list(cfg.enabled_strategies()) == ["mybot"]
    assert cfg.strategy_paths == (tmp_path / "strategies",)

    code, out, _ = botkit("backtest", "--limit", "60", cwd=tmp_path)
    assert code == 0
    assert "strategy failures                         0" in out
    code, out, err = botkit("backtest", "--limit", "60", "--workers", "1", "--sweep", "mybot.offset", cwd=tmp_path)
    assert code == 0, err
    assert "sweep: 5 runs" in err
    assert sorted(line.split()[1] for line in out.splitlines()[1:]) == ["0.00", "0.25", "0.50", "0.75", "1.00"]

    code, _, err = botkit("new-config", cwd=tmp_path)
    assert (code, err) == (2, "botkit: config error: --output: botkit.toml already exists "
                              "(add --force to overwrite it, or give --output PATH)\n")
    code, _, err = botkit("new-config", "--strategy", "mybto", "-o", "other.toml", cwd=tmp_path)
    assert code == 2
    assert "no strategy named mybto" in err and "did you mean mybot?" in err
    code, _, err = botkit("new-config", "-o", "nowhere/botkit.toml", cwd=tmp_path)
    assert code == 2 and err.startswith("botkit: config error: --output: cannot write nowhere/botkit.toml: "), err
    code, _, err = botkit("backtest", "--sweep", "mybot.size", cwd=tmp_path)
    assert code == 2
    assert "mybot.size declares no grid to sweep" in err
