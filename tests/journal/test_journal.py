"""The journal on SQLite and on PostgreSQL: write-ahead rows, binding, fills kept once, state."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from botkit.core.errors import JournalError
from botkit.journal import Journal, queries
from botkit.model import (
    LIVE_STATES,
    OPEN_STATES,
    UNRESOLVED_STATES,
    Fill,
    Liquidity,
    Order,
    OrderFlag,
    OrderState,
    OrderStatus,
    OrderType,
    Side,
)


def _order(order_id: str, fills: tuple[Fill, ...], status: OrderStatus, quantity: str = "1.5") -> Order:
    filled = sum((f.quantity for f in fills), Decimal(0))
    return Order(order_id, Side.BUY, OrderType.LIMIT, status, Decimal("400.10"), Decimal(quantity), filled,
                 created_ts=1000, fills=fills)


def _fill(order_id: str, seq: int, qty: str, price: str = "400.10", fee: str = "0.04001") -> Fill:
    return Fill(order_id, Decimal(price), Decimal(qty), Decimal(fee), Liquidity.MAKER, 2000 + seq, seq)


def test_pending_bind_and_fills_are_exact_and_kept_once(journal_url: str, bot_id: str) -> None:
    journal = Journal(journal_url, bot_id)
    run = journal.begin_run("live", 1)
    record = journal.record_pending(run, "live", "mm", "quote", Side.BUY, "limit", Decimal("400.10"),
                                    Decimal("1.5"), 10)
    assert [r.local_id for r in journal.live_orders()] == [record.local_id]
    assert journal.live_orders()[0].status == "pending"
    journal.bind(record, "ex-1", 11)

    first = _order("ex-1", (_fill("ex-1", 0, "0.5"),), OrderStatus.PARTIAL)
    assert [f.seq for f in journal.apply(record, first, run, 12)] == [0]
    # The same view again (a second sync, or a restart that re-reads it) adds nothing.
    assert journal.apply(record, first, run, 13) == []
    record.fills_seen = 0  # even a record that forgot what it saw cannot journal a fill twice
    assert journal.apply(record, first, run, 14) == []

    done = _order("ex-1", (_fill("ex-1", 0, "0.5"), _fill("ex-1", 1, "1.0", fee="0.08002")), OrderStatus.FILLED)
    new = journal.apply(record, done, run, 15)
    assert [(f.seq, f.quantity) for f in new] == [(1, Decimal("1.0"))]
    assert journal.live_orders() == []

    rows = queries.fills(journal)
    assert [(r["quantity"], r["fee"]) for r in rows] == [(Decimal("0.5"), Decimal("0.04001")),
                                                        (Decimal("1.0"), Decimal("0.08002"))]
    (order_row,) = queries.orders(journal)
    assert order_row["status"] == "filled"
    assert order_row["filled_quantity"] == Decimal("1.5")
    assert order_row["price"] == Decimal("400.10")
    assert journal.positions() == {"mm": Decimal("1.5")}
    journal.close()


def test_order_states_are_the_journal_words_and_the_exchange_states_map_onto_them() -> None:
    # The journal's status column keeps the words it always kept: no migration for the enum.
    assert [s.value for s in OrderState] == ["pending", "unknown", "rejected", "not_placed", "opened",
                                             "partial-filled", "filled", "canceled", "vanished"]
    assert [f.value for f in OrderFlag] == ["adopted", "late"]
    for status in OrderStatus:
        assert OrderState.of(status).value == status.value
        assert OrderState.of(status).is_placed
        assert OrderState.of(status).is_open == status.is_open
    assert LIVE_STATES == OPEN_STATES | UNRESOLVED_STATES
    assert {s for s in OrderState if s.is_live} == LIVE_STATES
    assert {s for s in OrderState if s.is_unresolved} == {OrderState.PENDING, OrderState.UNKNOWN}
    assert {s for s in OrderState if not s.is_placed} == {OrderState.PENDING, OrderState.UNKNOWN,
                                                          OrderState.REJECTED, OrderState.NOT_PLACED}


def test_the_journal_reads_its_states_and_flags_back_typed(journal_url: str, bot_id: str) -> None:
    journal = Journal(journal_url, bot_id)
    run = journal.begin_run("live", 1)
    unknown = journal.record_pending(run, "live", "s", "", Side.BUY, "limit", Decimal(400), Decimal(1), 1)
    assert unknown.status is OrderState.PENDING
    assert (unknown.order_id, unknown.is_unresolved) == (f"local-{unknown.local_id}", True)
    journal.set_status(unknown, OrderState.UNKNOWN, 2)
    late = journal.record_pending(run, "live", "s", "", Side.SELL, "limit", Decimal(500), Decimal(1), 3)
    journal.set_status(late, OrderState.NOT_PLACED, 4)
    assert [r.local_id for r in journal.not_placed_since(0)] == [late.local_id]
    assert journal.not_placed_since(0)[0].status is OrderState.NOT_PLACED
    journal.bind(late, "ex-late", 5, flag=OrderFlag.LATE)
    assert (late.status, late.order_id, late.local_order_id) == (OrderState.OPENED, "ex-late",
                                                                f"local-{late.local_id}")
    adopted = journal.adopt(run, "live", _order("ex-adopted", (), OrderStatus.OPENED), 6)
    live = journal.live_orders()
    assert [(r.local_id, r.status) for r in live] == [(unknown.local_id, OrderState.UNKNOWN),
                                                      (late.local_id, OrderState.OPENED),
                                                      (adopted.local_id, OrderState.OPENED)]
    assert all(type(r.status) is OrderState for r in live)
    rows = {r["id"]: r for r in queries.orders(journal)}
    assert [(rows[r.local_id]["status"], rows[r.local_id]["flag"]) for r in live] == [
        ("unknown", None), ("opened", "late"), ("opened", "adopted")]
    journal.close()


def test_money_survives_the_database_without_float_rounding(journal_url: str, bot_id: str) -> None:
    journal = Journal(journal_url, bot_id)
    run = journal.begin_run("live", 1)
    odd = Decimal("0.10000000000000000000000000001")
    record = journal.record_pending(run, "live", "s", "", Side.SELL, "limit", Decimal("123456789.01"), odd, 1)
    (row,) = journal.live_orders()
    assert row.quantity == odd
    assert row.price == Decimal("123456789.01")
    assert record.local_id == row.local_id
    journal.close()


def test_bot_ids_do_not_see_each_other(journal_url: str, bot_id: str) -> None:
    a = Journal(journal_url, bot_id + "-a")
    b = Journal(journal_url, bot_id + "-b")
    run = a.begin_run("live", 1)
    a.record_pending(run, "live", "s", "", Side.BUY, "limit", Decimal(1), Decimal(1), 1)
    assert len(a.live_orders()) == 1
    assert b.live_orders() == []
    assert queries.orders(b) == []
    a.close()
    b.close()


def test_strategy_state_round_trips_and_deletes(journal_url: str, bot_id: str) -> None:
    journal = Journal(journal_url, bot_id)
    journal.save_state("s", {"count": 3, "level": Decimal("400.25"), "names": ["a"]})
    journal.save_state("s", {"count": 4, "names": None})
    assert journal.load_state("s") == {"count": 4, "level": Decimal("400.25")}
    assert journal.load_state("other") == {}
    journal.close()


def test_a_run_left_running_is_marked_crashed_by_the_next(journal_url: str, bot_id: str) -> None:
    journal = Journal(journal_url, bot_id)
    first = journal.begin_run("live", 1)
    second = journal.begin_run("live", 2)
    statuses = {r.id: r.status for r in queries.runs(journal)}
    assert statuses == {first: "crashed", second: "running"}
    journal.end_run(second, 3, "stopped", {"ticks": 1})
    assert {r.id: r.status for r in queries.runs(journal)}[second] == "stopped"
    journal.close()


def test_second_daemon_on_one_sqlite_journal_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    first = Journal(url)
    first.acquire()
    second = Journal(url)
    with pytest.raises(JournalError, match="in use by another botkit daemon"):
        second.acquire()
    first.release()
    second.acquire()  # free again once the first let go
    second.close()
    first.close()


def test_second_daemon_with_the_same_bot_id_on_postgres_is_refused(bot_id: str) -> None:
    from tests.conftest import postgres_url

    url = postgres_url()
    first = Journal(url, bot_id)
    first.acquire()
    with pytest.raises(JournalError, match="already running"):
        Journal(url, bot_id).acquire()
    other = Journal(url, bot_id + "-other")
    other.acquire()  # another bot on the same database is fine
    other.close()
    first.close()


def test_sqlite_journal_runs_in_wal_mode(tmp_path: Path) -> None:
    from sqlalchemy import text

    journal = Journal(f"sqlite:///{tmp_path / 'j.sqlite'}")
    with journal.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    journal.close()


def test_bad_url_is_a_clear_journal_error() -> None:
    with pytest.raises(JournalError, match="not a SQLAlchemy URL"):
        Journal("nonsense")


def test_a_transaction_that_reads_then_writes_waits_for_another_writer(tmp_path: Path) -> None:
    """Caught a bug (seen as "database is locked" when a second process opened a journal while the
    daemon migrated it): a deferred SQLite transaction that read, then wrote after another connection
    had written, failed at once whatever the busy timeout. Journal transactions now BEGIN IMMEDIATE."""
    import threading

    from sqlalchemy import func, select

    from botkit.journal.schema import OrderRow

    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    first, second = Journal(url, "a"), Journal(url, "b")
    run = first.begin_run("live", 1)
    done = threading.Event()
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            second.record_pending(run, "live", "s", "", Side.BUY, "limit", Decimal(1), Decimal(1), 2)
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)
        finally:
            done.set()

    with first.engine.begin() as conn:
        conn.execute(select(func.count()).select_from(OrderRow)).scalar()
        writer = threading.Thread(target=other_writer)
        writer.start()
        done.wait(1.0)  # with BEGIN IMMEDIATE the other writer waits for us instead of racing ahead
        conn.execute(OrderRow.__table__.insert(), {
            "bot_id": "a", "run_id": run, "strategy": "s", "tag": "", "side": "buy", "order_type": "limit",
            "price": Decimal(1), "quantity": Decimal(1), "status": "pending", "filled_quantity": Decimal(0),
            "fees": Decimal(0), "created_at": 1, "sent_at": 1, "updated_at": 1, "venue": "live"})
    writer.join(60)
    assert errors == []
    assert len(first.live_orders()) == 1 and len(second.live_orders()) == 1
    first.close()
    second.close()


def test_an_in_memory_journal_is_one_database_for_every_thread() -> None:
    """``botkit record``'s journal is ``sqlite://``: the daemon writes its heartbeat from the
    scheduler's threads, which once each got a new, empty database ("no such table: runs")."""
    import threading

    journal = Journal("sqlite://", bot_id="recorder")
    run_id = journal.begin_run("recording", 1)
    errors: list[BaseException] = []

    def beat() -> None:
        try:
            journal.heartbeat(run_id, 2, 1, None, Decimal(0))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=beat)
    thread.start()
    thread.join()
    journal.close()
    assert errors == []
