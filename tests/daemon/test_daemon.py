"""The daemon as users run it: `botkit run` in a subprocess, signals, --duration, kill -9 and restart.

These tests poll for outcomes with generous deadlines instead of timing anything, so a slow
machine makes them slower, never red.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit.client import Buttercoin, ButtercoinClient
from botkit.journal import Journal, queries
from tests.ops.helpers import standalone_sandbox as sandbox_process
from tests.polling import wait

D = Decimal
KEY, SECRET = "daemon-key", "daemon-secret-0123456789abcdef"


def _botkit(*args: str, cwd: Path, **kwargs: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "botkit", *args], cwd=cwd, text=True, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def _config(tmp_path: Path, extra: str = "", *, journal: str | None = None, interval: str = "0.2") -> Path:
    url = journal or f"sqlite:///{tmp_path / 'journal.sqlite'}"
    path = tmp_path / "botkit.toml"
    path.write_text(f"""
strategy_paths = []
[journal]
url = "{url}"
[engine]
interval_seconds = {interval}
resolve_window_seconds = 5
[sandbox]
state_path = "{tmp_path / 'sandbox.sqlite'}"
[strategies.market_maker]
spread_bps = 4
size = 0.05
{extra}
""")
    return path


def _journal(tmp_path: Path) -> Journal:
    return Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")


def _fills(tmp_path: Path) -> int:
    journal = _journal(tmp_path)
    try:
        return len(queries.fills(journal))
    finally:
        journal.close()


def _runs(tmp_path: Path) -> int:
    journal = _journal(tmp_path)
    try:
        return len(queries.runs(journal))
    finally:
        journal.close()


def _orders(tmp_path: Path) -> int:
    journal = _journal(tmp_path)
    try:
        return len(queries.orders(journal))
    finally:
        journal.close()


def _stop(proc: subprocess.Popen[str], sig: int = signal.SIGTERM, timeout: float = 60) -> tuple[str, str]:
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    return out, err


def test_market_maker_trades_on_the_embedded_sandbox_and_sigterm_stops_cleanly(tmp_path: Path) -> None:
    proc = _botkit("run", "--config", str(_config(tmp_path)), cwd=tmp_path)
    try:
        wait(lambda: (tmp_path / "journal.sqlite").exists() and _fills(tmp_path) > 0, 60,
              "the market maker's first fill")
    finally:
        _out, err = _stop(proc)
    assert proc.returncode == 0, err[-2000:]
    assert "received SIGTERM" in err
    journal = _journal(tmp_path)
    (run,) = queries.runs(journal)
    assert run.status == "stopped"
    summary = json.loads(run.summary or "{}")
    assert summary["open_orders"] == 0
    assert summary["fills"] >= 1
    statuses = {o["status"] for o in queries.orders(journal)}
    assert statuses <= {"filled", "canceled"}, statuses  # on_shutdown = cancel left nothing open
    journal.close()
    assert SECRET not in err


def test_duration_and_json_logs(tmp_path: Path) -> None:
    proc = _botkit("run", "--config", str(_config(tmp_path)), "--duration", "2", "--log-format", "json",
                   cwd=tmp_path)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    records = [json.loads(line) for line in err.splitlines() if line.strip()]
    assert records, "no log lines"
    assert {"ts", "level", "logger", "message"} <= set(records[0])
    ticks = [r for r in records if r["message"].startswith("tick mid=")]
    assert len(ticks) >= 2
    secret = (tmp_path / "sandbox-demo.secret").read_text().strip()
    assert secret not in err


def test_a_second_daemon_on_the_same_journal_is_refused(tmp_path: Path) -> None:
    config = _config(tmp_path)
    first = _botkit("run", "--config", str(config), cwd=tmp_path)
    try:
        wait(lambda: (tmp_path / "journal.sqlite").exists() and _runs(tmp_path) == 1, 30,
             "the first daemon's run (it holds the lock from before its run starts)")
        # the same journal, its own sandbox state file (a shared one is refused first, by the sandbox)
        second_config = tmp_path / "second.toml"
        second_config.write_text(config.read_text().replace("sandbox.sqlite", "second-sandbox.sqlite"))
        second = _botkit("run", "--config", str(second_config), "--duration", "1", cwd=tmp_path)
        _out, err = second.communicate(timeout=60)
        assert second.returncode == 2
        assert "in use by another botkit daemon" in err
    finally:
        _stop(first)
    assert first.returncode == 0


@pytest.fixture
def standalone_sandbox(tmp_path: Path) -> Iterator[str]:
    with sandbox_process(tmp_path, KEY, SECRET) as base_url:
        yield base_url


def _compare_journal_with_exchange(journal: Journal, api: Buttercoin) -> None:
    """Every exchange order of the account once in the journal, same status and filled quantity;
    every fill once."""
    exchange_orders = {o.order_id: o for o in api.orders()}
    rows = queries.orders(journal)
    bound = [r for r in rows if r["exchange_order_id"]]
    ids = [r["exchange_order_id"] for r in bound]
    assert len(ids) == len(set(ids)), "an exchange order is journaled twice"
    assert set(ids) == set(exchange_orders), "journal and exchange disagree on which orders exist"
    for row in bound:
        order = exchange_orders[row["exchange_order_id"]]
        assert row["status"] == order.status.value, (row, order)
        assert row["filled_quantity"] == order.filled
    journal_fills = {(f["exchange_order_id"], f["quantity"], f["price"]) for f in queries.fills(journal)}
    exchange_fills = {(o.order_id, f.quantity, f.price) for o in exchange_orders.values() for f in o.fills}
    assert len(queries.fills(journal)) == sum(len(o.fills) for o in exchange_orders.values())
    assert journal_fills == exchange_fills


def test_kill_9_and_restart_reconciles_with_the_exchange(tmp_path: Path, standalone_sandbox: str) -> None:
    extra = f'[exchange]\nbase_url = "{standalone_sandbox}"\napi_key = "{KEY}"\napi_secret = "{SECRET}"\n'
    config = _config(tmp_path, extra=extra)
    for round_ in range(3):
        before = _orders(tmp_path) if (tmp_path / "journal.sqlite").exists() else 0
        proc = _botkit("run", "--config", str(config), cwd=tmp_path)

        def placed_more(before: int = before, runs: int = round_) -> bool:
            # this round's own run has started and placed orders (not just earlier rounds')
            return (tmp_path / "journal.sqlite").exists() and _runs(tmp_path) > runs and _orders(tmp_path) > before

        wait(placed_more, 60, "orders from this round")
        time.sleep(0.5 + round_ * 0.3)
        proc.kill()  # SIGKILL: no shutdown code runs at all
        proc.communicate(timeout=30)
    proc = _botkit("run", "--config", str(config), cwd=tmp_path)
    wait(lambda: _runs(tmp_path) > 3, 60, "the final run to start")
    time.sleep(1)
    _out, err = _stop(proc)
    assert proc.returncode == 0, err[-2000:]
    journal = _journal(tmp_path)
    statuses = [r.status for r in queries.runs(journal)]
    assert statuses == ["crashed", "crashed", "crashed", "stopped"]
    api = Buttercoin(ButtercoinClient(KEY, SECRET, base_url=standalone_sandbox))
    _compare_journal_with_exchange(journal, api)
    assert not [o for o in api.orders() if o.is_open]  # the clean stop cancelled what was open
    journal.close()
