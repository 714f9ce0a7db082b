"""Fixtures of the web tests: the app served over real HTTP on a journal written as the daemon
writes it (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from botkit.journal import Journal
from botkit.journal.journal import StrategyHealth
from botkit.journal.queries import open_journal
from botkit.web.app import build_app
from botkit.web.auth import Guard
from botkit.web.server import WebServer, bind
from tests.web.helpers import TOKEN

FIRST_DELAY = 0.3


@dataclass
class Served:
    url: str
    bot: str
    journal: Journal
    run_id: int


@pytest.fixture
def served(tmp_path: Path, bot_id: str) -> Iterator[Served]:
    """:func:`serve` on SQLite (what the auth tests need)."""
    with serve(f"sqlite:///{tmp_path / 'journal.sqlite'}", bot_id) as found:
        yield found


@pytest.fixture
def served_anywhere(journal_url: str, bot_id: str) -> Iterator[Served]:
    """:func:`serve` on SQLite and PostgreSQL."""
    with serve(journal_url, bot_id) as found:
        yield found


@contextmanager
def serve(journal_url: str, bot_id: str) -> Iterator[Served]:
    """A running bot's journal (one strategy ``mm``, one stopped bot ``BOT-old``) and the app on it."""
    now = time.time_ns() // 1_000_000
    old = Journal(journal_url, f"{bot_id}-old")
    old.end_run(old.begin_run("live", now - 60_000), now - 30_000, "stopped", {})
    old.close()
    journal = Journal(journal_url, bot_id)
    run_id = journal.begin_run("live", now)
    journal.begin_health(run_id, now, [StrategyHealth("mm", "active", None, 0, None)])
    journal.heartbeat(run_id, now, 1, None, Decimal(0))
    engine = open_journal(journal_url)
    guard = Guard(TOKEN, free_failures=2, first_delay=FIRST_DELAY, max_delay=FIRST_DELAY * 4)
    app = build_app(engine, TOKEN, bots=[bot_id, f"{bot_id}-old"], stale_after_ms=3_600_000, guard=guard)
    server = WebServer(app, bind("127.0.0.1", 0, "test"))
    server.start()
    try:
        yield Served(server.url, bot_id, journal, run_id)
    finally:
        server.close()
        engine.dispose()
        journal.close()
