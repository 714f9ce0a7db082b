"""Deposits, withdrawals, bitcoin sends, the 201 confirmation flow and cancels, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests

from botkit.client import BadRequestError, ButtercoinClient, NotFoundError
from botkit.sandbox import Sandbox, SandboxAccount
from tests.sandbox.helpers import ALICE, START, client_for

DELAY_MS = 60_000
MAINNET = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
TESTNET = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"

DEPOSIT = {"method": "wire", "currency": "USD", "amount": "500.98"}
CHECK = {"method": "check", "currency": "USD", "amount": "1000.00"}


@pytest.fixture
def slow() -> Iterator[Sandbox]:
    """Transactions take a minute: tests jump over the wait with ``settle_due(now_ms=...)``."""
    accounts = [
        SandboxAccount(*ALICE, balances=dict(START)),
        SandboxAccount("careful", "c", dict(START), confirm_withdrawals=True),
    ]
    with Sandbox(market="off", rate_limit=0, accounts=accounts, admin=True,
                 deposit_delay=DELAY_MS / 1000, withdraw_delay=DELAY_MS / 1000) as sb:
        yield sb


@pytest.fixture
def client(slow: Sandbox) -> Iterator[ButtercoinClient]:
    with client_for(slow, ALICE) as c:
        yield c


def later(sandbox: Sandbox) -> None:
    sandbox.exchange.settle_due(now_ms=sandbox.exchange.now_ms() + DELAY_MS + 1)


def test_a_wire_deposit_is_pending_then_funded(slow: Sandbox, client: ButtercoinClient) -> None:
    location = client.create_deposit(DEPOSIT)
    assert location.startswith(slow.base_url + "/v1/transactions/")
    tx = client.get_transaction_by_url(location)
    assert tx["status"] == "pending"
    assert tx["transactionType"] == "deposit"
    assert tx["amount"] == Decimal("500.98")
    assert tx["currency"] == "USD"
    assert tx["method"] == "wire"
    assert tx["fundingInfo"] == {"source": "External Customer Bank"}
    assert len(tx["transactionId"]) == 24
    assert client.get_balances()["USD"] == 100000
    later(slow)
    tx = client.get_transaction_by_id(tx["transactionId"])
    assert tx["status"] == "funded"
    assert [e["eventType"] for e in tx["events"]] == ["created", "funded"]
    assert client.get_balances()["USD"] == Decimal("100500.98")


def test_a_withdrawal_holds_the_funds_then_leaves(slow: Sandbox, client: ButtercoinClient) -> None:
    tx_id = client.create_withdrawal(CHECK).rsplit("/", 1)[1]
    assert slow.exchange.available("alice")["USD"] == Decimal(99000)
    assert client.get_balances()["USD"] == 100000  # totals include what is held
    with pytest.raises(BadRequestError) as info:
        client.create_order({"side": "buy", "orderType": "limit", "price": "1000.00", "quantity": "99.5"})
    assert info.value.code == "insufficient_funds"
    later(slow)
    assert client.get_transaction_by_id(tx_id)["status"] == "funded"
    assert client.get_balances()["USD"] == 99000
    assert slow.exchange.reserved("alice")["USD"] == 0


def test_ach_withdrawal_and_bitcoin_sends_to_main_and_test_networks(slow: Sandbox, client: ButtercoinClient) -> None:
    client.create_withdrawal({"method": "us_ach", "currency": "USD", "amount": "10"})
    for address in (MAINNET, TESTNET, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"):
        client.send_bitcoin({"currency": "BTC", "amount": "0.5", "destination": address})
    sends = client.get_transactions({"transactionType": "withdrawal"})
    assert [t["method"] for t in sends] == ["bitcoin", "bitcoin", "bitcoin", "us_ach"]
    assert sends[0]["fundingInfo"] == {"destination": "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"}
    assert slow.exchange.available("alice")["BTC"] == Decimal("8.5")
    later(slow)
    assert client.get_balances() == {"BTC": Decimal("8.5"), "USD": 99990}


@pytest.mark.parametrize(
    "destination",
    [
        "1J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",  # the contract's example: its checksum is wrong
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",  # one character changed
        "LVg2kJoFNg45Nbpy53h7Fe1wKyeXVRhMH9",  # a Litecoin address
        "0A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",  # not Base58
        "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",  # bech32 is not Base58Check
        "",
    ],
)
def test_sends_to_invalid_addresses_are_refused(client: ButtercoinClient, destination: str) -> None:
    with pytest.raises(BadRequestError) as info:
        client.send_bitcoin({"currency": "BTC", "amount": "0.1", "destination": destination})
    assert info.value.code in ("invalid_address", "missing_destination")
    assert client.get_transactions() == []


@pytest.mark.parametrize(
    ("call", "body", "code"),
    [
        ("create_deposit", {"method": "check", "currency": "USD", "amount": "1"}, "invalid_method"),
        ("create_deposit", {"method": "wire", "currency": "BTC", "amount": "1"}, "invalid_currency"),
        ("create_deposit", {"method": "wire", "currency": "USD", "amount": "0.001"}, "invalid_amount"),
        ("create_deposit", {"method": "wire", "currency": "USD"}, "missing_amount"),
        ("create_withdrawal", {"method": "wire", "currency": "USD", "amount": "1"}, "invalid_method"),
        ("create_withdrawal", {"method": "check", "currency": "USD", "amount": "100000.01"}, "insufficient_funds"),
        ("send_bitcoin", {"currency": "USD", "amount": "1", "destination": MAINNET}, "invalid_currency"),
        ("send_bitcoin", {"currency": "BTC", "amount": "10.1", "destination": MAINNET}, "insufficient_funds"),
    ],
)
def test_malformed_transactions_are_400(client: ButtercoinClient, call: str, body: dict[str, str], code: str) -> None:
    with pytest.raises(BadRequestError) as info:
        getattr(client, call)(body)
    assert info.value.code == code


def test_the_confirmation_flow_answers_201_and_waits(slow: Sandbox) -> None:
    with client_for(slow, ("careful", "c")) as careful:
        answer = careful.create_withdrawal(CHECK)
        assert answer == {"status": 201, "message": "This operation requires email confirmation"}
        assert careful.send_bitcoin({"currency": "BTC", "amount": "1", "destination": TESTNET})["status"] == 201
        withdrawal, send = careful.get_transactions({"transactionType": "withdrawal"})[::-1]
        assert withdrawal["confirmed"] is False
        assert withdrawal["status"] == "pending"
        later(slow)
        assert careful.get_transaction_by_id(withdrawal["transactionId"])["status"] == "pending"
        confirm = admin_post(slow, f"/admin/transactions/{withdrawal['transactionId']}/confirm")
        assert confirm == 204
        later(slow)
        done = careful.get_transaction_by_id(withdrawal["transactionId"])
        assert done["status"] == "funded"
        assert [e["eventType"] for e in done["events"]] == [
            "created", "confirmed", "funded",
        ]
        assert careful.cancel_transaction(send["transactionId"])["status"] == 204
        assert careful.get_balances() == {"BTC": 10, "USD": 99000}


def admin_post(sandbox: Sandbox, path: str) -> int:
    return requests.post(sandbox.base_url + path, json={}, timeout=5).status_code


def test_cancel_pending_only(slow: Sandbox, client: ButtercoinClient) -> None:
    pending = client.create_withdrawal(CHECK).rsplit("/", 1)[1]
    assert client.cancel_transaction(pending) == {"status": 204, "message": "This operation has completed successfully"}
    assert client.get_transaction_by_id(pending)["status"] == "canceled"
    assert slow.exchange.available("alice")["USD"] == 100000
    with pytest.raises(BadRequestError) as info:
        client.cancel_transaction(pending)
    assert info.value.code == "transaction_not_pending"
    funded = client.create_deposit(DEPOSIT).rsplit("/", 1)[1]
    later(slow)
    with pytest.raises(BadRequestError):
        client.cancel_transaction(funded)
    with pytest.raises(NotFoundError):
        client.cancel_transaction("0" * 24)
    with pytest.raises(NotFoundError):
        client.get_transaction_by_id("0" * 24)


def test_transactions_are_private_filtered_and_newest_first(slow: Sandbox, client: ButtercoinClient) -> None:
    first = client.create_deposit(DEPOSIT).rsplit("/", 1)[1]
    second = client.create_withdrawal(CHECK).rsplit("/", 1)[1]
    third = client.create_deposit({"method": "wire", "currency": "USD", "amount": "1"}).rsplit("/", 1)[1]
    client.cancel_transaction(third)
    later(slow)

    def ids(**filters: str) -> list[str]:
        return [t["transactionId"] for t in client.get_transactions(filters or None)]

    assert ids() == [third, second, first]
    assert ids(status="funded") == [second, first]
    assert ids(status="canceled") == [third]
    assert ids(transactionType="deposit") == [third, first]
    assert ids(dateMax="2014-01-01T00:00:00Z") == []
    assert ids(dateMin="2014-01-01T00:00:00Z") == [third, second, first]
    with pytest.raises(BadRequestError):
        client.get_transactions({"status": "lost"})
    with pytest.raises(BadRequestError):
        client.get_transactions({"transactionType": "gift"})
    with client_for(slow, ("careful", "c")) as careful:
        assert careful.get_transactions() == []
        with pytest.raises(NotFoundError):
            careful.get_transaction_by_id(first)


def test_zero_delay_funds_at_once(sandbox: Sandbox, alice: ButtercoinClient) -> None:
    tx = alice.get_transaction_by_url(alice.create_deposit(DEPOSIT))
    assert tx["status"] == "funded"
    assert alice.get_balances()["USD"] == Decimal("100500.98")
