"""Scenario 11, sandbox persistence: the state file survives failed saves, second owners and bad
files, and money is conserved across every failure and restart.

Real failures only: a second process holding ``BEGIN EXCLUSIVE`` on the state file (what a backup
tool does), a full tmpfs (mounted for the test; skipped when the machine does not allow mounting),
``kill -9`` of ``botkit sandbox``, two real processes on one file (also through a symlink), two
``botkit run`` in one folder, and files that are not state files.

Conservation: across every account (the simulated traders included), the money on the exchange
plus the fees it collected, minus what was deposited, plus what was withdrawn, never changes.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from botkit.client import ButtercoinClient
from botkit.sandbox import Exchange, Sandbox, SandboxAccount
from botkit.sandbox.accounts import USER
from botkit.sandbox.store import Store
from tests.polling import wait
from tests.reliability.conftest import Figures, scaled
from tests.sandbox.helpers import NO_RETRY, script_until_released

ALICE = ("alice", "alice-secret")
BOB = ("bob", "bob-secret")
START = {"USD": Decimal(100_000), "BTC": Decimal(10)}

HOLD_EXCLUSIVE = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""


# ---------------------------------------------------------------------- what the file holds


def load(path: Path) -> Exchange:
    """The exchange as the state file holds it (read by a store of its own, as a restart does)."""
    exchange = Exchange()
    store = Store(path)
    try:
        assert store.load(exchange)
    finally:
        store.close()
    return exchange


def net_money(exchange: Exchange) -> dict[str, Decimal]:
    """Money on the exchange plus fees, minus deposits, plus withdrawals: what was provisioned."""
    net = {"USD": exchange.total("USD") + exchange.fees_collected, "BTC": exchange.total("BTC")}
    for key in exchange.account_keys(USER):
        for tx in exchange.transaction_views(key):
            if tx["status"] == "funded":
                sign = -1 if tx["transactionType"] == "deposit" else 1
                net[tx["currency"]] += sign * Decimal(tx["amount"])
    return net


def user_state(exchange: Exchange) -> dict[str, Any]:
    return {
        key: (
            exchange.balances(key),
            exchange.reserved(key),
            [(o["orderId"], o["status"], o["quantityFilled"]) for o in exchange.order_views(key)],
            [(t["transactionId"], t["status"]) for t in exchange.transaction_views(key)],
        )
        for key in exchange.account_keys(USER)
    }


def trade(client: ButtercoinClient) -> None:
    """Money moves: a market sell to the simulated traders, a deposit and a withdrawal."""
    client.create_order({"instrument": "BTC_USD", "side": "sell", "orderType": "market", "quantity": "0.05"})
    client.create_deposit({"method": "wire", "currency": "USD", "amount": "250.00"})
    client.create_withdrawal({"method": "check", "currency": "USD", "amount": "40.00"})


def store_stats(base_url: str) -> dict[str, Any]:
    answer = requests.get(base_url + "/admin/stats", timeout=10)
    answer.raise_for_status()
    stats: dict[str, Any] = answer.json()["store"]
    return stats


# ---------------------------------------------------------------------- a backup tool's lock


def exclusive_lock(path: Path) -> AbstractContextManager[None]:
    """Another process holds ``BEGIN EXCLUSIVE`` on the file until the block ends."""
    return script_until_released(HOLD_EXCLUSIVE, str(path), ready="held")


def served(path: Path) -> Sandbox:
    accounts = [SandboxAccount(key, secret, dict(START)) for key, secret in (ALICE, BOB)]
    return Sandbox(state_path=path, market="sim", seed=5, market_interval=0.02, accounts=accounts, rate_limit=0,
                   deposit_delay=0, withdraw_delay=0, save_interval=0.05, admin=True)


def test_saves_refused_by_a_backup_lock_keep_their_changes_until_written(tmp_path: Path, figures: Figures) -> None:
    path = tmp_path / "state.sqlite"
    with served(path):
        pass
    provisioned = net_money(load(path))
    rounds = scaled(2)
    for _ in range(rounds):
        exchange = one_locked_round(path, figures)
        again = load(path)
        assert user_state(again) == user_state(exchange)
        assert net_money(again) == provisioned
        figures.add("restarts")
        figures.add("conservation_checks")
    figures["rounds"] = rounds


def one_locked_round(path: Path, figures: Figures) -> Exchange:
    """Serve, trade while a backup holds the file, release it, stop; returns the exchange as it stopped."""
    sb = served(path)
    url = sb.start()
    try:
        with ButtercoinClient(*ALICE, base_url=url, retry=NO_RETRY) as alice, exclusive_lock(path):
            failures = store_stats(url)["save_failures"]
            trade(alice)
            # (a save that began before the trade may fail with the counters only: wait for one with rows)
            kept = wait(lambda: (s := store_stats(url))["save_failures"] > failures and s["unsaved_changes"] > 1
                        and s, 60, "a save of the trade refused by the lock")
            assert "locked" in kept["last_save_error"]
            figures.add("saves_failed", kept["save_failures"] - failures)
            figures["changes_kept_max"] = max(figures.values.get("changes_kept_max", 0), kept["unsaved_changes"])
        recovered = wait(lambda: (s := store_stats(url))["unsaved_changes"] == 0
                         and s["failures_in_a_row"] == 0 and s, 60, "the kept changes written")
        assert recovered["last_save_error"]  # still shown: the last error seen
    finally:
        assert sb.stop()
    return sb.exchange


# ---------------------------------------------------------------------- a full disk


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 32 MiB tmpfs of the test's own, to fill up."""
    if os.geteuid() != 0:
        pytest.skip("filling a disk needs a small filesystem of our own: mounting a tmpfs needs root")
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", str(where)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk has no byte left (ENOSPC)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for chunk in (b"\0" * (1 << 20), b"\0" * 4096, b"\0"):
            assert _write_until_refused(fd, chunk) == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def _write_until_refused(fd: int, chunk: bytes) -> int:
    """Write ``chunk`` again and again; the errno that stopped it."""
    try:
        while True:
            os.write(fd, chunk)
    except OSError as exc:
        return exc.errno or 0


