"""Several bots on one journal database: each sees only its own orders, fills and state; a bot id
runs once; first start-ups that race each other migrate the schema once.

Every bot trades on its own sandbox account, as docs/operations.md asks, so what the exchange
says each account did is the truth each bot's journal must match exactly.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text

import botkit
from botkit.cli import main
from botkit.core.errors import JournalError
from botkit.journal import Journal, migrate, queries
from botkit.journal.schema import Base
from tests.conftest import postgres_url
from tests.ops.helpers import (
    account,
    counter,
    counterparty,
    market_maker_config,
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


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from botkit.sandbox import Sandbox

    with Sandbox(market="off", accounts=[counterparty(), *(account(f"ops-{n}") for n in range(3))],
                 rate_limit=0) as sb:
        yield sb


def _exchange_orders(sandbox: Any, key: str) -> dict[str, Any]:
    return {o.order_id: o for o in sandbox.exchange.orders(key)}


def test_bots_sharing_a_journal_never_see_each_others_orders_fills_or_state(
        sandbox: Any, journal_url: str, bot_id: str) -> None:
    counter(sandbox, "sell", "401.00", "50")
    bots = []
    for n in range(3):  # the same strategy name in each bot: only the bot id tells them apart
        recorder = Recorder()
        size = f"0.{n + 1}"

        def remember(snapshot: Any, ctx: Any, n: int = n) -> list[Any]:
            ctx.state["who"] = n
            return [botkit.sell("0.05", f"{410 + n}.00")]

        recorder.script = [[botkit.buy(size, "401.00")], remember, None, None]
        bots.append(rig(sandbox, journal_url, f"{bot_id}-{n}", f"ops-{n}", {"mm": recorder}))
    start = threading.Barrier(len(bots))
    errors: list[BaseException] = []

    def run(each: Any) -> None:
        try:
            start.wait()
            each.engine.start(now_ms())
            for _ in range(4):
                each.engine.tick(each.bot.fetch())
        except BaseException as exc:  # reported below, on the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(each,)) for each in bots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors

    seen: set[str] = set()
    for n, each in enumerate(bots):
        on_exchange = _exchange_orders(sandbox, f"ops-{n}")
        journaled = {o["exchange_order_id"]: o for o in queries.orders(each.journal)}
        assert set(journaled) == set(on_exchange)  # exactly its own account's orders, no other bot's
        assert not seen & set(journaled)
        seen |= set(journaled)
        assert {(o["side"], o["status"]) for o in journaled.values()} == {("buy", "filled"), ("sell", "opened")}
        fills = queries.fills(each.journal)
        assert [f["quantity"] for f in fills] == [D(f"0.{n + 1}")]
        assert each.journal.positions() == {"mm": D(f"0.{n + 1}")}
        assert each.journal.load_state("mm") == {"who": n}
        assert [r.exchange_order_id for r in each.journal.live_orders()] == [
            o for o, row in journaled.items() if row["status"] == "opened"]
        (run_row,) = queries.runs(each.journal)
        assert run_row.bot_id == each.journal.bot_id
    for each in bots:
        each.engine.stop(now_ms())
        each.close()


def test_a_bot_id_runs_once_per_database(bot_id: str) -> None:
    url = postgres_url()
    first = Journal(url, bot_id)
    first.acquire()
    second = Journal(url, bot_id)
    with pytest.raises(JournalError, match=rf"bot '{bot_id}' is already running on journal"):
        second.acquire()
    other = Journal(url, f"{bot_id}-other")
    other.acquire()  # another id on the same database is welcome
    first.close()
    second.acquire()  # free again once its holder has gone
    second.close()
    other.close()


def test_first_start_ups_racing_each_other_migrate_the_schema_once(fresh_postgres: str) -> None:
    contenders = 6
    start = threading.Barrier(contenders)
    opened: list[Journal] = []
    errors: list[BaseException] = []

    def open_journal(n: int) -> None:
        try:
            start.wait()
            opened.append(Journal(fresh_postgres, f"racer-{n}"))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_journal, args=(n,)) for n in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert len(opened) == contenders
    engine = opened[0].engine
    assert migrate.current(engine) == migrate.head()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    for journal in opened:
        journal.close()


def test_three_daemons_on_one_postgres_journal(fresh_postgres: str, tmp_path: Path) -> None:
    """Three `botkit run` processes started at once on an empty database (their start-ups race to
    create the schema), each with its own account and /metrics; a fourth with a taken id is
    refused; `botkit status` sees all three; after SIGTERM each journal matches its account."""
    from botkit.sandbox import Sandbox

    ids = [f"ops-daemon-{now_ms()}-{n}" for n in range(3)]
    keys = [f"ops-d{n}" for n in range(3)]
    with Sandbox(market="sim", seed=11, accounts=[account(k) for k in keys], rate_limit=0,
                 market_interval=0.1) as sandbox:

        def config(n: int) -> Path:
            return market_maker_config(tmp_path / f"bot{n}.toml", bot_id=ids[n], journal_url=fresh_postgres,
                                       base_url=sandbox.base_url, key=keys[n], secret=f"{keys[n]}-secret-0123456789",
                                       extra="[metrics]\nport = 0\n")

        configs = [config(n) for n in range(3)]
        logs = [tmp_path / f"bot{n}.log" for n in range(3)]
        procs = [start_botkit("run", "--config", str(c), cwd=tmp_path, log=log)
                 for c, log in zip(configs, logs, strict=True)]
        try:
            urls = [wait(lambda log=log: metrics_url(log), 60, f"metrics URL in {log.name}") for log in logs]
            # Each holds its bot id now (the lock is taken before /metrics is served). Two more
            # processes, run while the bots trade: a duplicate of the first bot, and a status check.
            duplicate = start_botkit("run", "--config", str(configs[0]), "--duration", "5", cwd=tmp_path)
            status = start_botkit("status", "--config", str(configs[2]), "--format", "json", cwd=tmp_path)

            for n, url in enumerate(urls):
                samples = wait(lambda url=url: (s := scrape(url)) and total(s, "botkit_fills_total") > 0 and s, 90,
                               f"a fill of bot {n}")
                assert {dict(labels).get("bot") for name, labels in samples if name.startswith("botkit_")} == {ids[n]}

            _out, err = duplicate.communicate(timeout=60)
            assert duplicate.returncode == 2, err
            assert f"bot '{ids[0]}' is already running on journal" in err
            out, err = status.communicate(timeout=60)
            assert status.returncode == 0, err
            assert {(r["bot"], r["state"]) for r in json.loads(out)} == {(i, "running") for i in ids}
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.communicate(timeout=60)
        assert [p.returncode for p in procs] == [0, 0, 0], [log.read_text()[-2000:] for log in logs]

        # The same command in-process (click's runner) from here on: the subprocess case is above.
        status = CliRunner().invoke(main, ["status", "--config", str(configs[1])])
        assert status.exit_code == 0, status.output
        rows = status.output.split("\n\n")[0].splitlines()[2:]  # the table; a strategy's failures follow it
        assert sorted(line.split()[:2] for line in rows) == [[i, "stopped"] for i in ids]
        one = CliRunner().invoke(main, ["status", "--config", str(configs[1]), "--bot", ids[1], "--format", "json"])
        assert [(r["bot"], r["state"]) for r in json.loads(one.output)] == [(ids[1], "stopped")]
        unknown = CliRunner().invoke(main, ["status", "--config", str(configs[1]), "--bot", "nosuch"])
        assert unknown.exit_code == 2
        assert "botkit: journal error: no bot 'nosuch' in the journal" in unknown.output

        for n in range(3):
            journal = Journal(fresh_postgres, ids[n])
            on_exchange = _exchange_orders(sandbox, keys[n])
            journaled = queries.orders(journal)
            assert {o["exchange_order_id"] for o in journaled} == set(on_exchange)
            assert {o["status"] for o in journaled} <= {"filled", "canceled"}
            assert sum((f["quantity"] for f in queries.fills(journal)), D(0)) == \
                sum((o.filled for o in on_exchange.values()), D(0))
            journal.close()
