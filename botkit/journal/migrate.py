"""Schema migrations: Alembic, driven from code so that no alembic.ini is needed.

The journal's schema is changed only by the migrations in ``migrations/versions``. ``botkit run``
applies pending ones at start (``[journal] auto_upgrade``, on by default) or refuses to start
with a message naming ``botkit journal upgrade``. All pending migrations run in one transaction
(PostgreSQL and SQLite both have transactional DDL), so an interrupted upgrade leaves the old
schema or the new one, never half of it; on PostgreSQL an advisory lock makes concurrent upgrades
of one database (several bots starting at once) take turns.

An empty database (every backtest's throwaway journal) is created from the tables (``tables.py``) and
stamped at :data:`HEAD` in that same transaction, without loading Alembic: replaying every
migration costs a backtest more than its first thousand ticks. ``tests/journal/test_migrations.py``
checks that both ways give the same schema, table by table, column by column, index by index.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, Connection, Engine, MetaData, PrimaryKeyConstraint, String, Table, inspect, select, text

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
UPGRADE_LOCK = 0x626F746B6974  # "botkit": the advisory lock id of schema upgrades

HEAD = "0004"
"""The newest revision in ``migrations/versions``: a new migration moves it (a test holds them equal)."""

VERSION_TABLE = Table("alembic_version", MetaData(),
                      Column("version_num", String(32), nullable=False),
                      PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))
"""Alembic's record of the revision, as Alembic itself creates it."""


def _config(connection: Connection) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this botkit knows."""
    return HEAD


def _current(conn: Connection) -> str | None:
    if not inspect(conn).has_table(VERSION_TABLE.name):
        return None
    versions = list(conn.scalars(select(VERSION_TABLE.c.version_num)))
    if len(versions) > 1:
        raise RuntimeError(f"the journal records several schema revisions at once: {sorted(versions)}")
    return versions[0] if versions else None


def current(engine: Engine) -> str | None:
    """The database's revision (None: an empty database)."""
    with engine.connect() as conn:
        return _current(conn)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply pending migrations; returns (revision before, revision after)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": UPGRADE_LOCK})
        before = _current(conn)
        if before is None and revision in ("head", HEAD):
            _create(conn)
        else:
            from alembic import command

            command.upgrade(_config(conn), revision)
        after = _current(conn)
    return before, after


def _create(conn: Connection) -> None:
    """The schema at :data:`HEAD` on an empty database, from the tables, and its stamp."""
    from botkit.journal.tables import METADATA

    # checkfirst=False: a table of the same name already there (another application's, in a shared
    # database) fails loudly here, as the first migration did, instead of being stamped over.
    METADATA.create_all(conn, checkfirst=False)
    VERSION_TABLE.create(conn, checkfirst=True)
    conn.execute(VERSION_TABLE.insert().values(version_num=HEAD))


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)