class Served:
    def __init__(self, process: subprocess.Popen[str], url: str) -> None:
        self.process = process
        self.url = url


@contextmanager
def sandbox_process(*args: str, cwd: Path | None = None) -> Iterator[Served]:
    """``botkit sandbox`` in a subprocess, once it prints its URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUTTERCOIN_")}
    process = subprocess.Popen([sys.executable, "-m", "botkit", "sandbox", "--port", "0", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    try:
        first: list[str] = []
        assert process.stdout is not None
        reader = threading.Thread(target=lambda: first.append(process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(60)
        assert first and first[0].startswith("http://"), (first, process.poll())
        yield Served(process, first[0].strip())
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def test_a_full_disk_loses_nothing_and_a_crash_keeps_the_books(small_disk: Path, figures: Figures) -> None:
    path = small_disk / "state.sqlite"
    args = ("--state", str(path), "--admin", "--seed", "7", "--market-interval", "0.02", "--rate-limit", "0",
            "--deposit-delay", "0", "--withdraw-delay", "0", "--account", f"{ALICE[0]}:{ALICE[1]}:USD=100000,BTC=10")
    with sandbox_process(*args) as first:
        wait(lambda: store_stats(first.url)["saves"] >= 1, 60, "the first save")
        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(60) == 0
    provisioned = net_money(load(path))
    endings = ["clean stop", "stop while full", "kill -9 while full"] * scaled(1)
    for ending in endings:
        with sandbox_process(*args) as running:
            figures.add("restarts")
            with ButtercoinClient(*ALICE, base_url=running.url, retry=NO_RETRY) as alice:
                wait(lambda: store_stats(running.url)["saves"] >= 1, 60, "a save before the disk fills")
                filler = fill(small_disk)
                trade(alice)
                kept = wait(lambda: (s := store_stats(running.url))["failures_in_a_row"] >= 1
                            and s["unsaved_changes"] > 1 and s, 60, "a save of the trade refused by the full disk")
                assert "full" in kept["last_save_error"]
                figures.add("saves_failed", kept["save_failures"])
                figures["changes_kept_max"] = max(figures.values.get("changes_kept_max", 0), kept["unsaved_changes"])
                if ending == "clean stop":
                    filler.unlink()
                    wait(lambda: store_stats(running.url)["unsaved_changes"] == 0, 60, "the kept changes written")
                    expected = (alice.get_balances(), [(o["orderId"], o["status"]) for o in alice.get_orders()])
                    running.process.send_signal(signal.SIGTERM)
                    assert running.process.wait(60) == 0
                elif ending == "stop while full":
                    running.process.send_signal(signal.SIGTERM)
                    assert running.process.wait(60) == 1
                    assert running.process.stderr is not None
                    assert "could NOT be saved" in running.process.stderr.read()
                    filler.unlink()
                else:
                    running.process.kill()
                    running.process.wait(60)
                    figures.add("crashes")
                    filler.unlink()
        again = load(path)
        assert net_money(again) == provisioned, ending
        figures.add("conservation_checks")
        if ending == "clean stop":
            balances, orders = expected
            assert again.balances("alice") == {c: Decimal(str(v)) for c, v in balances.items()}
            assert [(o["orderId"], o["status"]) for o in again.order_views("alice")] == orders


# ---------------------------------------------------------------------- one owner per file


def refused(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUTTERCOIN_")}
    return subprocess.run([sys.executable, "-m", "botkit", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120, check=False)


def test_a_second_sandbox_on_one_state_file_is_refused_naming_the_holder(tmp_path: Path, figures: Figures) -> None:
    path = tmp_path / "state.sqlite"
    link = tmp_path / "elsewhere" / "link.sqlite"
    link.parent.mkdir()
    link.symlink_to(path)
    with sandbox_process("--state", str(path), "--market", "off") as holder:
        for given in (path, link, Path("state.sqlite")):
            second = refused(["sandbox", "--port", "0", "--state", str(given)], tmp_path)
            assert second.returncode == 2, second.stderr
            (line,) = second.stderr.strip().splitlines()
            assert str(given) in line
            assert f"pid {holder.process.pid} (" in line and "botkit sandbox)" in line
            assert "Traceback" not in second.stderr
            figures.add("second_owners_refused")
        assert requests.get(holder.url + "/v1/ticker", timeout=10).status_code == 200  # the holder serves on
        holder.process.kill()
        holder.process.wait(30)
    with sandbox_process("--state", str(link), "--market", "off") as after_crash:  # kill -9 left no stale lock
        assert requests.get(after_crash.url + "/v1/ticker", timeout=10).status_code == 200


def test_a_second_bot_in_one_folder_is_refused_by_the_embedded_sandbox(tmp_path: Path, figures: Figures) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUTTERCOIN_")}
    with (tmp_path / "first.log").open("w") as log:
        first = subprocess.Popen([sys.executable, "-m", "botkit", "run", "--duration", "120"], cwd=tmp_path,
                                 stdout=log, stderr=log, env=env)
    try:
        wait(lambda: "embedded sandbox exchange at" in (tmp_path / "first.log").read_text(), 60,
             "the first bot's embedded sandbox")
        second = refused(["run", "--duration", "5"], tmp_path)
        assert second.returncode == 2, second.stderr
        (line,) = second.stderr.strip().splitlines()
        assert "botkit-data/sandbox.sqlite" in line
        assert f"pid {first.pid} (" in line and "botkit run)" in line
        figures.add("second_owners_refused")
        assert first.poll() is None  # the first bot trades on
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(60)


# ---------------------------------------------------------------------- files that are not state files


def bad_files(directory: Path) -> dict[str, Path]:
    """Random bytes, a truncated state file, and an SQLite database of another schema."""
    good = directory / "good.sqlite"
    with Sandbox(market="sim", market_interval=0, state_path=good) as sb:
        assert sb.market is not None
        sb.market.step(200)
    data = good.read_bytes()
    files = {"random bytes": os.urandom(8192), "truncated": data[: len(data) // 2]}
    paths = {}
    for name, content in files.items():
        paths[name] = directory / f"{name.replace(' ', '-')}.sqlite"
        paths[name].write_bytes(content)
    other = directory / "journal.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, started TEXT)")
    db.commit()
    db.close()
    paths["another schema"] = other
    return paths


@pytest.mark.parametrize("how", ["botkit sandbox", "botkit run"])
def test_a_file_that_is_no_state_file_gives_one_line(tmp_path: Path, how: str, figures: Figures) -> None:
    for kind, path in bad_files(tmp_path).items():
        before = path.read_bytes()
        if how == "botkit sandbox":
            result = refused(["sandbox", "--port", "0", "--state", str(path)], tmp_path)
        else:
            config = tmp_path / "botkit.toml"
            config.write_text(f'[sandbox]\nstate_path = "{path}"\n')
            result = refused(["run", "--config", str(config), "--duration", "1"], tmp_path)
        assert result.returncode == 2, (kind, result.stderr)
        (line,) = result.stderr.strip().splitlines()
        assert str(path) in line, kind
        assert re.search(r"not a (usable )?sandbox state file|damaged|cannot be read", line), line
        assert path.read_bytes() == before, f"{kind}: a refused file must be left as it was"
        figures.add("bad_files_refused")
