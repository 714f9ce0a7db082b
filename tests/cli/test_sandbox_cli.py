"""``botkit sandbox`` in a subprocess: prints its URL once listening, serves, and on SIGTERM or
SIGINT stops cleanly with the state saved and exit status 0."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from botkit.cli import main
from botkit.cli.sandbox import parse_account
from botkit.client import ButtercoinClient

ROOT = Path(__file__).resolve().parents[2]


class Running:
    def __init__(self, process: subprocess.Popen[str], url: str, lines: list[str]) -> None:
        self.process = process
        self.url = url
        self.lines = lines


@contextmanager
def sandbox_process(*args: str) -> Iterator[Running]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUTTERCOIN_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "botkit", "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        assert process.stdout is not None
        first: list[str] = []
        reader = threading.Thread(target=lambda: first.append(process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(30)
        assert first, "the sandbox printed no URL"
        url = first[0].strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), url
        yield Running(process, url, first)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def stop(running: Running, signum: int) -> str:
    running.process.send_signal(signum)
    out, _ = running.process.communicate(timeout=30)
    return out


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serves_then_stops_cleanly_with_state_saved(tmp_path: Path, signum: int) -> None:
    state = tmp_path / "state.sqlite"
    args = ("--market", "off", "--state", str(state), "--account", "bot:s3cret:USD=1000,BTC=1")
    with sandbox_process(*args) as running:
        client = ButtercoinClient("bot", "s3cret", base_url=running.url)
        assert client.get_balances() == {"BTC": 1, "USD": 1000}
        client.create_order({"side": "buy", "orderType": "limit", "price": "100.00", "quantity": "2"})
        stop(running, signum)
        assert running.process.returncode == 0
    with sandbox_process(*args) as again:
        client = ButtercoinClient("bot", "s3cret", base_url=again.url)
        (resting,) = client.get_orders()
        assert resting["status"] == "opened"
        assert resting["quantity"] == 2
        assert client.get_order_book()["bid"] == [{"price": 100, "quantity": 2}]
        stop(again, signal.SIGTERM)
        assert again.process.returncode == 0


def test_without_accounts_a_demo_account_is_printed_and_the_market_runs() -> None:
    with sandbox_process("--market-interval", "0.05", "--seed", "4") as running:
        assert running.process.stdout is not None
        line = running.process.stdout.readline()
        match = re.fullmatch(r"demo account: key=(\S+) secret=(\S+)\n", line)
        assert match, line
        client = ButtercoinClient(match[1], match[2], base_url=running.url)
        assert client.get_balances() == {"BTC": 10, "USD": 100000}
        book = requests.get(running.url + "/v1/orderbook", timeout=5).json()
        assert book["bid"]
        assert book["ask"]
        stop(running, signal.SIGINT)
        assert running.process.returncode == 0


def test_help_lists_the_options_of_the_issue() -> None:
    result = CliRunner().invoke(main, ["sandbox", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--state", "--market", "--seed", "--maker-fee-bps", "--taker-fee-bps",
                   "--rate-limit", "--account", "--admin"):
        assert option in result.output


def test_bad_options_are_refused() -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["sandbox", "--market", "wild"]).exit_code == 2
    assert runner.invoke(main, ["sandbox", "--account", "nosecret"]).exit_code == 2
    assert runner.invoke(main, ["sandbox", "--account", "k:s:EUR=1"]).exit_code == 2
    assert runner.invoke(main, ["sandbox", "--maker-fee-bps", "lots"]).exit_code == 2
    assert runner.invoke(main, ["sandbox", "--error-rate", "2"]).exit_code == 2


def test_account_option_parsing() -> None:
    account = parse_account("k:s:USD=10.5,btc=2")
    assert (account.key, account.secret) == ("k", "s")
    assert account.balances == {"USD": Decimal("10.5"), "BTC": Decimal(2)}
    assert parse_account("k:s").balances == {}
    for bad in ("k", ":s", "k:", "k:s:USD", "k:s:USD=x", "k:s:USD=-1"):
        with pytest.raises(ValueError, match=r"expected|number|amount"):
            parse_account(bad)
