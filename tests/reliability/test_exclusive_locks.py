"""Exclusive locks: one daemon per journal (SQLite) or per bot id (PostgreSQL), whatever the path
says and whatever happens to the lock's connection.

Two daemons on one bot each reconcile the account as theirs alone: the second marks the first's
run crashed and cancels its orders while the first trades on. These scenarios attack the lock
with real `botkit run` processes on one standalone `botkit sandbox` account: a symlinked path, a
hard link, the journal deleted under a running daemon, and on PostgreSQL the lock connection
terminated by `pg_terminate_backend` (with and without another daemon taking the lock). A daemon
that loses its lock must say so in one line and exit 1 within a tick, cancelling nothing.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import botkit
from botkit.client import Buttercoin, ButtercoinClient
from botkit.core.errors import JournalError, JournalLockLost
from botkit.daemon.scheduler import Daemon
from botkit.journal import Journal, queries
from botkit.journal.lock import advisory_key
from tests.conftest import postgres_url
from tests.ops.helpers import (
    account,
    botkit_once,
    counter,
    counterparty,
    market_maker_config,
    now_ms,
    rig,
    standalone_sandbox,
    start_botkit,
)
from tests.plugins.recorder import Recorder
from tests.polling import wait
from tests.reliability.conftest import Figures

KEY, SECRET = "locks-key", "locks-secret-0123456789abcdef"
LOST = "lost its lock"


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[str]:
    """`botkit sandbox` in its own process: the account both daemons would trade on outlives each."""
    with standalone_sandbox(tmp_path, KEY, SECRET, seed=5) as base_url:
        yield base_url


PARKED = """
\"\"\"Parks one buy 3% under the bid and leaves it: an order only its own daemon would cancel.\"\"\"
from decimal import Decimal

from botkit import buy, hookimpl


@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    if ctx.state.get("parked") or snapshot.best_bid is None:
        return None
    ctx.state["parked"] = True
    return [buy("0.01", (snapshot.best_bid * Decimal("0.97")).quantize(Decimal("0.01")))]
"""


def _config(tmp_path: Path, name: str, journal_url: str, base_url: str, bot_id: str = "default") -> Path:
    """The market maker, and a parked order that neither fills nor gets replaced. With on_shutdown
    = "cancel" (the default) a clean stop cancels it: still open after a daemon exits, it was left
    alone."""
    (tmp_path / "strategies").mkdir(exist_ok=True)
    (tmp_path / "strategies" / "parked.py").write_text(PARKED)
    return market_maker_config(tmp_path / f"{name}.toml", bot_id=bot_id, journal_url=journal_url, base_url=base_url,
                               key=KEY, secret=SECRET, strategy_paths=[tmp_path / "strategies"],
                               extra="[strategies.parked]\n")


def _run(config: Path, cwd: Path, log: Path) -> subprocess.Popen[str]:
    return start_botkit("run", "--config", str(config), cwd=cwd, log=log)


def _open_orders(base_url: str) -> set[str]:
    client = ButtercoinClient(KEY, SECRET, base_url=base_url)
    try:
        return {o.order_id for o in Buttercoin(client).orders() if o.is_open}
    finally:
        client.close()


def _runs(url: str, bot_id: str = "default") -> list[Any]:
    journal = Journal(url, bot_id)
    try:
        return queries.runs(journal)
    finally:
        journal.close()


def _parked(url: str, base_url: str, bot_id: str = "default") -> str | None:
    """The exchange id of the daemon's parked order, once it is open on the exchange."""
    if not _runs(url, bot_id):
        return None
    journal = Journal(url, bot_id)
    try:
        ids = {o["exchange_order_id"] for o in queries.orders(journal) if o["strategy"] == "parked"}
    finally:
        journal.close()
    found = ids & _open_orders(base_url)
    return found.pop() if found else None


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.communicate(timeout=60)


# ---------------------------------------------------------------------------------------- SQLite


