"""Config loading: every key documented, every bad value named with its fix, exit status 2."""

from __future__ import annotations

import dataclasses
import logging
import re
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit import config
from botkit.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config.example.toml"


def _all_keys() -> list[tuple[str, str, config.Key]]:
    return [(section, key, spec) for section, keys in config.SCHEMA.items() for key, spec in keys.items()]


def test_example_config_is_valid_and_matches_the_defaults() -> None:
    cfg = config.load(EXAMPLE, environ={})
    for section, key, spec in _all_keys():
        if spec.default is not None:
            assert cfg[section][key] == spec.default, f"{section}.{key}: example differs from the default"
    assert cfg.enabled_strategies() == {"market_maker": {
        "enabled": True, "spread_bps": Decimal(20), "size": Decimal("0.05"), "max_inventory": Decimal("0.5"),
        "skew_bps": Decimal(10), "refresh_bps": Decimal(5)}}
    assert cfg.uses_embedded_sandbox


@pytest.mark.parametrize(("section", "key"), [(s, k) for s, k, _ in _all_keys()])
def test_every_key_is_documented_in_the_example(section: str, key: str) -> None:
    text = EXAMPLE.read_text()
    body = text.split(f"[{section}]", 1)[1].split("\n[", 1)[0]
    assert re.search(rf"^#? ?{key} = ", body, re.MULTILINE), f"{section}.{key} missing from config.example.toml"


def _wrong_value(spec: config.Key) -> Any:
    return {"str": 12, "choice": "nonsense", "int": "three", "decimal": "lots", "seconds": [1],
            "bool": "yes", "list[str]": "strategies"}[spec.kind]


@pytest.mark.parametrize(("section", "key"), [(s, k) for s, k, _ in _all_keys()])
def test_every_key_with_a_wrong_value_names_itself(section: str, key: str) -> None:
    spec = config.SCHEMA[section][key]
    with pytest.raises(ConfigError) as caught:
        config.parse({section: {key: _wrong_value(spec)}}, environ={})
    assert caught.value.key == f"{section}.{key}"
    assert str(caught.value).startswith(f"config error: {section}.{key}: ")


