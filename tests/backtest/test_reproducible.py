"""Issue 10.4: report.json records everything that decided the result, and re-runs from it.

The bug: with parameters set in botkit.toml, ``run.params`` was ``{}`` and ``data`` only the
file's base name, so nobody could say what a report measured, let alone run it again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

import botkit
from botkit.data import generate, open_snapshots
from tests.backtest.commands import SHIPPED, invoke

CONFIG = """\
strategy_paths = ["{strategies}"]

[strategies.grid]
step = 20
levels = 2

[risk]
max_position = 2
max_open_orders = 6

[engine]
max_intents_per_tick = 10

[paper]
maker_fee_bps = 4
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def result_bytes(report: Path) -> bytes:
    """The ``result`` section of a report.json, as the bytes it is written with."""
    document = json.loads(report.read_text())
    return json.dumps(document["result"], indent=2).encode()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a botkit.toml that sets strategy parameters, risk limits and fees."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "botkit.toml").write_text(CONFIG.format(strategies=SHIPPED))
    generate(folder / "market.bks", 900, levels=5, seed=5)
    monkeypatch.chdir(folder)
    return folder


def first_run(project: Path) -> dict[str, Any]:
    code, _, err = invoke("backtest", "--data", "market.bks", "--strategy", "grid", "--param", "grid.size=0.1",
                          "--initial", "USD=20000,BTC=0.3", "--latency-ms", "500", "--limit", "800",
                          "--report", "first")
    assert code == 0, err
    report: dict[str, Any] = json.loads((project / "first" / "report.json").read_text())
    assert report["result"]["fills"] > 0  # something to reproduce
    return report


def test_the_report_records_everything_that_decided_the_result(project: Path) -> None:
    run = first_run(project)["run"]
    grid = run["strategies"]["grid"]
    assert grid["params"] == {"levels": 2, "size": "0.1", "step": "20"}  # botkit.toml and --param merged
    assert grid["source"] == str((SHIPPED / "grid.py").resolve())
    assert grid["sha256"] == sha256(SHIPPED / "grid.py")
    assert run["risk"]["max_position"] == "2"
    assert run["risk"]["max_open_orders"] == 6
    assert run["risk"]["daily_loss_limit"] == "5000"  # the default, written down all the same
    assert run["engine"]["max_intents_per_tick"] == 10
    assert run["fees"] == {"maker_fee_bps": "4", "taker_fee_bps": "20"}
    assert run["initial"] == {"BTC": "0.3", "USD": "20000"}
    assert run["fill_model"] == {"model": "book-walk", "latency_ms": 500}
    snapshots = list(open_snapshots(project / "market.bks"))[:800]
    assert run["data"] == {"path": str(project / "market.bks"), "sha256": sha256(project / "market.bks"),
                           "first_ts": snapshots[0].ts, "last_ts": snapshots[-1].ts, "snapshots": 800,
                           "limit": 800, "strict": False, "warmup_bars": 0}
    assert run["botkit_version"] == botkit.__version__
    assert run["config_file"] == str(project / "botkit.toml")
    assert run["command"] == ["botkit", "backtest", "--data", "market.bks", "--strategy", "grid",
                              "--param", "grid.size=0.1", "--initial", "USD=20000,BTC=0.3", "--latency-ms", "500",
                              "--limit", "800"]


def test_from_report_gives_the_same_result_byte_for_byte(project: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    first_run(project)
    elsewhere = tmp_path / "elsewhere"  # no botkit.toml here: nothing of today's config may leak in
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = invoke("backtest", "--from-report", str(project / "first" / "report.json"), "--report", "again")
    assert code == 0, err
    assert "end equity (USD)" in out
    assert result_bytes(elsewhere / "again" / "report.json") == result_bytes(project / "first" / "report.json")
    for name in ("fills.csv", "orders.csv", "equity.png"):
        assert (elsewhere / "again" / name).read_bytes() == (project / "first" / name).read_bytes(), name
    first, again = (json.loads((d / "report.json").read_text())["run"]
                    for d in (project / "first", elsewhere / "again"))
    assert again["command"] == ["botkit", "backtest", "--from-report", str(project / "first" / "report.json")]
    for key in ("command", "config_file"):  # how it was asked for differs; nothing that decided it
        del first[key], again[key]
    assert again == first


def test_from_report_refuses_a_changed_data_file(project: Path) -> None:
    first_run(project)
    generate(project / "market.bks", 900, levels=5, seed=6)  # same name, other market
    code, _, err = invoke("backtest", "--from-report", "first/report.json")
    assert code == 2
    assert err.strip().count("\n") == 0, err
    assert "market.bks has changed since the report was made" in err


def test_from_report_refuses_a_changed_strategy(project: Path, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "grid2.py").write_text((SHIPPED / "grid.py").read_text())
    code, _, err = invoke("backtest", "--data", "market.bks", "--strategy-path", str(mine), "--strategy", "grid2",
                          "--limit", "50", "--report", "first")
    assert code == 0, err
    (mine / "grid2.py").write_text((SHIPPED / "grid.py").read_text() + "\n# edited\n")
    code, _, err = invoke("backtest", "--from-report", "first/report.json")
    assert code == 2
    assert "strategy grid2's source" in err
    assert "has changed" in err


def test_from_report_refuses_options_the_report_decides(project: Path) -> None:
    first_run(project)
    code, _, err = invoke("backtest", "--from-report", "first/report.json", "--param", "grid.step=5")
    assert code == 2
    assert "--param" in err
    assert "cannot be combined with --from-report" in err


def test_every_sweep_point_records_what_decided_it(project: Path) -> None:
    code, _, err = invoke("backtest", "--data", "market.bks", "--strategy", "grid", "--sweep", "grid.size=0.1,0.3",
                          "--initial", "USD=20000,BTC=0.3",
                          "--limit", "800", "--workers", "1", "--report", "sweep")
    assert code == 0, err
    runs = json.loads((project / "sweep" / "sweep.json").read_text())["runs"]
    sizes = {point["grid.size"]: point["run"] for point in runs}
    assert set(sizes) == {"0.1", "0.3"}
    for size, run in sizes.items():
        assert run["strategies"]["grid"]["params"] == {"levels": 2, "size": size, "step": "20"}
        assert run["risk"]["max_position"] == "2"
        assert run["fees"] == {"maker_fee_bps": "4", "taker_fee_bps": "20"}
        assert run["data"]["sha256"] == sha256(project / "market.bks")
        assert run["data"]["snapshots"] == 800
        assert run["botkit_version"] == botkit.__version__
    # A point re-runs from its run record alone, to the metrics the sweep ranked.
    best = runs[0]
    (project / "point.json").write_text(json.dumps({"run": best["run"]}))
    code, _, err = invoke("backtest", "--from-report", "point.json", "--report", "point")
    assert code == 0, err
    result = json.loads((project / "point" / "report.json").read_text())["result"]
    assert {k: result[k] for k in best if k in result} == {k: v for k, v in best.items() if k in result}
    assert result["fills"] == best["fills"] > 0