def test_a_symlink_or_a_hard_link_to_the_journal_is_refused_while_a_daemon_runs(
        tmp_path: Path, exchange: str, figures: Figures) -> None:
    journal = tmp_path / "journal.sqlite"
    url = f"sqlite:///{journal}"
    first = _run(_config(tmp_path, "first", url, exchange), tmp_path, tmp_path / "first.log")
    try:
        parked = wait(lambda: journal.exists() and _parked(url, exchange), 60, "the first daemon trading")
        (tmp_path / "linked").mkdir()
        (tmp_path / "linked" / "j.sqlite").symlink_to(journal)
        (tmp_path / "dir-link").symlink_to(tmp_path)
        aliases = [tmp_path / "linked" / "j.sqlite", tmp_path / "dir-link" / "journal.sqlite"]
        for n, alias in enumerate(aliases):
            config = _config(tmp_path, f"second-{n}", f"sqlite:///{alias}", exchange)
            second = botkit_once("run", "--config", str(config), "--duration", "5", cwd=tmp_path)
            assert second.returncode == 2, second.stderr[-2000:]
            assert f"journal {journal} is in use by another botkit daemon" in second.stderr
            figures.add("second_daemons_refused")
        # A hard link would give SQLite a second write-ahead log of one database (it names the WAL
        # after the path): refused before SQLite opens it, by any command, daemon or not.
        os.link(journal, tmp_path / "hard.sqlite")
        with pytest.raises(JournalError, match="has 2 hard links"):
            Journal(f"sqlite:///{tmp_path / 'hard.sqlite'}", exclusive=True)
        (tmp_path / "hard.sqlite").unlink()
        figures.add("second_daemons_refused")
        assert first.poll() is None, "the first daemon must be untouched"
        assert parked in _open_orders(exchange), "a refused daemon must not have reconciled (cancelled) anything"
        assert [r.status for r in _runs(url)] == ["running"], "nobody marked the first's run crashed"
    finally:
        _stop(first)
    assert first.returncode == 0
    assert [r.status for r in _runs(url)] == ["stopped"]
    assert not _open_orders(exchange)  # its own clean stop cancelled its quotes and the parked order


def test_the_lock_leaves_no_file_to_delete(tmp_path: Path) -> None:
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}")
    before = set(tmp_path.iterdir())
    journal.acquire()
    assert set(tmp_path.iterdir()) == before, "a lock file could be deleted to let a second daemon in"
    for leftover in tmp_path.glob("*.lock"):  # what older versions locked
        leftover.unlink()
    with pytest.raises(JournalError, match="in use by another botkit daemon"):
        Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}").acquire()
    journal.close()


def test_a_journal_deleted_under_a_running_daemon_stops_it_without_cancelling(
        tmp_path: Path, exchange: str, figures: Figures) -> None:
    journal = tmp_path / "journal.sqlite"
    url = f"sqlite:///{journal}"
    log = tmp_path / "first.log"
    first = _run(_config(tmp_path, "first", url, exchange), tmp_path, log)
    try:
        parked = wait(lambda: journal.exists() and _parked(url, exchange), 60, "the first daemon trading")
        deleted_at = time.monotonic()
        journal.unlink()  # a second daemon could now create a fresh journal at this path
        first.communicate(timeout=60)
        figures["seconds_to_stop_after_delete"] = round(time.monotonic() - deleted_at, 2)
    finally:
        if first.poll() is None:
            _stop(first)
    assert first.returncode == 1
    lost = [line for line in log.read_text().splitlines() if "is gone" in line]
    assert len(lost) == 1, log.read_text()[-3000:]
    assert "stopping without touching its orders" in lost[0]
    left = _open_orders(exchange)
    assert parked in left, "the daemon that lost its lock must not cancel what may be another daemon's"
    figures["orders_left_open"] = len(left)
    assert "Traceback" not in log.read_text()


