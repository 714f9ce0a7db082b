"""The read API on SQLite and PostgreSQL journals, its OpenAPI description, `botkit web` itself and
the backtest reports it serves."""

from __future__ import annotations

import json
import signal
import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from starlette.routing import Route

from botkit.journal.dashboard import EQUITY
from botkit.journal.queries import open_journal
from botkit.model import Fill, Liquidity, Order, OrderStatus, OrderType, Side
from botkit.strategy.health import StrategyHealth
from botkit.web.app import build_app
from botkit.web.openapi import SPEC
from tests.ops.helpers import botkit_once, start_botkit
from tests.web.conftest import Served
from tests.web.helpers import TOKEN, bearer

D = Decimal


def _fill(served: Served, n: int, side: Side, price: str, quantity: str, ts: int) -> None:
    journal = served.journal
    record = journal.record_pending(served.run_id, "live", "mm", "", side, "limit", D(price), D(quantity), ts)
    exchange_id = f"x-{n}"
    journal.bind(record, exchange_id, ts)
    fill = Fill(exchange_id, D(price), D(quantity), D("0.01"), Liquidity.MAKER, ts, 0)
    journal.apply(record, Order(exchange_id, side, OrderType.LIMIT, OrderStatus.FILLED, D(price), D(quantity),
                                D(quantity), ts, fills=(fill,)), served.run_id, ts)


def test_one_bot_in_full(served_anywhere: Served) -> None:
    served = served_anywhere
    journal, run = served.journal, served.run_id
    _fill(served, 1, Side.BUY, "400.10", "0.3", 1_000)
    _fill(served, 2, Side.SELL, "401.20", "0.1", 2_000)
    resting = journal.record_pending(run, "live", "mm", "", Side.SELL, "limit", D("420.5"), D("0.05"), 3_000)
    journal.bind(resting, "x-open", 3_000)
    journal.record_rejection(run, 4_000, "mm", "max_position", "position could reach 6 BTC", "buy 1 @ 400")
    journal.record_balances(run, 5_000, {EQUITY: D("104000.10")})
    journal.record_balances(run, 15_000, {EQUITY: D("104002.35")})
    journal.heartbeat(run, 16_000, 9, D("104002.35"), D("0.2"), "tick skipped: market data: HTTP 503")

    (listed,) = [b for b in requests.get(served.url + "api/bots", headers=bearer(), timeout=30).json()
                 if b["bot"] == served.bot]
    assert (listed["state"], listed["ticks"], listed["open_orders"]) == ("stale", 9, 1)  # ticked at 16 s past 1970
    detail = requests.get(f"{served.url}api/bots/{served.bot}", headers=bearer(), timeout=30).json()
    assert [(f["side"], f["price"], f["quantity"]) for f in detail["fills"]] == [("sell", 401.2, 0.1),
                                                                                ("buy", 400.1, 0.3)]
    assert [(o["exchange_order_id"], o["price"]) for o in detail["open_orders"]] == [("x-open", 420.5)]
    assert [(r["rule"], r["reason"]) for r in detail["rejections"]] == [("max_position", "position could reach 6 BTC")]
    assert detail["errors"][0] == {"time": "1970-01-01T00:00:16.000Z", "where": f"run {run}",
                                   "error": "tick skipped: market data: HTTP 503"}
    assert [(p["ts"], p["value"]) for p in detail["equity"]] == [(5_000, 104000.1), (15_000, 104002.35)]
    assert [(p["ts"], p["value"]) for p in detail["position"]] == [(1_000, 0.3), (2_000, 0.2)]
    assert [s["strategy"] for s in detail["strategies"]] == ["mm"]
    raw = requests.get(f"{served.url}api/bots/{served.bot}", headers=bearer(), timeout=30).text
    assert '"price":401.2' in raw and '"value":104002.35' in raw  # exact digits, no float noise


