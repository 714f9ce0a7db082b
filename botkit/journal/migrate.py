"""Schema migrations: Alembic, driven from code so that no alembic.ini is needed.

The journal's schema is created and changed only by the migrations in ``migrations/versions``.
``botkit run`` applies pending ones at start (``[journal] auto_upgrade``, on by default) or
refuses to start with a message naming ``botkit journal upgrade``. All pending migrations run in
one transaction (PostgreSQL and SQLite both have transactional DDL), so an interrupted upgrade
leaves the old schema or the new one, never half of it; on PostgreSQL an advisory lock makes
concurrent upgrades of one database (several bots starting at once) take turns.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).with_name("migrations")
UPGRADE_LOCK = 0x626F746B6974  # "botkit": the advisory lock id of schema upgrades


def _config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this botkit knows."""
    script = ScriptDirectory(str(MIGRATIONS))
    revision = script.get_current_head()
    assert revision is not None
    return revision


def current(engine: Engine) -> str | None:
    """The database's revision (None: an empty database)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Apply pending migrations; returns (revision before, revision after)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": UPGRADE_LOCK})
        before = MigrationContext.configure(conn).get_current_revision()
        command.upgrade(_config(conn), revision)
        after = MigrationContext.configure(conn).get_current_revision()
    return before, after


def downgrade(engine: Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)
