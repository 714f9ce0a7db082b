"""A batched journal's buffered append-only rows: the same rows, ids included, as a write per row;
every read sees them; the buffer stays bounded. On SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from botkit.backtest.runner import run_backtest
from botkit.backtest.settings import BacktestSettings
from botkit.config import parse
from botkit.data.generate import generate
from botkit.journal import Journal, queries
from botkit.journal.schema import OrderEvent, RiskRejection
from botkit.journal.tables import METADATA
from botkit.model import Fill, Liquidity, Order, OrderStatus, OrderType, Side
from tests.conftest import fresh_postgres_schema

D = Decimal
STRATEGIES = Path(__file__).parents[2] / "strategies"


@pytest.fixture(params=["sqlite", "postgres"])
def two_journals(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty journal databases of one kind: one for the buffered run, one for the reference."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'buffered.sqlite'}", f"sqlite:///{tmp_path / 'reference.sqlite'}"
    else:
        with fresh_postgres_schema() as buffered, fresh_postgres_schema() as reference:
            yield buffered, reference


def contents(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every journal table, by primary key."""
    engine = Journal.make_engine(url)
    try:
        with engine.connect() as conn:
            return {table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key))]
                    for table in METADATA.sorted_tables}
    finally:
        engine.dispose()


def _order(n: int, status: OrderStatus, fills: int) -> Order:
    eid = f"ex-{n}"
    done = tuple(Fill(eid, D("100.01"), D("0.25"), D("0.001"), Liquidity.MAKER, n * 10 + seq, seq)
                 for seq in range(fills))
    return Order(eid, Side.BUY if n % 2 else Side.SELL, OrderType.LIMIT, status, D("100.01"), D("0.5"),
                 sum((f.quantity for f in done), D(0)), created_ts=n * 10, fills=done)


def story(journal: Journal) -> list[Any]:
    """Orders placed, filled in two steps or cancelled, refusals, reads now and then; what the reads
    gave. More than the buffer's bound of events goes by between two reads."""
    reads: list[Any] = []
    run = journal.begin_run("backtest", 1)
    for n in range(1, 701):
        now = n * 10
        record = journal.record_pending(run, "backtest", "mm", "quote", Side.BUY if n % 2 else Side.SELL, "limit",
                                        D("100.01"), D("0.5"), now)
        journal.bind(record, f"ex-{n}", now + 1)
        if n % 3:
            journal.note(record, "cancel", now + 2)
            journal.apply(record, _order(n, OrderStatus.CANCELED, 0), run, now + 3)
        else:
            journal.apply(record, _order(n, OrderStatus.PARTIAL, 1), run, now + 2)
            journal.apply(record, _order(n, OrderStatus.FILLED, 2), run, now + 3)
        if not n % 5:
            journal.record_rejection(run, now + 4, "mm", "max_position", "over 0.1 BTC", "buy 0.5 @ 100.01")
        if not n % 300:
            reads.append((journal.positions(), [r.local_id for r in journal.live_orders()]))
        if n == 450:
            journal.flush()
    adopted = journal.adopt(run, "backtest", _order(701, OrderStatus.OPENED, 0), 7010)
    reads.append([r.local_id for r in journal.live_orders()] == [adopted.local_id])
    journal.end_run(run, 7020, "finished", {"orders": 701})
    return reads


def test_buffered_rows_are_the_rows_of_a_write_per_row(two_journals: tuple[str, str]) -> None:
    buffered_url, reference_url = two_journals
    buffered, reference = Journal(buffered_url, "bot", batched=True), Journal(reference_url, "bot")
    try:
        assert story(buffered) == story(reference)
    finally:
        buffered.close()
        reference.close()
    got, want = contents(buffered_url), contents(reference_url)
    assert (len(want["order_events"]), len(want["fills"]), len(want["risk_rejections"])) == (3034, 466, 140)
    assert got == want


def test_a_read_between_writes_sees_the_buffered_rows(journal_url: str, bot_id: str) -> None:
    journal = Journal(journal_url, bot_id, batched=True)
    run = journal.begin_run("backtest", 1)
    record = journal.record_pending(run, "backtest", "mm", "quote", Side.BUY, "limit", D("100.01"), D("0.5"), 10)
    journal.bind(record, "ex-3", 11)
    partial = _order(3, OrderStatus.PARTIAL, 1)
    assert [f.seq for f in journal.apply(record, partial, run, 12)] == [0]
    journal.record_rejection(run, 13, "mm", "max_position", "over 0.1 BTC", "buy 0.5 @ 100.01")

    # Nothing flushed: the journal's own reads see the rows still in memory.
    assert [(f["quantity"], f["fee"]) for f in queries.fills(journal)] == [(D("0.25"), D("0.001"))]
    assert journal.positions() == {"mm": D("0.25")}
    assert [r.fills_seen for r in journal.live_orders()] == [1]
    with journal.session() as s:
        assert list(s.scalars(select(OrderEvent.event).where(OrderEvent.order_id == record.local_id)
                              .order_by(OrderEvent.id))) == ["pending", "placed", "fill"]
        assert list(s.scalars(select(RiskRejection.rule).where(RiskRejection.run_id == run))) == ["max_position"]
    # A record that forgot the fill it saw: the dedupe reads the fill still buffered too.
    done = _order(3, OrderStatus.FILLED, 2)
    assert [f.seq for f in journal.apply(record, done, run, 14)] == [1]
    record.fills_seen = 0
    assert journal.apply(record, done, run, 15) == []
    journal.close()

    reopened = Journal(journal_url, bot_id)
    with reopened.session() as s:
        assert list(s.scalars(select(OrderEvent.event).where(OrderEvent.order_id == record.local_id)
                              .order_by(OrderEvent.id))) == ["pending", "placed", "fill", "fill", "filled"]
    assert reopened.positions() == {"mm": D("0.5")}
    reopened.close()


