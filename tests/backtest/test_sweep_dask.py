"""Sweeps on Dask: the same grid gives the same bytes as the local process pool.

Everything runs on this machine: a ``distributed.LocalCluster`` started by botkit itself (no
``--scheduler``) and one started here and given as ``--scheduler``, on 127.0.0.1 only. The
unreachable scheduler is a port on 127.0.0.1 that nothing listens on.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Imported here, not first inside a CliRunner call: distributed binds its log handler to the
# sys.stderr of its first import, and CliRunner's stderr is closed once the call returns.
distributed = pytest.importorskip("distributed", reason='sweeps on Dask need pip install "botkit[dask]"')

from botkit.backtest.sweep import DaskExecutor, SweepJob  # noqa: E402
from botkit.core.errors import ConfigError  # noqa: E402
from botkit.data import generate  # noqa: E402
from tests.backtest.commands import SHIPPED, invoke  # noqa: E402


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small seeded market: enough for the grid strategy to trade, quick to replay."""
    return generate(tmp_path_factory.mktemp("dask") / "market.bks", 800, levels=4, seed=11)


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A running two-worker cluster, given to botkit as ``--scheduler`` (a cluster it did not start)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None, silence_logs=50) as cluster:
        yield str(cluster.scheduler_address)


def sweep_args(market: Path, report: Path, *extra: str) -> list[str]:
    return ["backtest", "--data", str(market), "--strategy-path", str(SHIPPED), "--strategy", "grid",
            "--maker-fee-bps", "1.5", "--sweep", "grid.step=2,5", "--sweep", "grid.levels=1,3",
            "--rank-by", "sharpe", "--report", str(report), *extra]


def report_bytes(report: Path) -> dict[str, bytes]:
    return {name: (report / name).read_bytes() for name in ("sweep.csv", "sweep.json", "heatmap.png")}


@pytest.fixture(scope="module")
def local_pool(market: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, bytes]]:
    """The reference: the grid on the local process pool (its table, and its report's bytes)."""
    report = tmp_path_factory.mktemp("local")
    code, out, err = invoke(*sweep_args(market, report, "--workers", "2"))
    assert code == 0, err
    assert "4 runs on 2 process(es)" in err
    return out, report_bytes(report)


@pytest.mark.slow
def test_dask_local_cluster_gives_the_local_pools_bytes(tmp_path: Path, market: Path,
                                                        local_pool: tuple[str, dict[str, bytes]]) -> None:
    code, dask_out, err = invoke(*sweep_args(market, tmp_path / "dask", "--executor", "dask", "--workers", "2"))
    assert code == 0, err
    assert "4 runs on a Dask LocalCluster of 2 worker process(es)" in err
    assert dask_out == local_pool[0]
    assert report_bytes(tmp_path / "dask") == local_pool[1]
    document = json.loads((tmp_path / "dask" / "sweep.json").read_text())
    assert document["rank_by"] == "sharpe"
    assert document["parameters"] == ["grid.step", "grid.levels"]
    runs = document["runs"]
    assert [run["rank"] for run in runs] == [1, 2, 3, 4]
    assert {(run["grid.step"], run["grid.levels"]) for run in runs} == {("2", "1"), ("2", "3"), ("5", "1"), ("5", "3")}
    assert any(run["fills"] > 0 for run in runs)
    assert all(isinstance(run["end_equity"], str) and isinstance(run["fees"], str) for run in runs)  # exact money


@pytest.mark.slow
def test_dask_scheduler_address_gives_the_same_bytes(tmp_path: Path, market: Path, scheduler: str,
                                                     local_pool: tuple[str, dict[str, bytes]]) -> None:
    code, out, err = invoke(*sweep_args(market, tmp_path / "remote", "--executor", "dask", "--scheduler", scheduler))
    assert code == 0, err
    assert f"the Dask cluster at {scheduler} (2 worker(s))" in err
    assert out == local_pool[0]
    assert report_bytes(tmp_path / "remote") == local_pool[1]


def test_a_failing_point_is_one_line_naming_it(market: Path, scheduler: str) -> None:
    code, _, err = invoke("backtest", "--data", str(market), "--strategy-path", str(SHIPPED), "--strategy", "grid",
                          "--sweep", "grid.levels=1,many", "--executor", "dask", "--scheduler", scheduler)
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("botkit: sweep point grid.levels=many: config error:")
    assert "Traceback" not in err


def test_workers_that_cannot_read_the_files_are_refused_before_any_run(tmp_path: Path, scheduler: str) -> None:
    job = SweepJob(None, {"data": tmp_path / "elsewhere.bks", "strategy_paths": ()}, {}, "x=1")
    with DaskExecutor(scheduler, timeout=5) as executor, pytest.raises(ConfigError, match=r"cannot read .*/elsewhere"):
        executor.check([job])


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_an_unreachable_scheduler_is_one_clear_line(market: Path) -> None:
    address = f"tcp://127.0.0.1:{unused_port()}"
    code, out, err = invoke("backtest", "--data", str(market), "--sweep", "grid.step=2,5", "--executor", "dask",
                            "--scheduler", address, "--scheduler-timeout", "1")
    assert code == 2
    assert out == ""
    assert err.strip().splitlines() == [err.strip()]
    assert f"cannot reach the Dask scheduler at {address} within 1 s" in err


def test_option_combinations_that_mean_nothing_are_refused(market: Path) -> None:
    code, _, err = invoke("backtest", "--data", str(market), "--sweep", "grid.step=2,5",
                          "--scheduler", "tcp://127.0.0.1:8786")
    assert code == 2
    assert "--scheduler: only applies to --executor dask" in err
    code, _, err = invoke("backtest", "--data", str(market), "--executor", "dask")
    assert code == 2
    assert "--executor: only applies to a sweep" in err
    code, _, err = invoke("backtest", "--data", str(market), "--sweep", "grid.step=2,5", "--executor", "dask",
                          "--scheduler", "not-an-address", "--scheduler-timeout", "1")
    assert code == 2
    assert "is not a scheduler address" in err


def test_without_dask_installed_the_error_says_how_to_install_it(market: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    code, _, err = invoke("backtest", "--data", str(market), "--sweep", "grid.step=2,5", "--executor", "dask")
    assert code == 2
    assert err.strip() == 'botkit: config error: --executor: dask is not installed (pip install "botkit[dask]")'