@pytest.mark.parametrize(("data", "key", "words"), [
    ({"risk": {"max_positon": 1}}, "risk.max_positon", "unknown key (did you mean max_position?"),
    ({"riks": {}}, "riks", "unknown key (did you mean risk?"),
    ({"risk": {"zzz": 1}}, "risk.zzz", "unknown key (known keys:"),
    ({"engine": {"interval_seconds": 0}}, "engine.interval_seconds", "from 0.01 to 86400 seconds"),
    ({"engine": {"interval_seconds": "nan"}}, "engine.interval_seconds", "finite"),
    ({"risk": {"max_open_orders": True}}, "risk.max_open_orders", "whole number"),
    ({"exchange": {"base_url": "ftp://x"}}, "exchange.base_url", "not an http"),
    ({"exchange": {"base_url": "http://127.0.0.1:1"}}, "exchange.api_key", "required"),
    ({"journal": {"url": "journal.sqlite"}}, "journal.url", "not a SQLAlchemy URL"),
    ({"strategies": {"mm": {"enabled": "yes"}}}, "strategies.mm.enabled", "true or false"),
    ({"strategies": 3}, "strategies", "one table per strategy"),
    ({"strategy_paths": "strategies"}, "strategy_paths", "list of strings"),
])
def test_bad_values_are_named(data: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config.parse(data, environ={})
    assert caught.value.key == key
    assert words in str(caught.value)


def test_secret_values_are_never_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        config.parse({"exchange": {"api_secret": 123456789}}, environ={})
    assert "123456789" not in str(caught.value)


def test_credentials_fall_back_to_the_environment() -> None:
    cfg = config.parse({"exchange": {"base_url": "http://127.0.0.1:9"}},
                       environ={"BUTTERCOIN_API_KEY": "k", "BUTTERCOIN_API_SECRET": "s3cr3t-value"})
    assert cfg["exchange"]["api_key"] == "k"
    assert cfg.secrets == ("s3cr3t-value",)
    assert "s3cr3t-value" not in repr(cfg)
    assert "s3cr3t-value" not in repr(cfg["exchange"]) and "s3cr3t-value" not in repr(dataclasses.asdict(cfg))
    assert cfg["exchange"]["api_secret"] == "s3cr3t-value"  # the value itself is intact for signing


def test_secret_file_is_read_and_a_world_readable_one_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secret = tmp_path / "api.secret"
    secret.write_text("file-secret-123\n")
    secret.chmod(0o644)
    with caplog.at_level(logging.WARNING, "botkit.config"):
        cfg = config.parse({"exchange": {"base_url": "http://127.0.0.1:9", "api_key": "k",
                                         "secret_file": str(secret)}}, environ={})
    assert cfg["exchange"]["api_secret"] == "file-secret-123"
    assert "readable by other users" in caplog.text
    assert "chmod 600" in caplog.text
    assert "file-secret-123" not in caplog.text
    caplog.clear()
    secret.chmod(0o600)
    config.parse({"exchange": {"base_url": "http://127.0.0.1:9", "api_key": "k", "secret_file": str(secret)}},
                 environ={})
    assert "readable" not in caplog.text


def test_toml_numbers_are_exact_decimals(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[risk]\nmax_order_quantity = 0.1\n[strategies.market_maker]\nsize = 0.1\n")
    cfg = config.load(path, environ={})
    assert cfg["risk"]["max_order_quantity"] == Decimal("0.1")
    assert cfg.strategies["market_maker"]["size"] == Decimal("0.1")


def test_no_strategies_table_means_the_market_maker() -> None:
    assert list(config.parse({}, environ={}).enabled_strategies()) == ["market_maker"]
    assert config.parse({"strategies": {}}, environ={}).enabled_strategies() == {}


def _run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "botkit", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60, check=False)


@pytest.mark.parametrize(("toml", "key"), [
    ("[risk]\nmax_position = \"many\"\n", "risk.max_position"),
    ("[engine]\non_shutdown = \"explode\"\n", "engine.on_shutdown"),
    ("[strategies.market_maker]\nspread = 3\n", "strategies.market_maker.spread"),
    ("[strategies.market_maker]\nsize = \"x\"\n", "strategies.market_maker.size"),
    ("[strategies.nosuch]\n", "strategies.nosuch"),
    ("[risk\n", "c.toml"),
    ("[exchange]\ntimeout_seconds = 1e400\n", "exchange.timeout_seconds"),
    ("[engine]\ninterval_seconds = 1e-40000000\n", "engine.interval_seconds"),
    ("[engine]\nstrategy_timeout_seconds = 1e400\n", "engine.strategy_timeout_seconds"),
    ("[risk]\nmax_notional = 1e40000000\n", "risk.max_notional"),
    ('[risk]\nmax_position = " 5"\n', "risk.max_position"),
    ("[strategies.market_maker]\nsize = 1e-40000000\n", "strategies.market_maker.size"),
    ("[engine]\nbreaker_threshold = " + "9" * 5000 + "\n", "c.toml: not valid TOML"),
])
def test_cli_reports_one_line_and_exits_2(tmp_path: Path, toml: str, key: str) -> None:
    (tmp_path / "c.toml").write_text(toml)
    result = _run_cli("run", "--config", str(tmp_path / "c.toml"), "--duration", "0", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert key in lines[0]
    assert "Traceback" not in result.stderr


def test_cli_missing_config_file_exits_2(tmp_path: Path) -> None:
    result = _run_cli("run", "--config", str(tmp_path / "absent.toml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_example_parses_as_plain_toml_too() -> None:
    assert "risk" in tomllib.loads(EXAMPLE.read_text())


_NUMERIC = [(s, k, spec) for s, k, spec in _all_keys() if spec.kind in ("int", "seconds", "decimal")]


@pytest.mark.parametrize(("section", "key"), [(s, k) for s, k, spec in _NUMERIC if spec.kind in ("int", "seconds")])
def test_every_duration_and_count_has_a_range(section: str, key: str) -> None:
    spec = config.SCHEMA[section][key]
    assert spec.minimum is not None and spec.maximum is not None


@pytest.mark.parametrize(("section", "key"), [(s, k) for s, k, spec in _NUMERIC if spec.maximum is not None])
def test_an_absurd_value_is_refused_with_the_key_and_its_range(section: str, key: str) -> None:
    spec = config.SCHEMA[section][key]
    assert spec.maximum is not None
    absurd: list[Any] = [10**400, int(spec.maximum) + 1] if spec.kind == "int" else [
        Decimal("1e400"), Decimal("1e-40000000"), spec.maximum + 1, "1_0", "\uff11"]
    for value in absurd:
        with pytest.raises(ConfigError) as caught:
            config.parse({section: {key: value}}, environ={})
        text = str(caught.value)
        assert caught.value.key == f"{section}.{key}"
        assert f"from {spec.minimum} to {spec.maximum}" in text, text
        assert "\n" not in text and len(text) < 300, text