def test_the_buffer_is_written_every_thousand_rows_without_a_read(tmp_path: Path) -> None:
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}", "bot", batched=True)
    batches: list[int] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
        if statement.startswith("INSERT INTO order_events"):
            batches.append(len(parameters) if executemany else 1)

    event.listen(journal.engine, "before_cursor_execute", seen)
    run = journal.begin_run("backtest", 1)
    record = journal.record_pending(run, "backtest", "mm", "quote", Side.BUY, "limit", D("100.01"), D("0.5"), 10)
    journal.bind(record, "ex-1", 11)
    for n in range(2498):
        journal.note(record, "sync", 12 + n)
    assert batches == [1000, 1000]
    journal.flush()
    assert batches == [1000, 1000, 500]
    journal.close()


def _unbatched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the backtest's journal write and commit each row at once, as a daemon's does."""

    class Unbatched(Journal):
        def __init__(self, url: str, bot_id: str = "default", **kwargs: Any) -> None:
            super().__init__(url, bot_id, **{**kwargs, "batched": False})

    monkeypatch.setattr("botkit.journal.Journal", Unbatched)


def test_a_backtest_journals_the_same_rows_buffered(two_journals: tuple[str, str], tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # A tight market maker (it fills, cancels and re-quotes most ticks) that the risk limit on its
    # position keeps refusing: every kind of buffered row, over a thousand between two flushes.
    data = generate(tmp_path / "market.bks", 1500, levels=5)
    config = parse({"strategy_paths": [str(STRATEGIES)], "risk": {"max_position": "0.05"},
                    "journal": {"url": f"sqlite:///{tmp_path / 'unused.sqlite'}"}})

    def backtest(url: str) -> None:
        run_backtest(config, BacktestSettings(data=data, initial={"USD": D(100000), "BTC": D(1)},
                                              strategies=("market_maker",), journal_url=url,
                                              params={"market_maker": {"spread_bps": "1", "refresh_bps": "0.5"}}))

    buffered_url, reference_url = two_journals
    backtest(buffered_url)
    with monkeypatch.context() as patched:
        _unbatched(patched)
        backtest(reference_url)
    got, want = contents(buffered_url), contents(reference_url)
    assert all(len(want[table]) > 400 for table in ("orders", "order_events", "fills", "risk_rejections"))
    assert got == want


def test_an_order_placed_and_cancelled_between_reads_is_one_buffered_row(tmp_path: Path) -> None:
    # On SQLite the batched journal gives a buffered order the id SQLite would, and makes the
    # order's later changes to its row: no UPDATE and no INSERT ... RETURNING per order.
    journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}", "bot", batched=True)
    statements: list[tuple[str, int]] = []

    def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
        if "orders" in statement.split("(")[0] and not statement.startswith("SELECT"):
            statements.append((" ".join(statement.split()[:3]), len(parameters) if executemany else 1))

    event.listen(journal.engine, "before_cursor_execute", seen)
    run = journal.begin_run("backtest", 1)
    records = []
    for n in range(1, 4):
        record = journal.record_pending(run, "backtest", "mm", "quote", Side.BUY, "limit", D("100.01"), D("0.5"), n)
        journal.bind(record, f"ex-{n}", n)
        journal.apply(record, _order(n, OrderStatus.CANCELED, 0), run, n)
        records.append(record)
    assert [r.local_id for r in records] == [1, 2, 3]
    assert statements == []
    assert journal.live_orders() == []  # a read writes the buffer first
    assert statements == [("INSERT INTO orders", 3)]
    late = journal.record_pending(run, "backtest", "mm", "quote", Side.SELL, "limit", D("101"), D("0.5"), 9)
    journal.flush()
    journal.bind(late, "ex-9", 10)  # written already: an update of its row
    journal.close()
    assert statements == [("INSERT INTO orders", 3), ("INSERT INTO orders", 1), ("UPDATE orders SET", 1)]
    rows = contents(f"sqlite:///{tmp_path / 'journal.sqlite'}")["orders"]
    assert [(row[0], row[9], row[10]) for row in rows] == [
        (1, "ex-1", "canceled"), (2, "ex-2", "canceled"), (3, "ex-3", "canceled"), (4, "ex-9", "opened")]


def test_order_ids_stay_unique_when_another_writer_shares_the_file(tmp_path: Path) -> None:
    # Between two transactions of a batched journal another process may add orders to a shared
    # SQLite file: each transaction reads the highest id again under its write lock.
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    batched, other = Journal(url, "backtest", batched=True), Journal(url, "live")
    run = batched.begin_run("backtest", 1)
    batched.flush()  # the batch's transaction holds the write lock until it commits
    other_run = other.begin_run("live", 1)
    first = batched.record_pending(run, "backtest", "mm", "q", Side.BUY, "limit", D("100"), D("1"), 2)
    batched.flush()
    theirs = other.record_pending(other_run, "live", "mm", "q", Side.BUY, "limit", D("100"), D("1"), 3)
    second = batched.record_pending(run, "backtest", "mm", "q", Side.BUY, "limit", D("100"), D("1"), 4)
    batched.close()
    other.close()
    assert (first.local_id, theirs.local_id, second.local_id) == (1, 2, 3)
    rows = contents(url)["orders"]
    assert [(row[0], row[1]) for row in rows] == [(1, "backtest"), (2, "live"), (3, "backtest")]
