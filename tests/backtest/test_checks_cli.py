"""`botkit check` on small crafted strategies (tests/backtest/checked/): one clean, one with its
state in a module global (restarts), one that reads the data it is replayed on ahead of time
(look-ahead), one on an unseeded random generator (determinism)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.backtest.commands import invoke

CHECKED = Path(__file__).parent / "checked"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("checks") / "market.jsonl"
    code, _, err = invoke("data", "generate", str(path), "--snapshots", "60", "--levels", "5", "--trades", "3")
    assert code == 0, err
    return path


def _check(name: str, data: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = invoke("check", name, "--data", str(data), "--strategy-path", str(CHECKED), "--format", "json",
                            *extra)
    return code, json.loads(out) if out.strip() else {}, err


def test_a_clean_strategy_passes_every_check(data: Path) -> None:
    code, report, err = _check("clean", data, "--restarts", "5")
    assert code == 0, err
    assert report["findings"] == {"restarts": 0, "look-ahead": 0, "determinism": 0}
    assert len(report["restarts"]) == len(report["cuts"]) == 5
    code, table, _ = invoke("check", "clean", "--data", str(data), "--strategy-path", str(CHECKED))
    assert code == 0 and "restarts: clean, look-ahead: clean, determinism: clean" in table


def test_a_counter_in_a_module_global_is_a_restart_finding(data: Path) -> None:
    code, report, _ = _check("counter_global", data)
    assert code == 1
    assert report["findings"]["restarts"] > 0
    assert report["findings"]["look-ahead"] == report["findings"]["determinism"] == 0
    first = next(d for d in report["details"] if d["check"] == "restarts")
    assert first["tick"] >= report["restarts"][0]  # nothing differs before the first restart
    assert first["context"].startswith("restarted before tick ")


def test_a_strategy_reading_the_data_ahead_is_a_look_ahead_finding(data: Path) -> None:
    code, report, _ = _check("peeker", data)
    assert code == 1
    assert report["findings"]["look-ahead"] > 0
    assert report["findings"]["restarts"] == report["findings"]["determinism"] == 0
    for finding in (d for d in report["details"] if d["check"] == "look-ahead"):
        cut = int(finding["context"].rsplit(" ", 1)[1])
        assert cut - 3 < finding["tick"] <= cut  # it peeks three snapshots on: only the last three ticks change


def test_an_unseeded_random_generator_is_a_determinism_finding(data: Path) -> None:
    code, report, _ = _check("unseeded", data)
    assert code == 1
    assert report["findings"]["determinism"] > 0


def test_the_same_seed_draws_the_same_ticks(data: Path) -> None:
    first = _check("clean", data, "--seed", "7")[1]
    assert _check("clean", data, "--seed", "7")[1] == first
    assert _check("clean", data, "--seed", "8")[1]["restarts"] != first["restarts"]


def test_bad_input_exits_2(data: Path, tmp_path: Path) -> None:
    code, _, err = _check("no_such_strategy", data)
    assert code == 2 and "no_such_strategy" in err
    short = tmp_path / "short.jsonl"
    short.write_text("".join(data.read_text().splitlines(keepends=True)[:2]))
    code, _, err = _check("clean", short)
    assert code == 2 and "at least 3" in err and err.count("\n") == 1
