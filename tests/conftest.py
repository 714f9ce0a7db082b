"""Fixtures shared by the whole suite: journal databases (SQLite and the real PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

POSTGRES_ENV = "BOTKIT_TEST_POSTGRES_URL"


def postgres_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url and os.environ.get("BOTKIT_REQUIRE_POSTGRES"):
        pytest.fail(f"{POSTGRES_ENV} is not set but BOTKIT_REQUIRE_POSTGRES is: PostgreSQL tests must run here")
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: PostgreSQL journal tests need a server "
                    "(e.g. postgresql://postgres@127.0.0.1:5432/test); .ci/run sets it")
    return url


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
