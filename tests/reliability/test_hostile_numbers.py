"""Scenario 13: hostile numbers. No number, wherever it enters, freezes or crashes anything.

``Decimal("1e-40000000")`` is cheap to build, but the first exact operation on it builds a
40-million-digit integer while holding the GIL: one signed ``POST /v1/orders`` froze every other
connection of the sandbox for minutes, and one such line froze ``botkit data check``/``convert``.
Python's ``Decimal`` is also lenient where the contract is strict: it read ``"1_00"``, ``" 100"``,
Arabic-Indic and full-width digits as 100.

Against a real ``botkit sandbox`` process over HTTP on 127.0.0.1: every hostile value in every
number field of every endpoint (orders, deposits, withdrawals, sends, admin accounts and faults) is
sent while a second connection asks for the ticker at the same moment. Each hostile request gets
its 400 with the contract's error body naming the field, the concurrent ticker is answered, and the
account's balances, orders and transactions are unchanged. Then a recording with hostile numbers in
every field: ``botkit data check`` (a real process) names each bad line, and conversion skips them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from botkit.client.signing import signature
from botkit.core import jsonutil
from tests.cli.test_sandbox_cli import Running, sandbox_process
from tests.reliability.conftest import Figures

KEY, SECRET = "alice", "alice-secret"
TINY, HUGE = b"1e-40000000", b"1E+40000000"
HOSTILE: list[bytes] = [
    TINY, HUGE, b"-1e40000000", b"1" + b"0" * 4000,
    b'"1e-40000000"', b'"1E+40000000"', b'"0e-99999999"',
    b'"1_00"', b'" 100"', b'"100 "', b'"\xd9\xa1\xd9\xa0\xd9\xa0"', b'"\xef\xbc\x91\xef\xbc\x90\xef\xbc\x90"',
    b'"+1"', b'"NaN"', b'"Infinity"', b'"0x10"', b'"' + b"1" * 200 + b'"',
]
ENDPOINTS: list[tuple[str, str, str]] = [
    ("/v1/orders", '{"instrument":"BTC_USD","side":"buy","orderType":"limit","price":"400.00","quantity":@}',
     "quantity"),
    ("/v1/orders", '{"instrument":"BTC_USD","side":"sell","orderType":"limit","price":@,"quantity":"1"}', "price"),
    ("/v1/orders", '{"instrument":"USD_BTC","side":"sell","orderType":"market","quantity":@}', "quantity"),
    ("/v1/transactions/deposit", '{"method":"wire","currency":"USD","amount":@}', "amount"),
    ("/v1/transactions/withdraw", '{"method":"us_ach","currency":"USD","amount":@}', "amount"),
    ("/v1/transactions/send", '{"currency":"BTC","amount":@,"destination":"mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"}',
     "amount"),
]
ADMIN: list[tuple[str, str, str]] = [
    ("/admin/accounts", '{"key":"mallory","secret":"m","balances":{"USD":@}}', "USD"),
    ("/admin/faults", '{"queue":[{"kind":"error500","count":@}]}', "count"),
]


@pytest.fixture(scope="module")
def tally() -> Iterator[Figures]:
    fig = Figures("hostile_numbers")
    fig.values = {"hostile_requests": 0, "answered_400": 0, "concurrent_tickers_answered": 0,
                  "bad_lines_reported": 0}
    yield fig
    fig.save()


@pytest.fixture(scope="module")
def exchange() -> Iterator[Running]:
    with sandbox_process("--account", f"{KEY}:{SECRET}:USD=100000,BTC=10", "--admin", "--rate-limit", "0",
                         "--market", "off", "--deposit-delay", "0", "--withdraw-delay", "0") as running:
        yield running


class Signed:
    """Raw signed calls with increasing timestamps (what the client never sends)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.last = 0

    def call(self, method: str, path: str, body: bytes = b"") -> requests.Response:
        self.last = max(time.time_ns() // 1_000_000, self.last + 1)
        url = self.base_url + path
        headers = {"X-Buttercoin-Access-Key": KEY, "X-Buttercoin-Signature": signature(SECRET, self.last, url, body),
                   "X-Buttercoin-Date": str(self.last), "Content-Type": "application/json"}
        return requests.request(method, url, data=body or None, headers=headers, timeout=60)


def account_state(signed: Signed) -> tuple[Any, ...]:
    return tuple(jsonutil.loads(signed.call("GET", path).content)
                 for path in ("/v1/account/balances", "/v1/orders", "/v1/transactions"))


def hostile_with_concurrent_ticker(base_url: str, send: Any) -> tuple[requests.Response, int, float, float]:
    """Send one hostile request on a thread while this thread asks for the ticker: both answers,
    and how long each took (ms)."""
    answer: list[tuple[requests.Response, float]] = []

    def hostile() -> None:
        start = time.perf_counter()
        response = send()
        answer.append((response, (time.perf_counter() - start) * 1000))

    thread = threading.Thread(target=hostile)
    thread.start()
    start = time.perf_counter()
    ticker = requests.get(base_url + "/v1/ticker", timeout=60).status_code
    ticker_ms = (time.perf_counter() - start) * 1000
    thread.join(60)
    assert answer, "the hostile request got no answer"
    return answer[0][0], ticker, answer[0][1], ticker_ms


def _check_400(response: requests.Response, field: str, number: bytes) -> None:
    """A 400 naming the field, or for a JSON number with a fraction or exponent, refused while the
    body is parsed, naming the JSON number."""
    assert response.status_code == 400, response.text[:300]
    body = jsonutil.loads(response.content)
    if number[:1] != b'"' and (b"e" in number.lower() or b"." in number):
        field = "JSON number"
    assert body["status"] == 400 and body["errors"][0]["code"].startswith(("invalid_", "malformed_"))
    assert field in body["errors"][0]["message"] and len(body["errors"][0]["message"]) < 300


@pytest.mark.parametrize(("path", "template", "field"), ENDPOINTS + ADMIN,
                         ids=[f"{p.rsplit('/', 1)[1]}-{f}" for p, _, f in ENDPOINTS + ADMIN])
def test_every_hostile_number_is_a_400_and_freezes_nothing(
    exchange: Running, tally: Figures, path: str, template: str, field: str
) -> None:
    signed = Signed(exchange.url)
    before = account_state(signed)
    worst_hostile = worst_ticker = 0.0
    for number in HOSTILE:
        if path.startswith("/admin/") and field == "count" and number.startswith(b'"'):
            continue  # a string count is refused by type; the numbers are what matters here
        body = template.encode().replace(b"@", number)
        if path.startswith("/admin/"):
            def send(body: bytes = body) -> requests.Response:
                return requests.post(exchange.url + path, data=body, headers={"Content-Type": "application/json"},
                                     timeout=60)
        else:
            def send(body: bytes = body) -> requests.Response:
                return signed.call("POST", path, body)
        response, ticker, hostile_ms, ticker_ms = hostile_with_concurrent_ticker(exchange.url, send)
        _check_400(response, field, number)
        assert ticker == 200
        tally.add("hostile_requests")
        tally.add("answered_400")
        tally.add("concurrent_tickers_answered")
        worst_hostile, worst_ticker = max(worst_hostile, hostile_ms), max(worst_ticker, ticker_ms)
    assert account_state(signed) == before
    assert requests.get(exchange.url + "/admin/faults", timeout=10).json()["queue"] == []
    tally["max_hostile_request_ms"] = round(max(tally.values.get("max_hostile_request_ms", 0), worst_hostile), 1)
    tally["max_concurrent_ticker_ms"] = round(max(tally.values.get("max_concurrent_ticker_ms", 0), worst_ticker), 1)


def test_the_exchange_is_alive_and_unharmed_afterwards(exchange: Running) -> None:
    signed = Signed(exchange.url)
    assert exchange.process.poll() is None
    assert jsonutil.loads(signed.call("GET", "/v1/account/balances").content) == {"USD": 100000, "BTC": 10}
    good = b'{"instrument":"BTC_USD","side":"buy","orderType":"limit","price":"400.00","quantity":"0.5"}'
    assert signed.call("POST", "/v1/orders", good).status_code == 202


# --------------------------------------------------------------------------- files

LINE = ('{"ts":@TS,"ticker":{"currency":"USD","last":@A,"bid":403.98,"ask":404.22},'
        '"orderbook":{"bid":[{"price":@B,"quantity":1.5},{"price":403.9,"quantity":@C}],'
        '"ask":[{"price":404.22,"quantity":0.25}],"price_currency":"USD","quantity_currency":"BTC"},'
        '"trades":[{"spent":@D,"spentCurrency":"BTC","earned":8.0824,"earnedCurrency":"USD","timestamp":990}]}')
NORMAL = {"A": "404.12", "B": "403.98", "C": "2", "D": "0.02"}


def test_data_check_names_every_hostile_line(tmp_path: Path, tally: Figures) -> None:
    lines, bad = [], []
    numbers = [n.decode() for n in HOSTILE if not n.startswith(b'"')]
    for i in range(40):
        values = dict(NORMAL)
        if i % 3 == 1:
            values["ABCD"[i % 4]] = numbers[i % len(numbers)]
            bad.append(i + 1)
        text = LINE.replace("@TS", str(1000 * (i + 1)))
        for slot, value in values.items():
            text = text.replace("@" + slot, value)
        lines.append(text)
    data = tmp_path / "recording.jsonl"
    data.write_text("\n".join(lines) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUTTERCOIN_")}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "botkit", "data", "check", str(data)], capture_output=True,
                          text=True, timeout=300, env=env, check=False)
    tally["data_check_ms"] = round((time.perf_counter() - start) * 1000)
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    reported = sorted({int(part.split(":", 1)[0]) for part in proc.stderr.split(f"{data}:")[1:]})
    assert reported == bad
    assert f"{40 - len(bad)} good snapshot(s), {len(bad)} bad" in proc.stdout
    tally.add("bad_lines_reported", len(reported))
