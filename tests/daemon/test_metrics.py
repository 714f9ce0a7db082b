"""Prometheus metrics: the client's call observer, a bot's metrics through the daemon's ticks, and
`botkit run --metrics-port` in a subprocess scraped over HTTP. Real sandbox, real journals."""

from __future__ import annotations

import json
import math
import signal
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

import botkit
from botkit.client import ButtercoinClient, NotFoundError, RetryPolicy, TransportError
from botkit.client.client import endpoint_template
from botkit.core.errors import MarketDataError, OrderRejected, VenueError, VenueUnavailable
from botkit.daemon.breaker import CircuitBreaker
from botkit.daemon.metrics import JournalTail, Metrics, skip_reason
from botkit.daemon.scheduler import Daemon
from botkit.journal import Journal
from botkit.model import Fill, Liquidity, Order, OrderStatus, OrderType, Side
from tests.ops.helpers import (
    account,
    botkit_once,
    counter,
    counterparty,
    losing_rig,
    metrics_url,
    now_ms,
    rig,
    scrape,
    start_botkit,
    total,
    wait,
)
from tests.plugins.recorder import Recorder

D = Decimal
BOT_KEY = "ops-bot"


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from botkit.sandbox import Sandbox

    with Sandbox(market="off", accounts=[counterparty(), account(BOT_KEY)], rate_limit=0) as sb:
        yield sb


# ---------------------------------------------------------------------- the client's observer


@pytest.mark.parametrize(("path", "template"), [
    ("ticker", "/v1/ticker"), ("orderbook", "/v1/orderbook"), ("trades", "/v1/trades"),
    ("account/balances", "/v1/account/balances"), ("orders", "/v1/orders"),
    ("orders/5b3c-9e1f", "/v1/orders/{id}"), ("transactions/abc", "/v1/transactions/{id}"),
    ("transactions/withdraw", "/v1/transactions/withdraw"), ("orders?status=opened", "/v1/orders"),
    ("somewhere/else/entirely", "/v1/{other}"), ("orders/a/b", "/v1/{other}"),
])
def test_endpoint_templates_have_no_ids(path: str, template: str) -> None:
    assert endpoint_template(path) == template


def test_the_client_reports_every_attempt_with_its_route_and_outcome(sandbox: Any) -> None:
    calls: list[tuple[str, str, float, str]] = []
    client = ButtercoinClient(BOT_KEY, f"{BOT_KEY}-secret-0123456789", base_url=sandbox.base_url,
                              retry=RetryPolicy(attempts=2, backoff=0.01), on_call=lambda *a: calls.append(a))
    client.get_ticker()
    with pytest.raises(NotFoundError):
        client.get_order_by_id("no-such-order")
    sandbox.faults.queue("error503", "GET", "/v1/orderbook")
    client.get_order_book()  # a 503, then the retry's 200: two attempts, two reports
    assert [(m, e, o) for m, e, _, o in calls] == [
        ("GET", "/v1/ticker", "200"), ("GET", "/v1/orders/{id}", "404"),
        ("GET", "/v1/orderbook", "503"), ("GET", "/v1/orderbook", "200")]
    assert all(0 <= seconds < 60 for _, _, seconds, _ in calls)
    client.close()


def test_a_refused_connection_and_a_broken_observer(sandbox: Any) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]  # nothing listens once the socket closes
    calls: list[tuple[str, str, float, str]] = []
    client = ButtercoinClient("k", "s", base_url=f"http://127.0.0.1:{closed_port}", retry=RetryPolicy(attempts=1),
                              on_call=lambda *a: calls.append(a))
    with pytest.raises(TransportError):
        client.get_ticker()
    assert [(m, e, o) for m, e, _, o in calls] == [("GET", "/v1/ticker", "connection_error")]

    def broken(*_: object) -> None:
        raise RuntimeError("metrics bug")

    working = ButtercoinClient(base_url=sandbox.base_url, on_call=broken)
    assert working.get_ticker()["currency"] == "USD"  # the observer's bug never reaches the caller
    client.close()
    working.close()


# ---------------------------------------------------------------------- the registry


def test_metrics_live_in_a_registry_of_their_own() -> None:
    first, second = Metrics(), Metrics()  # the same names twice: no "Duplicated timeseries"
    assert first.registry is not second.registry
    assert not [m for m in REGISTRY.collect() if m.name.startswith("botkit_")]


def _families(metrics: Metrics) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}


