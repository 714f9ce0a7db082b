"""Persistence: stop a sandbox with a state file, start another on it, and everything is there."""

from __future__ import annotations

import contextlib
import sqlite3
import stat
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from botkit.client import AuthenticationError
from botkit.sandbox import Exchange, Sandbox, SandboxAccount
from botkit.sandbox.exchange import ChangeSet, TradeRecord
from botkit.sandbox.store import Store, StoreError
from tests.polling import wait
from tests.sandbox.helpers import ALICE, BOB, START, Signer, client_for, order, order_id, script_until_released


def make(path: Path, **kwargs: object) -> Sandbox:
    accounts = [SandboxAccount(*ALICE, balances=dict(START)), SandboxAccount(*BOB, balances=dict(START))]
    options: dict[str, object] = {"market": "off", "rate_limit": 0, "accounts": accounts, "deposit_delay": 60}
    options.update(kwargs)
    return Sandbox(state_path=path, **options)  # type: ignore[arg-type]


def snapshot(sb: Sandbox) -> dict[str, object]:
    ex = sb.exchange
    return {
        "orders": {k: ex.order_views(k) for k in ("alice", "bob")},
        "balances": {k: ex.balances(k) for k in ("alice", "bob")},
        "reserved": {k: ex.reserved(k) for k in ("alice", "bob")},
        "transactions": {k: ex.transaction_views(k) for k in ("alice", "bob")},
        "last": {k: ex.last_timestamp(k) for k in ("alice", "bob")},
        "fees": ex.fees_collected,
        "depth": ex.depth(),
        "trades": ex.trades_view(),
        "ticker": ex.ticker(),
    }


