"""Scenario 10: a hostile exchange. A raw-socket server on 127.0.0.1 that drips its answers a byte
every half second, sends a 1 MB gzip bomb that inflates to 1 GiB, or a 429 whose reset is ten years
ahead; and a config whose base_url carries a password.

Every call ends at its deadline, SIGTERM stops a real ``botkit run`` stuck in such a call within
``stop_timeout_seconds``, the bomb is refused with bounded memory, the far reset is capped, and the
bad URL is one line that never shows the password.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from botkit.client import Buttercoin, ButtercoinClient, MalformedResponseError, RetryPolicy, TransportError
from botkit.client.client import MAX_REPLY_BYTES
from botkit.daemon.breaker import CircuitBreaker
from botkit.daemon.scheduler import Daemon, StopTimedOut
from botkit.venues.buttercoin import ButtercoinMarketData
from tests.client.hostile_server import HostileServer, dripping_body, gzip_bomb, reply
from tests.polling import wait
from tests.reliability.conftest import Figures

KEY, SECRET = "hostile-key", "hostile-secret-0123456789abcdef"


def _botkit_run(tmp_path: Path, base_url: str, engine: str = "") -> subprocess.Popen[str]:
    config = tmp_path / "botkit.toml"
    config.write_text(f"""
strategy_paths = []
[exchange]
base_url = "{base_url}"
api_key = "{KEY}"
api_secret = "{SECRET}"
timeout_seconds = 60
[journal]
url = "sqlite:///{tmp_path / 'journal.sqlite'}"
[engine]
interval_seconds = 0.2
{engine}
""")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "botkit", "run", "--config", str(config)], cwd=tmp_path,
                            text=True, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_dripping_answer_is_cut_at_the_call_deadline(figures: Figures) -> None:
    with HostileServer(dripping_body(0.5)) as server:
        client = ButtercoinClient(KEY, SECRET, base_url=server.base_url, timeout=2.0,
                                  retry=RetryPolicy(attempts=1))
        started = time.monotonic()
        with pytest.raises(TransportError) as info:
            client.get_balances()
        cut_at = time.monotonic() - started
    figures.values.update({"drip_every_seconds": 0.5, "timeout_seconds": 2.0, "drip_cut_at_seconds": round(cut_at, 2),
                           "drip_would_take_seconds": 500})
    assert info.value.may_have_reached_server is True
    assert 2.0 <= cut_at < 10.0


def test_sigterm_stops_botkit_run_stuck_on_a_dripping_exchange(tmp_path: Path, figures: Figures) -> None:
    """The client's own timeout is 60 s (and retries): without the stop bound the process would
    hang on for minutes after SIGTERM."""
    with HostileServer(dripping_body(0.5, length=100_000)) as server:
        proc = _botkit_run(tmp_path, server.base_url, "stop_timeout_seconds = 2")
        try:
            wait(lambda: server.requests >= 1 or proc.poll() is not None, 60, "the daemon's first call")
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.5)  # well into the dripping answer
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=60)
            took = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    figures.values.update({"stop_timeout_seconds": 2, "client_timeout_seconds": 60,
                           "sigterm_exit_seconds": round(took, 2), "exit_status": proc.returncode})
    assert proc.returncode == 1, err
    assert "received SIGTERM" in err
    assert "exiting without the clean stop" in err and "Traceback" not in err
    assert took < 2 + 13  # the bound, plus generous room for a slow machine: not the 60 s call


def test_the_daemon_waits_at_most_stop_timeout_for_a_stuck_tick(figures: Figures) -> None:
    """In-process: a tick that never ends does not hold Daemon.run past its stop timeout."""
    release = threading.Event()
    engine = SimpleNamespace(run_id=None, start=lambda now: None, stop=lambda now, status: {},
                             tick=lambda snapshot: None)

    def stuck_fetch() -> Any:
        release.wait(120)
        raise TransportError("released", may_have_reached_server=True, method="GET", path="ticker")

    bot: Any = SimpleNamespace(engine=engine, fetch=stuck_fetch, journal=None)
    daemon = Daemon(bot, 0.05, stop_timeout=0.5, control=False)  # no journal: no operator's requests to read
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            daemon.run(install_signals=False)
        except StopTimedOut as exc:
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    try:
        wait(daemon._tick_lock.locked, 30, "the tick to start")
        started = time.monotonic()
        daemon.stop()
        thread.join(30)
        took = time.monotonic() - started
    finally:
        release.set()
    figures["stuck_tick_stop_seconds"] = round(took, 2)
    assert isinstance(result.get("error"), StopTimedOut)
    assert 0.5 <= took < 10


def test_a_gzip_bomb_is_refused_with_bounded_memory(figures: Figures) -> None:
    bomb = gzip_bomb(1)
    with HostileServer(reply(200, bomb, ("Content-Encoding", "gzip"))) as server:
        client = ButtercoinClient(KEY, SECRET, base_url=server.base_url, timeout=30, retry=RetryPolicy(attempts=1))
        tracemalloc.start()
        try:
            with pytest.raises(MalformedResponseError, match="larger than the client's limit"):
                client.get_ticker()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    figures.values.update({"bomb_wire_bytes": len(bomb), "bomb_decoded_bytes": 1 << 30,
                           "max_reply_bytes": MAX_REPLY_BYTES, "bomb_peak_memory_mb": round(peak / 2**20, 1)})
    assert peak < 3 * MAX_REPLY_BYTES  # the 1 GiB was never held


def test_a_rate_limit_reset_ten_years_ahead_opens_the_breaker_for_max_cooldown_only(figures: Figures) -> None:
    ten_years_ms = 10 * 365 * 86_400_000
    reset = time.time_ns() // 1_000_000 + ten_years_ms
    body = b'{"status":429,"errors":[{"code":"rate_limited","message":"slow down"}]}'
    with HostileServer(reply(429, body, ("X-Rate-Limit-Reset", str(reset)))) as server:
        client = ButtercoinClient(KEY, SECRET, base_url=server.base_url, retry=RetryPolicy(attempts=1))
        market = ButtercoinMarketData(Buttercoin(client))
        engine = SimpleNamespace(run_id=None)
        bot: Any = SimpleNamespace(engine=engine, fetch=market.fetch, journal=None)
        breaker = CircuitBreaker(threshold=5, max_cooldown=60.0)
        daemon = Daemon(bot, 1.0, breaker=breaker, control=False)  # no journal: no requests to read
        daemon.tick()
    assert breaker.open_until is not None
    opened_for = breaker.open_until - time.monotonic()
    figures.values.update({"reset_asked_seconds": ten_years_ms // 1000, "breaker_open_seconds": round(opened_for),
                           "breaker_max_cooldown_seconds": 60})
    assert daemon.skipped == 1
    assert 0 < opened_for <= 60.0


def test_a_base_url_with_a_password_is_one_line_without_the_password(tmp_path: Path, figures: Figures) -> None:
    proc = _botkit_run(tmp_path, "https://trader:hunter2secret@127.0.0.1:8443")
    _out, err = proc.communicate(timeout=60)
    figures["bad_base_url_exit_status"] = proc.returncode
    assert proc.returncode == 2
    assert err.strip().count("\n") == 0, err
    assert "exchange.base_url" in err and "***@127.0.0.1:8443" in err
    assert "hunter2" not in err and "Traceback" not in err
