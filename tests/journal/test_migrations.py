"""Schema migrations: applied at start or refused with the command to run, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect

from botkit.core.errors import JournalError
from botkit.journal import Journal, migrate
from botkit.journal.schema import Base


def test_a_new_database_is_migrated_to_the_schema_the_models_describe(journal_url: str) -> None:
    journal = Journal(journal_url)
    assert migrate.current(journal.engine) == migrate.head()
    tables = set(inspect(journal.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    for name, table in Base.metadata.tables.items():
        columns = {c["name"] for c in inspect(journal.engine).get_columns(name)}
        assert columns == {c.name for c in table.columns}, f"migration and model disagree on {name}"
    journal.close()


def test_migrations_downgrade_to_nothing_and_back(tmp_path: Path) -> None:
    journal = Journal(f"sqlite:///{tmp_path / 'j.sqlite'}")
    migrate.downgrade(journal.engine, "base")
    assert migrate.current(journal.engine) is None
    assert "orders" not in inspect(journal.engine).get_table_names()
    assert migrate.upgrade(journal.engine) == (None, migrate.head())
    journal.close()


def test_an_old_schema_is_refused_without_auto_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    Journal(url).close()
    engine = Journal.make_engine(url)
    migrate.downgrade(engine, "base")
    with pytest.raises(JournalError, match=r"run `botkit journal upgrade`"):
        Journal(url, auto_upgrade=False)
    config = tmp_path / "c.toml"
    config.write_text(f'[journal]\nurl = "{url}"\nauto_upgrade = false\n')
    result = subprocess.run([sys.executable, "-m", "botkit", "journal", "upgrade", "--config", str(config)],
                            capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == f"journal schema: none -> {migrate.head()}"
    again = subprocess.run([sys.executable, "-m", "botkit", "journal", "orders", "--config", str(config)],
                           capture_output=True, text=True, timeout=60, check=True)
    assert again.stdout.strip() == "(none)"
    Journal(url, auto_upgrade=False).close()
    engine.dispose()


def test_a_failed_migration_leaves_the_old_schema(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """All pending migrations run in one transaction: a failure half-way rolls all of it back."""
    url = f"sqlite:///{tmp_path / 'j.sqlite'}"
    engine = Journal.make_engine(url)
    from alembic.operations import Operations

    real_create_table = Operations.create_table
    calls = {"n": 0}

    def failing_create_table(self: Operations, name: str, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("power cut")
        return real_create_table(self, name, *args, **kwargs)

    monkeypatch.setattr(Operations, "create_table", failing_create_table)
    with pytest.raises(RuntimeError, match="power cut"):
        migrate.upgrade(engine)
    assert inspect(engine).get_table_names() == []
    assert migrate.current(engine) is None
    monkeypatch.undo()
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    engine.dispose()