def test_every_metric_is_named_typed_documented_and_labelled_by_bot(sandbox: Any, tmp_path: Path) -> None:
    bots = [rig(sandbox, f"sqlite:///{tmp_path / f'{n}.sqlite'}", n, BOT_KEY, {"rec": Recorder()}) for n in "ab"]
    metrics = Metrics()
    for each in bots:  # two bots, one registry: each its own series
        observer = metrics.for_bot(each.engine, each.journal)
        observer.watch_breaker(CircuitBreaker())
        observer.exchange_call("GET", "/v1/ticker", 0.002, "200")
        observer.metrics.fees.inc((each.journal.bot_id, "rec"), D("0.1"))
    families = {name: f for name, f in _families(metrics).items()
                if name.startswith("botkit_") and not name.endswith("_created")}  # `botkit run` turns those off
    expected = {
        "botkit_ticks": "counter", "botkit_ticks_skipped": "counter", "botkit_tick_duration_seconds": "histogram",
        "botkit_last_snapshot_age_seconds": "gauge", "botkit_exchange_request_duration_seconds": "histogram",
        "botkit_exchange_errors": "counter", "botkit_orders": "counter", "botkit_cancel_requests": "counter",
        "botkit_fills": "counter", "botkit_fill_volume_btc": "counter", "botkit_fill_notional_usd": "counter",
        "botkit_fees_usd": "counter", "botkit_risk_rejections": "counter", "botkit_position_btc": "gauge",
        "botkit_equity_usd": "gauge", "botkit_open_orders": "gauge", "botkit_unresolved_orders": "gauge",
        "botkit_kill_switch_tripped": "gauge", "botkit_strategy_failures": "counter",
        "botkit_strategy_paused": "gauge", "botkit_circuit_breaker_open": "gauge",
        "botkit_circuit_breaker_trips": "counter", "botkit_ticks_held_back": "counter",
    }
    assert {name: f.type for name, f in families.items()} == expected
    for family in families.values():
        assert len(family.documentation) > 20, family.name
        for sample in family.samples:
            assert sample.labels["bot"] in ("a", "b"), sample
    assert {s.labels["bot"] for s in families["botkit_exchange_request_duration_seconds"].samples} == {"a", "b"}
    assert "process_cpu_seconds_total" in metrics.render().decode()  # the standard process metrics too
    for each in bots:
        each.close()


@pytest.mark.parametrize(("error", "reason"), [
    (MarketDataError("NaN bid"), "bad_data"), (VenueUnavailable("503"), "venue_unavailable"),
    (OrderRejected("no"), "venue_error"), (VenueError("odd"), "venue_error"), (KeyError("bug"), "exception"),
])
def test_skip_reasons(error: BaseException, reason: str) -> None:
    assert skip_reason(error) == reason


def test_the_journal_tail_reads_only_its_own_bots_new_rows(journal_url: str, bot_id: str) -> None:
    mine, other = Journal(journal_url, f"{bot_id}-mine"), Journal(journal_url, f"{bot_id}-other")
    tail = JournalTail(mine)
    run, other_run = mine.begin_run("live", 1), other.begin_run("live", 1)

    def order(journal: Journal, run_id: int, exchange_id: str, fill: bool) -> None:
        record = journal.record_pending(run_id, "live", "mm", "", Side.BUY, "limit", D("400"), D("0.1"), 2)
        journal.bind(record, exchange_id, 3)
        if fill:
            done = Fill(exchange_id, D("400"), D("0.1"), D("0.04"), Liquidity.MAKER, 4, 0)
            journal.apply(record, Order(exchange_id, Side.BUY, OrderType.LIMIT, OrderStatus.FILLED, D("400"),
                                        D("0.1"), D("0.1"), 2, fills=(done,)), run_id, 4)

    order(other, other_run, f"{bot_id}-o1", fill=True)
    other.record_rejection(other_run, 5, "mm", "price_band", "too far", "buy 1 @ 1")
    order(mine, run, f"{bot_id}-m1", fill=False)
    mine.record_rejection(run, 5, "mm", "max_position", "too big", "buy 9 @ 400")
    order(other, other_run, f"{bot_id}-o2", fill=True)
    news = tail.read(run)
    assert news.events == [("mm", "pending"), ("mm", "placed")]
    assert (news.fills, news.rejections) == ([], [("mm", "max_position")])
    order(mine, run, f"{bot_id}-m2", fill=True)
    again = tail.read(run)  # only what is new since the last read
    assert again.events == [("mm", "pending"), ("mm", "placed"), ("mm", "fill"), ("mm", "filled")]
    assert [(f.quantity, f.fee, f.liquidity) for f in again.fills] == [(D("0.1"), D("0.04"), "maker")]
    assert again.rejections == []
    mine.close()
    other.close()


