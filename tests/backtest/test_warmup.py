"""Warm-up: a backtest's first N bars built without trading, and a recording read for
``botkit run --warmup``; bad warm-ups refused in one line, exit 2."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from botkit.cli import main
from botkit.core.errors import ConfigError
from botkit.data import JsonlWriter
from botkit.engine.bars import read_warmup
from botkit.model import BookLevel, OrderBook, Side, Snapshot, Ticker
from botkit.testing import StrategyRun, mids, run_strategy

D = Decimal
MIDS = [100, 100, 100, 103, 106, 109, 106, 100, 94, 94]


def test_a_warmed_up_backtest_decides_as_one_that_ran_through() -> None:
    def run(warmup: int) -> StrategyRun:
        return run_strategy("sma_crossover", mids(MIDS, start=60_000, every_ms=60_000),
                            params={"fast": 2, "slow": 3, "size": "1"}, initial={"USD": D(10000)},
                            maker_fee_bps=0, taker_fee_bps=0, warmup_bars=warmup)

    through, warmed = run(0), run(3)
    # Three bars (closed by t2, t3, t4) are built first; the strategy starts at t5 with them in
    # ctx.history, seeds its SMAs from them, and decides t5 as the bot that ran through did.
    assert warmed.metrics.snapshots == through.metrics.snapshots - 4
    assert warmed.executions() == through.executions() == [
        (5 * 60_000, Side.BUY, D("106.5"), D(1)), (9 * 60_000, Side.SELL, D("93.5"), D(1))]


def test_a_warmup_longer_than_the_data_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"--warmup: the data ran out during the warm-up of 20 bars"):
        run_strategy("sma_crossover", mids(MIDS, start=60_000, every_ms=60_000), warmup_bars=20)


def test_a_warmup_beyond_the_history_kept_is_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["backtest", "--strategy", "sma_crossover", "--warmup", "501",
                                       "--no-progress"])
    lines = [line for line in result.stderr.splitlines() if line.strip() and "no --data" not in line]
    assert result.exit_code == 2, result.output
    assert lines == ["botkit: config error: --warmup: 501 bars is more than the strategies keep (500, their "
                     "HISTORY) (use at most 500 or raise HISTORY)"]


def _recording(path: Path, times: list[int], currency: str = "USD") -> Path:
    with JsonlWriter(path) as writer:
        for ts in times:
            book = OrderBook((BookLevel(D(99), D(1)),), (BookLevel(D(101), D(1)),))
            writer.write(Snapshot(ts, Ticker(D(99), D(99), D(101), currency), book))
    return path


def test_a_warmup_recording_is_read_whole_and_in_order(tmp_path: Path) -> None:
    assert [s.ts for s in read_warmup(_recording(tmp_path / "ok.jsonl", [1000, 2000, 3000]))] == [1000, 2000, 3000]
    with pytest.raises(ConfigError, match=r"--warmup: .*back.jsonl:3: ts 1500 is earlier than the previous line's "
                                          r"2000 \(give a recording of this market in time order"):
        read_warmup(_recording(tmp_path / "back.jsonl", [1000, 2000, 1500]))
    with pytest.raises(ConfigError, match=r"same.jsonl: snapshot 2 \(ts 1000\) is not after the one before it"):
        read_warmup(_recording(tmp_path / "same.jsonl", [1000, 1000]))
    with pytest.raises(ConfigError, match=r"eur.jsonl:1: prices must be in USD"):
        read_warmup(_recording(tmp_path / "eur.jsonl", [1000], currency="EUR"))


def test_botkit_run_refuses_a_bad_warmup_file_before_starting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    bad = _recording(tmp_path / "back.jsonl", [2000, 1000])
    result = CliRunner().invoke(main, ["run", "--warmup", str(bad), "--duration", "0"])
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and "--warmup" in lines[0] and "back.jsonl:2: ts 1000 is earlier" in lines[0]