def test_the_openapi_description_covers_every_route_and_no_other(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    from botkit.journal import Journal

    Journal(url, "x").close()
    engine = open_journal(url)
    app = build_app(engine, TOKEN)
    engine.dispose()
    served = {route.path for route in app.routes if isinstance(route, Route) and route.path.startswith("/api/")}
    assert served == set(SPEC["paths"])
    for path, item in SPEC["paths"].items():
        route = next(r for r in app.routes if isinstance(r, Route) and r.path == path)
        assert {m.lower() for m in route.methods or ()} - {"head"} == set(item), path
    assert SPEC["openapi"].startswith("3.")


def _report(directory: Path) -> Path:
    directory.mkdir()
    (directory / "report.json").write_text(json.dumps({
        "performance": {"net_pnl": "12.5", "sharpe": 1.25},
        "fills": [{"side": "buy", "price": "400", "note": "<script>alert(1)</script>"}]}))
    (directory / "fills.csv").write_text("side,price\nbuy,400\n")
    (directory / "secret.txt").write_text("not to be served")
    return directory


def test_botkit_web_serves_every_bot_and_reports_read_only(tmp_path: Path) -> None:
    from botkit.journal import Journal

    journal_url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    for bot in ("alpha", "beta"):
        journal = Journal(journal_url, bot)
        journal.begin_run("live", 1_000)
        journal.close()
    config = tmp_path / "botkit.toml"
    config.write_text(f'[journal]\nurl = "{journal_url}"\n')
    report = _report(tmp_path / "report")
    proc = start_botkit("web", "--config", str(config), "--port", "0", "--report", str(report), cwd=tmp_path,
                        log=tmp_path / "web.log")
    proc_env_token = botkit_once("web", "--config", str(config), "--port", "0", cwd=tmp_path)
    assert proc_env_token.returncode == 2 and "web.token" in proc_env_token.stderr  # no token: refused
    proc.kill()
    proc.communicate(timeout=30)

    config.write_text(f'[journal]\nurl = "{journal_url}"\n[web]\ntoken = "{TOKEN}"\n')
    proc = start_botkit("web", "--config", str(config), "--port", "0", "--report", str(report), cwd=tmp_path,
                        log=tmp_path / "web.log")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), (tmp_path / "web.log").read_text()
        bots = requests.get(url + "api/bots", headers=bearer(), timeout=30).json()
        assert [(b["bot"], b["state"]) for b in bots] == [("alpha", "stale"), ("beta", "stale")]
        page = requests.get(url + "reports/0/", headers=bearer(), timeout=30)
        assert page.status_code == 200 and "net_pnl" in page.text and "12.5" in page.text
        assert "<script>alert" not in page.text and "&lt;script&gt;" in page.text
        assert requests.get(url + "reports/0/fills.csv", headers=bearer(), timeout=30).text == "side,price\nbuy,400\n"
        for name in ("secret.txt", "..%2Fjournal.sqlite", "%2Fetc%2Fpasswd"):
            assert requests.get(url + f"reports/0/{name}", headers=bearer(), timeout=30).status_code == 404
        assert requests.get(url + "reports/1/", headers=bearer(), timeout=30).status_code == 404
        assert requests.get(url + "reports/0/", timeout=30, allow_redirects=False).status_code == 303
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0, (tmp_path / "web.log").read_text()


@pytest.mark.parametrize(("args", "words"), [
    (("--report", "nowhere"), "--report"),
    (("--port", "0"), "no journal at"),
])
def test_botkit_web_refuses_clearly(tmp_path: Path, args: tuple[str, ...], words: str) -> None:
    config = tmp_path / "botkit.toml"
    config.write_text(f'[journal]\nurl = "sqlite:///{tmp_path / "j.sqlite"}"\n[web]\ntoken = "{TOKEN}"\n')
    (tmp_path / "nowhere").mkdir()
    result = botkit_once("web", "--config", str(config), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert words in result.stderr
    assert TOKEN not in result.stderr + result.stdout



def test_a_request_naming_a_strategy_while_the_bot_starts_is_told_to_wait(served: Served) -> None:
    """A new run's strategies are journaled once they have started: a request naming one before that
    is refused as "starting" (409), not as a strategy the bot does not run (404)."""
    now = time.time_ns() // 1_000_000
    run_id = served.journal.begin_run("live", now)  # a restart: its strategies not journaled yet
    served.journal.heartbeat(run_id, now, 0, None, D(0))
    url = f"{served.url}api/bots/{served.bot}/strategies/mm/pause"
    answer = requests.post(url, headers=bearer(TOKEN), timeout=30)
    assert answer.status_code == 409
    assert "is starting" in answer.json()["error"]
    served.journal.begin_health(run_id, now, [StrategyHealth("mm", "active", None, 0, None)])
    assert requests.post(url, headers=bearer(TOKEN), timeout=30).status_code == 202
    assert requests.post(url.replace("/mm/", "/nope/"), headers=bearer(TOKEN), timeout=30).status_code == 404