def test_a_restart_continues_exactly_with_resting_orders(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with make(path) as first, client_for(first, ALICE) as alice, client_for(first, BOB) as bob:
        older = order_id(alice.create_order(order("buy", "399.00", "1")))
        newer = order_id(alice.create_order(order("buy", "399.00", "1")))
        bob.create_order(order("sell", "401.00", "2"))
        bob.create_order(order("sell", "399.00", "0.5"))
        alice.create_deposit({"method": "wire", "currency": "USD", "amount": "250.00"})
        before = snapshot(first)
        last_alice = first.exchange.last_timestamp("alice")
    assert last_alice > 0
    with make(path) as second:
        assert snapshot(second) == before
        # the replay protection survived: alice's last accepted timestamp is still refused
        replay = Signer(second, ALICE).send("GET", "/v1/key", timestamp=last_alice)
        assert replay.status_code == 401
        # time priority survived: the older order at 399 fills first
        second.exchange.submit_order("bob", "sell", "market", None, "0.6")
        assert second.exchange.order("alice", older).status.value == "filled"
        assert second.exchange.order("alice", newer).filled == Decimal("0.1")
        # the pending deposit is still pending and completes on time
        second.exchange.settle_due(now_ms=second.exchange.now_ms() + 61_000)
        assert second.exchange.transaction_views("alice")[0]["status"] == "funded"
        with client_for(second, ALICE) as alice:
            assert alice.get_order_by_id(older)["status"] == "filled"
        after = snapshot(second)
    with make(path) as third:
        assert snapshot(third) == after


def test_an_account_given_again_keeps_its_balances(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with make(path) as first:
        first.exchange.submit_order("alice", "sell", "limit", "400.00", "1")
        first.exchange.submit_order("bob", "buy", "limit", "400.00", "1")
    with make(path) as second:
        assert second.exchange.balances("alice")["BTC"] == Decimal(9)


def test_the_demo_account_is_the_same_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with Sandbox(market="off", state_path=path) as first:
        demo = first.demo_account
        assert demo is not None
        assert first.exchange.balances(demo.key) == {"USD": 100000, "BTC": 10}
    with Sandbox(market="off", state_path=path) as second:
        assert second.demo_account is not None
        assert (second.demo_account.key, second.demo_account.secret) == (demo.key, demo.secret)
        assert len(second.exchange.account_keys()) == 1


def test_the_simulated_market_resumes_with_its_book(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with make(path, market="sim", market_interval=0) as first:
        assert first.market is not None
        first.market.step(200)
        depth = first.exchange.depth()
        steps = first.market.steps
    with make(path, market="sim", market_interval=0) as second:
        assert second.market is not None
        assert second.exchange.depth() == depth
        assert second.market.steps == steps
        second.market.step(50)
        bids, asks = second.exchange.depth()
        assert len(bids) >= 5
        assert len(asks) >= 5
        assert bids[0][0] < asks[0][0]


def saved_orders(path: Path) -> int:
    """Orders in the state file, read the way a backup tool would (its own SQLite connection)."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        return int(db.execute("SELECT count(*) FROM orders").fetchone()[0])


def test_state_is_saved_while_running(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    sb = make(path, save_interval=0.05)
    sb.start()
    try:
        sb.exchange.submit_order("alice", "buy", "limit", "1.00", "1")
        wait(lambda: saved_orders(path) == 1, 10, "the order in the state file")
    finally:
        sb.stop()


def test_a_stopped_sandbox_starts_again_on_its_state(tmp_path: Path) -> None:
    sb = make(tmp_path / "state.sqlite")
    sb.start()
    sb.exchange.submit_order("alice", "buy", "limit", "1.00", "1")
    sb.stop()
    sb.start()
    try:
        with client_for(sb, ALICE) as alice:
            assert len(alice.get_orders()) == 1
            with pytest.raises(AuthenticationError):
                alice.get_key(timestamp=1)
        assert requests.get(sb.base_url + "/v1/ticker", timeout=5).status_code == 200
    finally:
        sb.stop()
    with make(tmp_path / "state.sqlite") as again:
        assert len(again.exchange.orders("alice")) == 1


def test_a_file_that_is_not_a_state_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("these are not the droids\n" * 100)
    with pytest.raises(StoreError):
        Sandbox(market="off", state_path=path)


# ---------------------------------------------------------------------- failed saves, owners, modes


def exchange_with_accounts() -> Exchange:
    exchange = Exchange(deposit_delay_ms=0, withdraw_delay_ms=0)
    for key, secret in (ALICE, BOB):
        exchange.add_account(SandboxAccount(key, secret, dict(START)))
    return exchange


@contextlib.contextmanager
def held_exclusively(path: Path) -> Iterator[None]:
    """Another connection holds ``BEGIN EXCLUSIVE`` (what a backup tool does)."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("BEGIN EXCLUSIVE")
        yield
        other.execute("ROLLBACK")


def test_a_refused_save_keeps_its_rows_and_the_next_one_writes_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.sqlite"
    exchange = exchange_with_accounts()
    exchange.track_changes(everything=True)
    store = Store(path, busy_timeout=0.05)
    try:
        assert store.save(exchange)
        with held_exclusively(path):
            exchange.submit_order("alice", "sell", "limit", "400.00", "1")
            assert not store.save(exchange)
            exchange.submit_order("bob", "buy", "limit", "400.00", "0.4")
            assert not store.save(exchange)
            status = store.status()
            assert (status["save_failures"], status["failures_in_a_row"]) == (2, 2)
            assert status["unsaved_changes"] == 6  # two accounts, two orders, a trade, the counters: merged
            assert "database is locked" in status["last_save_error"]
        assert store.save(exchange)
        assert store.status()["unsaved_changes"] == 0
        assert store.status()["failures_in_a_row"] == 0
    finally:
        store.close()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("failed (database is locked)" in m for m in messages) == 2
    assert any("again after 2 failed saves" in m for m in messages)
    again = Exchange()
    store = Store(path)
    try:
        store.load(again)
    finally:
        store.close()
    assert again.balances("alice") == exchange.balances("alice")
    assert again.balances("bob") == exchange.balances("bob")
    assert [o["status"] for o in again.order_views("alice")] == ["partial-filled"]


def test_a_stop_whose_save_fails_retries_it_when_started_again(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    sb = make(path)
    sb.start()
    with held_exclusively(path):
        sb.exchange.submit_order("alice", "buy", "limit", "1.00", "1")
        assert sb.stop() is False
    sb.start()
    assert sb.stop() is True
    assert saved_orders(path) == 1


def test_a_second_store_of_the_file_is_refused_also_through_a_symlink(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    link = tmp_path / "link.sqlite"
    link.symlink_to(path)
    with make(path):
        for given in (path, link):
            with pytest.raises(StoreError, match=r"is in use by this process \(pid \d+\)"):
                make(given)
    with make(link):  # given up on stop
        pass


def test_state_files_are_private_and_a_readable_one_is_tightened(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.sqlite"
    with make(path) as sb:
        sb.exchange.submit_order("alice", "buy", "limit", "1.00", "1")
        sb.save()
        for name in ("state.sqlite", "state.sqlite-wal", "state.sqlite-shm"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    path.chmod(0o644)
    with make(path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert any("was readable by others (mode 644)" in r.getMessage() for r in caplog.records)


def test_merging_change_sets_keeps_the_newest_row_and_deletions() -> None:
    older = ChangeSet(accounts=[{"key": "a", "v": 1}], orders=[{"orderId": "o1", "v": 1}, {"orderId": "o2", "v": 1}],
                      deleted_orders=["o0"], transactions=[{"transactionId": "t1", "v": 1}],
                      trades=[TradeRecord(1, 0, 1, 1, True)], meta={"x": "1", "y": "1"})
    newer = ChangeSet(accounts=[{"key": "a", "v": 2}, {"key": "b", "v": 1}], orders=[{"orderId": "o1", "v": 2}],
                      deleted_orders=["o2"], transactions=[], trades=[TradeRecord(2, 0, 1, 1, False)],
                      meta={"x": "2"})
    merged = older.merged(newer)
    assert merged.accounts == [{"key": "a", "v": 2}, {"key": "b", "v": 1}]
    assert merged.orders == [{"orderId": "o1", "v": 2}]
    assert merged.deleted_orders == ["o0", "o2"]
    assert merged.transactions == [{"transactionId": "t1", "v": 1}]
    assert [t.seq for t in merged.trades] == [1, 2]
    assert merged.meta == {"x": "2", "y": "1"}
    assert merged.rows == 8


def test_a_sandbox_that_fails_to_build_gives_its_state_file_up(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with pytest.raises(ValueError, match="start price"):
        Sandbox(state_path=path, start_price=Decimal(0))
    with make(path):
        pass


FORK_THEN_CLOSE = """
import os, sys
from botkit.sandbox.store import Store
store = Store(sys.argv[1])
read, write = os.pipe()
started_read, started_write = os.pipe()
if os.fork() == 0:  # a child that outlives its parent's hold
    os.write(started_write, b"s")  # past the fork and its at-fork hooks (they run before fork returns)
    os.read(read, 1)
    os._exit(0)
os.read(started_read, 1)  # the child is running: until now the fork's hooks might not have run in it
store.close()
print("closed", flush=True)
sys.stdin.readline()
os.write(write, b"x")
"""


def test_a_forked_child_does_not_keep_the_state_file_locked(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with script_until_released(FORK_THEN_CLOSE, str(path), ready="closed"):
        Store(path).close()  # the child still runs, and does not hold the file


def test_a_state_file_deleted_under_a_running_sandbox_fails_its_saves_loudly(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with make(path) as sb:
        path.unlink()
        sb.exchange.submit_order("alice", "buy", "limit", "1.00", "1")
        assert not sb.save()
        status = sb.store_status()
        assert status is not None
        assert "was deleted while in use" in status["last_save_error"]
        assert status["unsaved_changes"] > 0
        with make(path) as other:  # the path is free again: a new sandbox starts afresh there
            assert other.exchange.orders("alice") == []
        assert not sb.stop()
