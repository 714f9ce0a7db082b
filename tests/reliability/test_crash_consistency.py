"""Scenario 1 (and 8's crash half): kill -9 the daemon again and again, restart it each time, then
stop it cleanly and compare the journal with the exchange.

Most kills land at random moments; the rest are forced into the risky windows with crash points
(``botkit/core/crashpoints.py``): after the pending row is committed but before the POST, after the
exchange accepted the order but before its id is journaled, and inside the transaction that
journals a fill. The exchange (the sandbox, in this test's process) outlives every kill.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from botkit.client import Buttercoin, ButtercoinClient
from botkit.journal import Journal, queries
from tests.engine.harness import BOT_KEY, BOT_SECRET, accounts
from tests.polling import wait
from tests.reliability.checks import compare, journal_state
from tests.reliability.conftest import Figures, scaled

POINTS = ("order.pending", "order.placed", "fill.journal")


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from botkit.sandbox import Sandbox

    with Sandbox(market="sim", seed=31, accounts=accounts(), rate_limit=0, market_interval=0.05) as sb:
        yield sb


def _config(tmp_path: Path, sandbox: Any, journal_url: str) -> Path:
    path = tmp_path / "botkit.toml"
    path.write_text(f"""
strategy_paths = []
[exchange]
base_url = "{sandbox.base_url}"
api_key = "{BOT_KEY}"
api_secret = "{BOT_SECRET}"
timeout_seconds = 5
[journal]
url = "{journal_url}"
[engine]
interval_seconds = 0.1
resolve_window_seconds = 2
[strategies.market_maker]
spread_bps = 2
size = 0.01
refresh_bps = 1
""")
    return path


_children: list[subprocess.Popen[bytes]] = []


@pytest.fixture(autouse=True)
def _no_daemon_outlives_its_test() -> Iterator[None]:
    """A failed assertion or a pytest timeout must not leave a ``botkit run`` trading on."""
    yield
    while _children:
        proc = _children.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _start(config: Path, cwd: Path, crash_at: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "BOTKIT_CRASH_AT"}
    if crash_at:
        env["BOTKIT_CRASH_AT"] = crash_at
    with (cwd / "daemon.log").open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "botkit", "run", "--config", str(config)], cwd=cwd,
                                env=env, stdout=log, stderr=log)
    _children.append(proc)
    return proc


def _ticks(cwd: Path) -> int:
    return (cwd / "daemon.log").read_bytes().count(b" tick mid=")


def _stop_after_ticks(proc: subprocess.Popen[bytes], cwd: Path, ticks: int) -> None:
    """SIGTERM once the daemon has ticked ``ticks`` times: a count of ticks, not a guess of seconds,
    so that the signal never lands before the daemon has installed its handlers, however slow the
    machine."""
    start = _ticks(cwd)
    wait(lambda: proc.poll() is not None or _ticks(cwd) >= start + ticks, 120, f"{ticks} ticks", every=0.05)
    assert proc.poll() is None, (cwd / "daemon.log").read_text()[-3000:]
    proc.send_signal(signal.SIGTERM)


def _posts(sandbox: Any) -> int:
    return int(sandbox.stats.requests.get(("POST", "/v1/orders"), 0))


def _crash_rounds(sandbox: Any, config: Path, tmp_path: Path, rounds: int, rng: random.Random,
                  figures: Figures) -> None:
    for round_ in range(rounds):
        forced = round_ % 3 == 1  # a third of the kills are forced into a risky window
        point = POINTS[(round_ // 3) % len(POINTS)]
        crash_at = f"{point}:{rng.randint(1, 3)}" if forced else None
        posts_before = _posts(sandbox)
        proc = _start(config, tmp_path, crash_at)
        deadline = time.monotonic() + (30 if forced else 60)
        if forced:
            while proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
        else:
            while _posts(sandbox) == posts_before and time.monotonic() < deadline:
                time.sleep(0.05)  # up and trading
            time.sleep(rng.uniform(0.0, 1.2))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            figures.add("killed_at_random" if not forced else "crash_point_not_reached")
        else:
            figures.add(f"crashed_at:{point}")
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, f"round {round_}: exit {proc.returncode}"


def _run_crash_suite(sandbox: Any, tmp_path: Path, journal_url: str, rounds: int, figures: Figures) -> None:
    rng = random.Random(rounds)
    config = _config(tmp_path, sandbox, journal_url)
    posts_start = _posts(sandbox)
    _crash_rounds(sandbox, config, tmp_path, rounds, rng, figures)
    final = _start(config, tmp_path)
    _stop_after_ticks(final, tmp_path, 40)  # 40 ticks of >= 0.1 s outlast the 2 s resolve window
    assert final.wait(timeout=60) == 0, (tmp_path / "daemon.log").read_text()[-3000:]

    journal = Journal(journal_url, "default")
    api = Buttercoin(ButtercoinClient(BOT_KEY, BOT_SECRET, base_url=sandbox.base_url))
    comparison = compare(journal, api)
    rows = queries.orders(journal)
    never_sent = sum(1 for r in rows if r["status"] == "not_placed")
    posts = _posts(sandbox) - posts_start
    runs = queries.runs(journal)
    figures.values.update({"runs": len(runs), "kills": rounds, "posts_sent": posts, "orders_journaled": len(rows),
                           "never_sent": never_sent, **comparison.as_figures(),
                           "late": sum(1 for r in rows if r["flag"] == "late")})
    comparison.assert_clean()
    assert posts == len(rows) - never_sent  # no order was sent twice; every sent order is journaled
    assert [r.status for r in runs] == ["crashed"] * rounds + ["stopped"]
    assert not [o for o in api.orders() if o.is_open]
    assert not [r for r in rows if r["status"] in ("pending", "unknown")]
    before = journal_state(journal)
    journal.close()

    proc = _start(config, tmp_path)  # a second reconciliation changes nothing
    _stop_after_ticks(proc, tmp_path, 3)
    assert proc.wait(timeout=60) == 0
    again = Journal(journal_url, "default")
    assert [s for s in journal_state(again) if s in before] == before
    again.close()


def test_kill_9_at_random_and_in_the_risky_windows_loses_and_doubles_nothing(
        sandbox: Any, tmp_path: Path, figures: Figures) -> None:
    journal_url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    _run_crash_suite(sandbox, tmp_path, journal_url, scaled(30), figures)
    with sqlite3.connect(tmp_path / "journal.sqlite") as db:  # scenario 8: the file is whole
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_the_crash_suite_on_postgresql(sandbox: Any, tmp_path: Path, figures: Figures) -> None:
    from tests.conftest import postgres_url

    _run_crash_suite(sandbox, tmp_path, postgres_url(), scaled(12), figures)
