"""Fixtures for the client's tests: the contract server (see ``contract_server.py``) and a client
wired to it whose retry sleeps are recorded instead of slept."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from botkit.client import ButtercoinClient, RetryPolicy
from tests.client.contract_server import KEY, SECRET, ContractServer, SleepRecorder

RETRY = RetryPolicy(attempts=3, backoff=0.25, max_backoff=4.0, max_wait=10.0)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own BUTTERCOIN_* variables must not leak into the tests."""
    for name in (
        "BUTTERCOIN_API_KEY",
        "BUTTERCOIN_API_SECRET",
        "BUTTERCOIN_MODE",
        "BUTTERCOIN_BASE_URL",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[ContractServer]:
    srv = ContractServer().start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def client(server: ContractServer, sleeps: SleepRecorder) -> Iterator[ButtercoinClient]:
    with ButtercoinClient(
        KEY, SECRET, base_url=server.base_url, timeout=5.0, retry=RETRY, sleep=sleeps
    ) as c:
        yield c
