"""Fixtures shared by the whole suite: journal databases (SQLite and the real PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

POSTGRES_ENV = "BOTKIT_TEST_POSTGRES_URL"


_schema_url: str | None = None


def postgres_url() -> str:
    """The PostgreSQL URL for tests, pointed at a schema of this test session's own.

    The schema is made on first use and dropped at exit, so that test sessions (and leftovers of
    earlier ones) never see each other's tables.
    """
    global _schema_url
    if _schema_url is None:
        _schema_url = _make_schema(_server_url())
    return _schema_url


def _make_schema(url: str) -> str:
    import atexit

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"botkit_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()

    atexit.register(drop)
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def _server_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url and os.environ.get("BOTKIT_REQUIRE_POSTGRES"):
        pytest.fail(f"{POSTGRES_ENV} is not set but BOTKIT_REQUIRE_POSTGRES is: PostgreSQL tests must run here")
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL journal tests need a server "
                    "(e.g. postgresql://postgres@127.0.0.1:5432/test); .ci/run sets it")
    return url


@contextmanager
def fresh_postgres_schema() -> Iterator[str]:
    """A PostgreSQL URL on a new, empty schema, dropped on leaving (skips, or fails under
    BOTKIT_REQUIRE_POSTGRES, when there is no server)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    postgres_url()
    server = os.environ[POSTGRES_ENV]
    schema = f"botkit_ops_{uuid.uuid4().hex[:10]}"
    engine = create_engine(make_url(server).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A PostgreSQL URL on a new, empty schema (dropped afterwards): for first start-ups, which
    must create the journal's tables, and for listing every bot of one database."""
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def journal_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A journal URL on SQLite (a fresh file) and on the real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'journal.sqlite'}"
    else:
        yield postgres_url()


@pytest.fixture
def bot_id() -> str:
    """A bot id of its own per test, so tests sharing the PostgreSQL database never see each other."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(autouse=True)
def _isolate_logging() -> Iterator[None]:
    """CLI commands run in-process (click's CliRunner) configure logging for a whole process: the
    root handler and level, and a quieter engine logger (``botkit backtest``). Every test starts
    with botkit's loggers as a fresh process has them, whatever ran before it, even in a module-
    or session-scoped fixture (a backtest command's quiet engine logger once hid the warnings a
    later test looked for)."""
    import logging

    def fresh() -> None:
        for name, logger in logging.root.manager.loggerDict.items():
            if isinstance(logger, logging.Logger) and (name == "botkit" or name.startswith("botkit.")):
                logger.setLevel(logging.NOTSET)
                logger.disabled = False

    root = logging.getLogger()
    handlers, root_level = list(root.handlers), root.level
    fresh()
    yield
    for handler in list(root.handlers):  # only botkit's own: pytest manages its capture handlers
        if getattr(handler, "_botkit", False) and handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(root_level)
    fresh()
