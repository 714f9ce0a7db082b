"""Fixtures of the operations tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ENV, postgres_url


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A PostgreSQL URL on a new, empty schema (dropped afterwards): for first start-ups, which
    must create the journal's tables, and for listing every bot of one database."""
    postgres_url()  # skips, or fails under BOTKIT_REQUIRE_POSTGRES, when there is no server
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
