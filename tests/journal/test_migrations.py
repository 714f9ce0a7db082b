"""Schema migrations: applied at start or refused with the command to run, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text

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
    migrate.upgrade(engine, "0001")
    tables = set(inspect(engine).get_table_names())
    from alembic.operations import Operations

    real_create_table = Operations.create_table
    calls = {"n": 0}

    def failing_create_table(self: Operations, name: str, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("power cut")
        return real_create_table(self, name, *args, **kwargs)

    monkeypatch.setattr(Operations, "create_table", failing_create_table)
    with pytest.raises(RuntimeError, match="power cut"):
        migrate.upgrade(engine)
    assert calls["n"] == 2
    assert set(inspect(engine).get_table_names()) == tables
    assert migrate.current(engine) == "0001"
    monkeypatch.undo()
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    engine.dispose()


def test_a_failed_creation_leaves_an_empty_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new database's tables and its stamp are one transaction: a failure before the stamp
    leaves no table behind (the next start creates them all)."""
    engine = Journal.make_engine(f"sqlite:///{tmp_path / 'j.sqlite'}")

    def power_cut(*args: object, **kwargs: object) -> None:
        raise RuntimeError("power cut")

    monkeypatch.setattr(migrate.VERSION_TABLE, "create", power_cut)
    with pytest.raises(RuntimeError, match="power cut"):
        migrate.upgrade(engine)
    assert inspect(engine).get_table_names() == []
    monkeypatch.undo()
    assert migrate.upgrade(engine) == (None, migrate.head())
    engine.dispose()


def test_head_is_the_newest_migration() -> None:
    from alembic.script import ScriptDirectory

    assert ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head() == migrate.HEAD


def _schema(engine: Engine) -> dict[str, dict[str, object]]:
    """Every table's columns (in order, with type, nullability, default), primary key, foreign
    keys, indexes, unique and check constraints, as the database reports them."""
    found = inspect(engine)
    return {
        table: {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default")) for c in found.get_columns(table)],
            "primary_key": found.get_pk_constraint(table),
            "foreign_keys": sorted(found.get_foreign_keys(table), key=repr),
            "indexes": sorted(found.get_indexes(table), key=repr),
            "unique": sorted(found.get_unique_constraints(table), key=repr),
            "checks": sorted(found.get_check_constraints(table), key=repr),
        }
        for table in sorted(found.get_table_names())
    }


def _alembic_upgrade(engine: Engine, revision: str) -> None:
    """Alembic's own way, migration after migration: what an older botkit's database went through."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), revision)


def test_a_new_database_has_the_schema_the_migrations_build(tmp_path: Path) -> None:
    created = Journal.make_engine(f"sqlite:///{tmp_path / 'created.sqlite'}")
    migrated = Journal.make_engine(f"sqlite:///{tmp_path / 'migrated.sqlite'}")
    assert migrate.upgrade(created) == (None, migrate.head())
    _alembic_upgrade(migrated, "head")
    assert migrate.current(migrated) == migrate.head()
    assert _schema(created) == _schema(migrated)
    assert "orders" in _schema(created)
    created.dispose()
    migrated.dispose()


def test_an_older_database_still_migrates_and_keeps_its_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    old = Journal.make_engine(url)
    _alembic_upgrade(old, "0002")
    with old.begin() as conn:
        conn.execute(text("INSERT INTO runs (bot_id, venue, status, started_at, ticks) "
                          "VALUES ('old-bot', 'paper', 'stopped', 1, 7)"))
    journal = Journal(url, bot_id="old-bot")
    assert migrate.current(journal.engine) == migrate.head()
    with journal.engine.connect() as conn:
        assert conn.execute(text("SELECT bot_id, ticks FROM runs")).all() == [("old-bot", 7)]
    fresh = Journal.make_engine(f"sqlite:///{tmp_path / 'fresh.sqlite'}")
    migrate.upgrade(fresh)
    assert _schema(journal.engine) == _schema(fresh)
    journal.close()
    fresh.dispose()
    old.dispose()


def test_a_new_journal_does_not_load_alembic(tmp_path: Path) -> None:
    """Creating a journal (every backtest does) costs no Alembic import; an older one's upgrade does."""
    code = ("import sys; from botkit.journal import Journal\n"
            f"Journal('sqlite:///{tmp_path / 'j.sqlite'}').close()\n"
            "assert 'alembic' not in sys.modules, 'alembic was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_orm_classes_type_exactly_their_tables_columns() -> None:
    """schema.py's annotations only type the columns tables.py defines: one per column, optional
    exactly where the column is nullable (relationships aside)."""
    for mapper in Base.registry.mappers:
        cls, table = mapper.class_, mapper.local_table
        annotations = {name: text for name, text in cls.__annotations__.items()
                       if name not in mapper.relationships}
        assert set(annotations) == set(table.columns.keys()), cls.__name__
        for column in table.columns:
            optional = "None" in annotations[column.name]
            assert optional == (column.nullable and not column.primary_key), f"{cls.__name__}.{column.name}"


def test_a_foreign_table_of_the_same_name_is_not_stamped_over(tmp_path: Path) -> None:
    """A database (shared with another application) that has a ``runs`` table but no journal
    stamp: creating the journal fails loudly and stamps nothing, as the first migration did,
    instead of taking the foreign table for its own."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    engine = Journal.make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT)"))
    with pytest.raises(JournalError, match="table runs already exists"):
        Journal(url)
    assert migrate.current(engine) is None
    assert inspect(engine).get_table_names() == ["runs"]
    engine.dispose()