# ---------------------------------------------------------------------- a bot through the daemon


def test_metrics_follow_a_bot_through_the_daemons_ticks(sandbox: Any, journal_url: str, bot_id: str) -> None:
    counter(sandbox, "buy", "399.00", "5")
    counter(sandbox, "sell", "401.00", "5")
    recorder = Recorder()

    def fail(snapshot: Any, ctx: Any) -> None:
        raise RuntimeError("strategy bug")

    recorder.script = [
        [botkit.buy("0.5", "401.00"), botkit.buy("11", "398.00")],  # a taker fill; too big for max_order_quantity
        [botkit.sell("0.2", "402.00")],  # rests: one open order
        fail, fail, fail,  # three failures in a row pause it (max_failures=3)
    ]
    bot = rig(sandbox, journal_url, bot_id, BOT_KEY, {"rec": recorder})
    metrics = Metrics()
    observer = metrics.for_bot(bot.engine, bot.journal)
    bot.client.on_call = observer.exchange_call
    breaker = CircuitBreaker(threshold=1, cooldown=600)
    observer.watch_breaker(breaker)
    daemon = Daemon(bot.bot, 1.0, observer=observer, breaker=breaker)
    bot.engine.start(now_ms())
    for _ in range(6):
        daemon.tick()

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"bot": bot_id, **labels})

    assert value("botkit_ticks_total") == 6
    assert value("botkit_tick_duration_seconds_count") == 6
    assert value("botkit_orders_total", strategy="rec", status="pending") == 2
    assert value("botkit_orders_total", strategy="rec", status="placed") == 2
    assert value("botkit_orders_total", strategy="rec", status="filled") == 1
    assert value("botkit_fills_total", strategy="rec", side="buy", liquidity="taker") == 1
    assert value("botkit_fill_volume_btc_total", strategy="rec", side="buy") == 0.5
    assert value("botkit_fill_notional_usd_total", strategy="rec", side="buy") == 200.5
    assert metrics.fees.value((bot_id, "rec")) == D("0.401")  # 20 bps taker fee, exact
    assert value("botkit_risk_rejections_total", strategy="rec", rule="max_order_quantity") == 1
    assert value("botkit_position_btc", strategy="rec") == 0.5
    assert value("botkit_open_orders", strategy="rec") == 1
    assert value("botkit_equity_usd") == float(bot.engine.equity or 0)
    assert value("botkit_kill_switch_tripped") == 0
    assert value("botkit_strategy_failures_total", strategy="rec") == 3
    assert value("botkit_strategy_paused", strategy="rec") == 1
    assert value("botkit_exchange_request_duration_seconds_count", method="GET", endpoint="/v1/ticker") == 6
    assert value("botkit_exchange_request_duration_seconds_count", method="POST", endpoint="/v1/orders") == 2
    age = value("botkit_last_snapshot_age_seconds")
    assert age is not None and 0 <= age < 60

    # The exchange answers 503 to every try of the ticker: the tick is skipped, each try counted.
    sandbox.faults.queue("error503", "GET", "/v1/ticker", count=3)
    daemon.tick()
    assert value("botkit_ticks_total") == 6
    assert value("botkit_ticks_skipped_total", reason="venue_unavailable") == 1
    assert value("botkit_exchange_errors_total", method="GET", endpoint="/v1/ticker", kind="503") == 3
    # That failure opened the breaker (threshold 1): the next tick is held back, no request sent.
    assert value("botkit_circuit_breaker_open") == 1
    daemon.tick()
    assert value("botkit_ticks_held_back_total") == 1
    assert value("botkit_circuit_breaker_trips_total") == 1
    assert value("botkit_exchange_request_duration_seconds_count", method="GET", endpoint="/v1/ticker") == 9
    bot.engine.stop(now_ms())
    bot.close()


