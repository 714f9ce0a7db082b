"""Several clients of one API key: one clock per key, one turn per key on the machine, and a
request refused for its timestamp alone signed afresh and sent once more.

Against the real sandbox over HTTP on 127.0.0.1, and from two real processes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from botkit.client import AuthenticationError, ButtercoinClient
from botkit.client.turn import key_turn, turn_directory
from botkit.sandbox import Sandbox, SandboxAccount
from tests.client.contract_server import KEY, SECRET, ContractServer, Reply
from tests.sandbox.helpers import ALICE, NO_RETRY, START, client_for

HAMMER = """
import sys
from botkit.client import ButtercoinClient, RetryPolicy
client = ButtercoinClient(sys.argv[1], sys.argv[2], base_url=sys.argv[3], retry=RetryPolicy(attempts=1))
errors = 0
for _ in range(int(sys.argv[4])):
    try:
        client.get_balances()
    except Exception as exc:
        errors += 1
        print(type(exc).__name__, exc, file=sys.stderr)
print(errors)
"""


@pytest.fixture
def alice_sandbox() -> Iterator[Sandbox]:
    with Sandbox(market="off", accounts=[SandboxAccount(*ALICE, dict(START))], rate_limit=0) as sb:
        yield sb


def _resigned(caplog: pytest.LogCaptureFixture) -> int:
    return sum("signing again" in r.getMessage() for r in caplog.records)


def test_clients_of_one_key_in_one_process_share_one_clock(
    alice_sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="botkit.client")
    clients = [client_for(alice_sandbox, ALICE) for _ in range(2)]
    assert key_turn(ALICE[0]) is key_turn(ALICE[0])
    errors: list[Exception] = []

    def hammer(client: ButtercoinClient) -> None:
        for _ in range(150):
            try:
                client.get_balances()
            except Exception as exc:  # the test's whole point: count every failure
                errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(c,)) for c in clients for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _resigned(caplog) == 0, "in one process the shared turn leaves nothing to re-sign"


def test_two_processes_hammering_one_key_get_no_authentication_error(alice_sandbox: Sandbox) -> None:
    args = [sys.executable, "-c", HAMMER, *ALICE, alice_sandbox.base_url, "300"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    for (out, err), proc in zip(outputs, procs, strict=True):
        assert proc.returncode == 0, err
        assert out.strip() == "0", err


def test_the_turn_file_is_private_and_named_after_a_hash_of_the_key(alice_sandbox: Sandbox) -> None:
    client_for(alice_sandbox, ALICE).get_balances()
    directory = turn_directory()
    assert directory.stat().st_mode & 0o777 == 0o700
    files = list(directory.glob("*.turn"))
    assert files and all(ALICE[0] not in f.name for f in files)
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_replayed_timestamp_is_signed_afresh_once_and_the_call_succeeds(
    alice_sandbox: Sandbox, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    """Another machine's client of the key used a later timestamp: our first try is a replay."""
    caplog.set_level(logging.INFO, logger="botkit.client")
    client = client_for(alice_sandbox, ALICE)
    ahead = time.time_ns() // 1_000_000 + 2_000
    assert alice_sandbox.exchange.accept_timestamp(ALICE[0], ahead)
    if method == "POST":
        body = {"instrument": "BTC_USD", "side": "buy", "orderType": "limit", "price": "100", "quantity": "0.1"}
        client.create_order(body)
        assert len(client.get_orders({"status": "opened"})) == 1, "placed exactly once"
    else:
        assert client.get_balances()
    assert _resigned(caplog) == 1
    assert alice_sandbox.exchange.last_timestamp(ALICE[0]) > ahead


def test_a_second_timestamp_refusal_is_raised_not_retried_again() -> None:
    server = ContractServer().start()
    try:
        refusal = {"errors": [{"code": "authentication_failed", "message": "replayed timestamp: 5 is not greater"}]}
        server.reply(Reply(401, refusal), Reply(401, refusal))
        client = ButtercoinClient(KEY, SECRET, base_url=server.base_url, retry=NO_RETRY)
        with pytest.raises(AuthenticationError, match="replayed timestamp"):
            client.create_order({"instrument": "BTC_USD", "side": "buy", "orderType": "market", "quantity": "1"})
        assert len(server.requests_to("/v1/orders")) == 2
    finally:
        server.stop()


@pytest.mark.parametrize("message", ["bad signature for http://x/v1/orders", "unknown API key"])
def test_other_authentication_failures_are_not_resent(message: str) -> None:
    server = ContractServer().start()
    try:
        server.reply(Reply(401, {"errors": [{"code": "authentication_failed", "message": message}]}))
        client = ButtercoinClient(KEY, SECRET, base_url=server.base_url, retry=NO_RETRY)
        with pytest.raises(AuthenticationError):
            client.get_balances()
        assert len(server.requests_to("/v1/account/balances")) == 1
    finally:
        server.stop()


def test_a_pinned_timestamp_is_never_resigned(alice_sandbox: Sandbox) -> None:
    client = client_for(alice_sandbox, ALICE)
    pinned = time.time_ns() // 1_000_000
    client.get_balances(timestamp=pinned)
    with pytest.raises(AuthenticationError, match="replayed timestamp"):
        client.get_balances(timestamp=pinned)


def test_an_unusable_turn_directory_falls_back_to_the_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    (runtime / "botkit").write_text("not a directory")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    script = (
        "import logging, sys; logging.basicConfig(level=logging.WARNING)\n"
        "from botkit.client.turn import key_turn\n"
        "t = key_turn('k'); print(t.shared_across_processes)\n"
        "with t.hold() as clock: print(clock.next() > 0)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)}, check=True)
    assert done.stdout.split() == ["False", "True"]
    assert "shared within this process only" in done.stderr

