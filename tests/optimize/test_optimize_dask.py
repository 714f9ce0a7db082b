"""``botkit optimize --executor dask``: trials on a 2-worker LocalCluster, the same study as the local pool."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.backtest.commands import invoke
from tests.optimize.conftest import optimize_args

pytest.importorskip("distributed", reason="Dask is the botkit[dask] extra")


@pytest.mark.slow
def test_a_dask_local_cluster_runs_the_same_study_as_the_local_pool(tmp_path: Path, market: Path) -> None:
    local, dask = tmp_path / "local", tmp_path / "dask"
    args = optimize_args(market, trials=4)
    args[args.index("--workers") + 1] = "2"
    code, _, err = invoke(*args, "--report", str(local))
    assert code == 0, err
    code, _, err = invoke(*args, "--executor", "dask", "--report", str(dask))
    assert code == 0, err
    assert "Dask LocalCluster of 2 worker process(es)" in err
    assert (local / "optimize.json").read_bytes() == (dask / "optimize.json").read_bytes()