def test_the_kill_switch_gauge_and_its_rejections(sandbox: Any, tmp_path: Path) -> None:
    bot = losing_rig(sandbox, f"sqlite:///{tmp_path / 'j.sqlite'}", "kill", BOT_KEY)
    metrics = Metrics()
    observer = metrics.for_bot(bot.engine, bot.journal)
    daemon = Daemon(bot.bot, 1.0, observer=observer)
    bot.engine.start(now_ms())
    daemon.tick()
    assert metrics.registry.get_sample_value("botkit_kill_switch_tripped", {"bot": "kill"}) == 0
    daemon.tick()  # the loss shows in the equity: the kill switch trips, the next buy is refused
    assert bot.engine.risk.halted_reason is not None
    assert metrics.registry.get_sample_value("botkit_kill_switch_tripped", {"bot": "kill"}) == 1
    assert metrics.registry.get_sample_value(
        "botkit_risk_rejections_total", {"bot": "kill", "strategy": "rec", "rule": "daily_loss_limit"}) == 1
    equity = metrics.registry.get_sample_value("botkit_equity_usd", {"bot": "kill"})
    assert equity is not None and not math.isnan(equity)
    bot.engine.stop(now_ms())
    bot.close()


# ---------------------------------------------------------------------- botkit run --metrics-port


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "botkit.toml"
    path.write_text(f"""
strategy_paths = []
[journal]
url = "sqlite:///{tmp_path / 'journal.sqlite'}"
[engine]
interval_seconds = 0.2
[sandbox]
state_path = "{tmp_path / 'sandbox.sqlite'}"
[strategies.market_maker]
spread_bps = 4
size = 0.05
{extra}
""")
    return path


def test_botkit_run_serves_metrics_and_botkit_status_sees_it_die(tmp_path: Path) -> None:
    """One daemon, two commands: /metrics scraped over HTTP while it trades, then `botkit status`
    says running (exit 0) and, after kill -9, stale (exit 1)."""
    config = _config(tmp_path)
    log = tmp_path / "run.log"
    proc = start_botkit("run", "--config", str(config), "--metrics-port", "0", cwd=tmp_path, log=log)
    try:
        url = wait(lambda: metrics_url(log), 60, "the metrics URL in the log")
        assert url.startswith("http://127.0.0.1:")
        samples = wait(lambda: (s := scrape(url)) and total(s, "botkit_fills_total") > 0 and s, 90,
                       "a fill in the scraped metrics")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert total(samples, "botkit_ticks_total", bot="default") > 0
        assert total(samples, "botkit_orders_total", status="placed") > 0
        assert total(samples, "botkit_exchange_request_duration_seconds_count", method="POST",
                     endpoint="/v1/orders") > 0
        assert total(samples, "botkit_fill_volume_btc_total") > 0
        assert 0 <= total(samples, "botkit_last_snapshot_age_seconds") < 30
        assert not [name for name, _ in samples if name.endswith("_created")]

        running = botkit_once("status", "--config", str(config), "--format", "json", cwd=tmp_path)
        assert running.returncode == 0, running.stderr
        (row,) = json.loads(running.stdout)
        assert (row["bot"], row["state"], row["venue"]) == ("default", "running", "sandbox")
        assert row["ticks"] > 0 and row["last_tick_age_seconds"] < 30
        assert [(s["strategy"], s["state"]) for s in row["strategies"]] == [("market_maker", "active")]
        assert (row["kill_switch"], row["kill_switch_reason"]) == ("off", None)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)

    def stale() -> subprocess.CompletedProcess[str] | None:
        result = botkit_once("status", "--config", str(config), "--stale-after", "1", cwd=tmp_path)
        return result if result.returncode == 1 else None

    result = wait(stale, 30, "botkit status to call the killed bot stale")
    header, _rule, line = result.stdout.splitlines()
    assert header.split()[:3] == ["bot", "state", "last_tick"]
    assert line.split()[:2] == ["default", "stale"]


@pytest.mark.parametrize("where", ["option", "config"])
def test_a_busy_metrics_port_is_one_clear_line_naming_where_it_came_from(tmp_path: Path, where: str) -> None:
    """Found by a newcomer: a busy --metrics-port was reported as metrics.port, a key they never set."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        if where == "option":
            args = ["--config", str(_config(tmp_path)), "--metrics-port", str(port)]
        else:
            args = ["--config", str(_config(tmp_path, f"[metrics]\nport = {port}"))]
        result = botkit_once("run", *args, "--duration", "0", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    named = "--metrics-port" if where == "option" else "metrics.port"
    assert f"{named}: cannot serve metrics on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
