"""Fixtures for the sandbox's tests: a served sandbox with two funded accounts and clients for
them, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from botkit.client import ButtercoinClient
from botkit.sandbox import Sandbox
from tests.sandbox.helpers import ALICE, BOB, client_for, funded_accounts


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BUTTERCOIN_API_KEY", "BUTTERCOIN_API_SECRET", "BUTTERCOIN_MODE", "BUTTERCOIN_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """Market off, rate limit off, admin on, deposits and withdrawals instant."""
    with Sandbox(
        market="off", rate_limit=0, accounts=funded_accounts(), admin=True, deposit_delay=0, withdraw_delay=0
    ) as sb:
        yield sb


@pytest.fixture
def alice(sandbox: Sandbox) -> Iterator[ButtercoinClient]:
    with client_for(sandbox, ALICE) as client:
        yield client


@pytest.fixture
def bob(sandbox: Sandbox) -> Iterator[ButtercoinClient]:
    with client_for(sandbox, BOB) as client:
        yield client
