"""Scenario 14, hostile clients of the sandbox: a real ``botkit sandbox`` process under hundreds of
idle and dribbling connections, forged requests naming a real key, made-up paths and a web page's
attempts on the admin API, while a well-behaved client trades. The honest client is served
throughout, its key's rate limit is its own, and nothing the attacks sent changed an account."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import requests

from botkit.client import ButtercoinClient
from botkit.client.signing import signature
from tests.cli.test_sandbox_cli import sandbox_process
from tests.polling import wait
from tests.reliability.conftest import Figures
from tests.sockets import closed_by_server, dribble

KEY, SECRET = "alice", "alice-secret-0123456789"
IDLE, DRIBBLERS, FORGED, MADE_UP = 300, 50, 60, 1000






def test_hostile_clients_cannot_deny_service_or_touch_accounts(figures: Figures) -> None:
    args = ["--market", "off", "--admin", "--account", f"{KEY}:{SECRET}:USD=100000,BTC=10",
            "--rate-limit", "1", "--rate-limit-burst", "200", "--idle-timeout", "2", "--request-deadline", "2"]
    with sandbox_process(*args) as running:
        url = running.url
        port = urlsplit(url).port
        assert port is not None
        idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(IDLE)]
        dribblers = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(DRIBBLERS)]
        for s in dribblers:
            s.sendall(b"POST /admin/accounts HTTP/1.1\r\nX-Slow: ")
        try:
            # the honest client trades while every attack connection is open
            slowest = 0.0
            with ButtercoinClient(KEY, SECRET, base_url=url, timeout=10) as alice:
                for _ in range(10):
                    started = time.perf_counter()
                    location = alice.create_order({"side": "buy", "orderType": "limit",
                                                   "price": "100.00", "quantity": "0.01"})
                    alice.cancel_order(location.rsplit("/", 1)[1])
                    slowest = max(slowest, time.perf_counter() - started)
                alice.get_balances()
                remaining = alice.rate_limit.remaining
                assert remaining is not None

                # forged requests naming the key: refused, and charged to the sender's address
                target = url + "/v1/account/balances"
                forged_codes = []
                for i in range(FORGED):
                    headers = {"X-Buttercoin-Access-Key": KEY}
                    if i % 3 == 1:
                        headers |= {"X-Buttercoin-Signature": "AAAA", "X-Buttercoin-Date": str(int(time.time() * 1000))}
                    if i % 3 == 2:  # a genuine signature by another secret
                        ts = int(time.time() * 1000) + i
                        headers |= {"X-Buttercoin-Signature": signature("guess", ts, target),
                                    "X-Buttercoin-Date": str(ts)}
                    forged_codes.append(requests.get(target, headers=headers, timeout=10).status_code)
                assert set(forged_codes) == {401}, forged_codes
                alice.get_balances()
                assert alice.rate_limit.remaining is not None
                assert remaining - 1 <= alice.rate_limit.remaining <= remaining  # its bucket is its own

                # a web page's attempts on the admin API
                rewrite = b'{"key": "alice", "secret": "stolen", "balances": {"USD": "1"}}'
                attempts = [
                    {"Content-Type": "text/plain"},
                    {"Content-Type": "application/x-www-form-urlencoded"},
                    {"Content-Type": "application/json", "Host": "evil.example"},
                    {"Content-Type": "application/json", "Origin": "http://evil.example"},
                    {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
                ]
                admin_codes = [requests.post(url + "/admin/accounts", data=rewrite, headers=h, timeout=10).status_code
                               for h in attempts]
                assert all(code in (403, 415) for code in admin_codes), admin_codes
                assert alice.get_balances()["USD"] == 100000  # the secret still signs: it was not rewritten

            # made-up paths do not grow the counters
            with requests.Session() as session:
                for i in range(MADE_UP):
                    session.get(f"{url}/v1/nothing-{i}", timeout=10)
            counters = requests.get(url + "/admin/stats", timeout=10).json()["requests"]

            # the attack connections give their place back
            wait(lambda: all(closed_by_server(s) for s in idle), 60, "the idle connections to be closed")
            wait(lambda: dribble(dribblers) == DRIBBLERS, 60, "the dribbling connections to be closed", every=0.5)
        finally:
            for s in idle + dribblers:
                s.close()
    assert len(counters) <= 10, counters
    figures["idle_connections_closed"] = IDLE
    figures["dribbling_connections_closed"] = DRIBBLERS
    figures["honest_round_trips_while_attacked"] = 10
    figures["slowest_round_trip_ms"] = round(slowest * 1000, 1)
    figures["forged_requests_refused"] = FORGED
    figures["admin_attacks_refused"] = len(attempts)
    figures["made_up_paths"] = MADE_UP
    figures["request_counters_after"] = len(counters)