def test_a_daemon_whose_journal_was_replaced_notices_on_its_next_check(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(f"sqlite:///{path}")
    journal.acquire()
    journal.check_lock()  # still ours
    path.rename(tmp_path / "moved.sqlite")
    Journal(f"sqlite:///{path}").close()  # a new journal at the configured path
    with pytest.raises(JournalLockLost, match="no longer the file this daemon locked"):
        journal.check_lock()
    journal.close()


def test_the_tick_after_the_lock_is_lost_sends_nothing(tmp_path: Path) -> None:
    """The check comes before the engine's tick: the strategy's next intent never reaches the exchange."""
    from botkit.sandbox import Sandbox

    path = tmp_path / "journal.sqlite"
    with Sandbox(market="off", accounts=[counterparty(), account("locks-rig")], rate_limit=0) as sandbox:
        counter(sandbox, "sell", "401.00", "5")
        counter(sandbox, "buy", "399.00", "5")
        recorder = Recorder()
        recorder.script = [[botkit.buy("0.1", "390.00")], [botkit.buy("0.1", "391.00")]]
        bot = rig(sandbox, f"sqlite:///{path}", "default", "locks-rig", {"mm": recorder})
        bot.journal.acquire()
        daemon = Daemon(bot.bot, 60)
        bot.engine.start(now_ms())
        daemon.tick()
        assert len(list(sandbox.exchange.orders("locks-rig"))) == 1
        path.rename(tmp_path / "elsewhere.sqlite")
        daemon.tick()
        assert isinstance(daemon.lock_lost, JournalLockLost) and daemon.stopping.is_set()
        assert len(list(sandbox.exchange.orders("locks-rig"))) == 1, "an order went out without the lock"
        assert bot.engine.ticks == 1
        bot.close()


# ------------------------------------------------------------------------------------ PostgreSQL


def _server() -> Any:
    return create_engine(make_url(postgres_url()).set(drivername="postgresql+psycopg"))


def _lock_holder(server: Any, bot_id: str) -> int | None:
    """The backend pid holding ``bot_id``'s advisory lock, if any."""
    key = advisory_key(bot_id)
    with server.connect() as conn:
        return conn.execute(text(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
            "AND classid::bigint = :hi AND objid::bigint = :lo"),
            {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF}).scalar()


def _terminate(server: Any, pid: int) -> None:
    with server.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()


def _ticks(url: str, bot_id: str) -> int:
    runs = _runs(url, bot_id)
    return runs[-1].ticks if runs else 0


def test_a_terminated_lock_connection_is_taken_again_when_no_other_daemon_has_it(
        tmp_path: Path, exchange: str, bot_id: str, figures: Figures) -> None:
    url = postgres_url()
    server = _server()
    log = tmp_path / "first.log"
    first = _run(_config(tmp_path, "first", url, exchange, bot_id), tmp_path, log)
    try:
        wait(lambda: _parked(url, exchange, bot_id), 60, "the daemon trading")
        for n in range(3):
            holder = wait(lambda: _lock_holder(server, bot_id), 60, "the daemon's lock")
            _terminate(server, holder)
            wait(lambda n=n: log.read_text().count("took it again") > n, 60, "the daemon taking its lock again")
            figures.add("lock_connections_terminated")
        ticks = _ticks(url, bot_id)
        wait(lambda: _ticks(url, bot_id) > ticks + 2, 60, "ticks after the lock came back")
        assert first.poll() is None
    finally:
        _stop(first)
        server.dispose()
    assert first.returncode == 0, log.read_text()[-3000:]
    assert [r.status for r in _runs(url, bot_id)] == ["stopped"]


def test_a_daemon_whose_lock_another_daemon_took_stops_within_a_tick_and_cancels_nothing(
        tmp_path: Path, exchange: str, bot_id: str, figures: Figures) -> None:
    url = postgres_url()
    server = _server()
    log = tmp_path / "first.log"
    config = _config(tmp_path, "bot", url, exchange, bot_id)
    first = _run(config, tmp_path, log)
    rival = server.connect()  # stands in for a second daemon until the first has gone
    try:
        parked = wait(lambda: _parked(url, exchange, bot_id), 60, "the first daemon trading")
        holder = wait(lambda: _lock_holder(server, bot_id), 60, "the first daemon's lock")
        # Queued behind the first daemon's lock, the rival gets it the moment the server drops it,
        # before the first daemon can try again: the order the server grants locks in, not timing.
        queued = threading.Thread(target=lambda: rival.execute(text("SELECT pg_advisory_lock(:k)"),
                                                               {"k": advisory_key(bot_id)}))
        queued.start()
        with server.connect() as conn:
            wait(lambda: conn.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                           "AND NOT granted")).scalar(), 30, "the rival queued for the lock")
        terminated_at = time.monotonic()
        _terminate(server, holder)
        queued.join(60)
        first.communicate(timeout=60)
        figures["seconds_to_stop_after_takeover"] = round(time.monotonic() - terminated_at, 2)
        assert first.returncode == 1, log.read_text()[-3000:]
        lost = [line for line in log.read_text().splitlines() if LOST in line]
        assert len(lost) == 1 and "another daemon holds it now" in lost[0], lost
        assert "Traceback" not in log.read_text()
        left = _open_orders(exchange)
        assert parked in left, "the daemon that lost its lock cancelled orders on its way out"
        figures["orders_left_open"] = len(left)
        assert [r.status for r in _runs(url, bot_id)] == ["running"], "it must not close a run it no longer owns"
    finally:
        with contextlib.suppress(Exception):
            rival.execute(text("SELECT pg_advisory_unlock_all()"))  # a pooled connection would keep it
        rival.close()
        if first.poll() is None:
            _stop(first)
    # The rival gone, a real second daemon takes over the bot and its orders.
    second = _run(config, tmp_path, tmp_path / "second.log")
    try:
        wait(lambda: len(_runs(url, bot_id)) == 2, 60, "the second daemon's run")
    finally:
        _stop(second)
        server.dispose()
    assert second.returncode == 0
    assert [r.status for r in _runs(url, bot_id)] == ["crashed", "stopped"]
    figures.add("takeovers_detected")


def test_a_lock_retaken_after_another_daemon_ran_the_bot_meanwhile_is_lost(bot_id: str) -> None:
    url = postgres_url()
    server = _server()
    first = Journal(url, bot_id)
    first.acquire()
    first.begin_run("sandbox", 1)
    holder = _lock_holder(server, bot_id)
    assert holder is not None
    _terminate(server, holder)
    # Another daemon starts, runs and stops while the first has not checked yet.
    wait(lambda: _lock_holder(server, bot_id) is None, 30, "the server dropping the lock")
    second = Journal(url, bot_id)
    second.acquire()
    second.begin_run("sandbox", 2)
    second.close()
    with pytest.raises(JournalLockLost, match="another daemon ran this bot meanwhile"):
        first.check_lock()
    assert _lock_holder(server, bot_id) is None, "the lock taken again to look must be let go"
    first.close()
    server.dispose()
