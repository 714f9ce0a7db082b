"""Hostile numbers and encodings on the wire, over real HTTP: a clean 400 (or 401/415), never a
500, never a frozen server, and the exchange's state untouched."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests

from botkit.client import ButtercoinClient
from botkit.core import jsonutil
from botkit.sandbox import Sandbox
from tests.sandbox.helpers import ALICE, START, Signer, error_code

HOSTILE_TEXTS = [
    "1e-40000000",
    "1E+40000000",
    "1_00",
    " 100",
    "100 ",
    "\u0661\u0660\u0660",  # Arabic-Indic 100
    "\uff11\uff10\uff10",  # full-width 100
    "+1",
    "NaN",
    "1" * 200,
]
HOSTILE_JSON_NUMBERS = [b"1e-40000000", b"-1e40000000", b"1" + b"0" * 4000]


def _state(sandbox: Sandbox) -> tuple[Any, ...]:
    """Everything a refused request must leave alone."""
    ex = sandbox.exchange
    return (
        ex.balances("alice"), ex.order_views("alice"), ex.transaction_views("alice"),
        ex.order_book_view(), ex.trades_view(),
    )


def _post_raw(signer: Signer, path: str, template: str, number: bytes) -> requests.Response:
    return signer.send("POST", path, template.encode().replace(b"@", number))


def _assert_clean_400(response: requests.Response, code: str, field: str, number: bytes = b"") -> None:
    """A 400 naming the field; a JSON number with a fraction or exponent is refused while the body is
    parsed (``malformed_json`` naming the JSON number)."""
    if number[:1] != b'"' and (b"e" in number.lower() or b"." in number):
        code, field = "malformed_json", "JSON number"
    assert response.status_code == 400, response.text
    assert error_code(response) == code
    message = jsonutil.loads(response.content)["errors"][0]["message"]
    assert field in message
    assert len(message) < 300


@pytest.mark.parametrize("text", HOSTILE_TEXTS, ids=[t[:20] for t in HOSTILE_TEXTS])
@pytest.mark.parametrize("field", ["quantity", "price"])
def test_an_order_with_a_hostile_decimal_string_is_a_400(sandbox: Sandbox, text: str, field: str) -> None:
    before = _state(sandbox)
    body = {"instrument": "BTC_USD", "side": "buy", "orderType": "limit", "price": "400.00", "quantity": "1"}
    body[field] = text
    response = Signer(sandbox, ALICE).send("POST", "/v1/orders", body)
    _assert_clean_400(response, f"invalid_{field}", field)
    assert _state(sandbox) == before


@pytest.mark.parametrize("number", HOSTILE_JSON_NUMBERS, ids=lambda n: n[:12].decode())
def test_an_order_with_a_hostile_json_number_is_a_400(sandbox: Sandbox, number: bytes) -> None:
    before = _state(sandbox)
    template = '{"instrument":"BTC_USD","side":"buy","orderType":"limit","price":"400.00","quantity":@}'
    response = _post_raw(Signer(sandbox, ALICE), "/v1/orders", template, number)
    _assert_clean_400(response, "invalid_quantity", "quantity", number)
    assert _state(sandbox) == before


TRANSACTIONS = [
    ("/v1/transactions/deposit", '{"method":"wire","currency":"USD","amount":@}'),
    ("/v1/transactions/withdraw", '{"method":"check","currency":"USD","amount":@}'),
    ("/v1/transactions/send", '{"currency":"BTC","amount":@,"destination":"mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn"}'),
]


@pytest.mark.parametrize(("path", "template"), TRANSACTIONS, ids=["deposit", "withdraw", "send"])
@pytest.mark.parametrize("number", [b'"1e-40000000"', b"1E+40000000", b'"1_00"', b'"\xd9\xa1\xd9\xa0\xd9\xa0"',
                                    b'" 5"'], ids=["tiny", "huge", "underscore", "arabic-indic", "padded"])
def test_a_transaction_with_a_hostile_amount_is_a_400(sandbox: Sandbox, path: str, template: str,
                                                      number: bytes) -> None:
    before = _state(sandbox)
    _assert_clean_400(_post_raw(Signer(sandbox, ALICE), path, template, number), "invalid_amount", "amount", number)
    assert _state(sandbox) == before


def test_the_contracts_decimal_strings_and_ascii_json_numbers_still_work(
    sandbox: Sandbox, alice: ButtercoinClient
) -> None:
    signer = Signer(sandbox, ALICE)
    assert signer.send("POST", "/v1/orders", {"side": "buy", "orderType": "limit", "price": "400.00",
                                              "quantity": "0.5"}).status_code == 202
    template = '{"instrument":"BTC_USD","side":"buy","orderType":"limit","price":399.5,"quantity":@}'
    assert _post_raw(signer, "/v1/orders", template, b"25e-2").status_code == 202
    assert len(sandbox.exchange.order_views("alice")) == 2


def test_a_hostile_order_does_not_freeze_the_other_connections(sandbox: Sandbox) -> None:
    """Before the fix ``1e-40000000`` held the GIL for minutes inside the order's validation;
    a ticker asked for meanwhile (on another connection) is answered, and the order gets its 400."""
    before = _state(sandbox)
    answers: dict[str, int] = {}

    def bad_order() -> None:
        template = '{"instrument":"BTC_USD","side":"buy","orderType":"limit","price":"400.00","quantity":@}'
        answers["order"] = _post_raw(Signer(sandbox, ALICE), "/v1/orders", template, b"1e-40000000").status_code

    thread = threading.Thread(target=bad_order)
    thread.start()
    answers["ticker"] = requests.get(sandbox.base_url + "/v1/ticker", timeout=30).status_code
    thread.join(timeout=30)
    assert answers == {"order": 400, "ticker": 200}
    assert _state(sandbox) == before


# --------------------------------------------------------------------------- encodings and headers


@pytest.mark.parametrize(("content_type", "status"), [
    ("application/json; charset=utf-16", 415),
    ("application/json; charset=latin-1", 415),
    ("application/json;charset=UTF-32", 415),
    ("application/json", 202),
    ("application/json; charset=utf-8", 202),
    ('application/json; charset="UTF-8"', 202),
])
def test_only_a_utf8_body_is_accepted(sandbox: Sandbox, content_type: str, status: int) -> None:
    body = {"side": "buy", "orderType": "limit", "price": "400.00", "quantity": "1"}
    response = Signer(sandbox, ALICE).send("POST", "/v1/orders", body, extra={"Content-Type": content_type})
    assert response.status_code == status
    assert len(sandbox.exchange.order_views("alice")) == (status == 202)
    if status == 415:
        assert error_code(response) == "unsupported_media_type"
        assert "utf-8" in response.json()["errors"][0]["message"].lower()


@pytest.mark.parametrize("date", ["\u00b2" * 13, "\u00b21234567890", "\uff11" * 13, "\u0661" * 13])
def test_a_non_ascii_digit_in_the_date_header_is_a_401(sandbox: Sandbox, date: str) -> None:
    signer = Signer(sandbox, ALICE)
    url = sandbox.base_url + "/v1/key"
    headers = signer.headers(url)
    headers["X-Buttercoin-Date"] = date
    # HTTP header bytes reach the WSGI environ decoded as latin-1: "\u00b2" travels as the one byte
    # 0xb2; the others as their UTF-8 bytes
    raw = {k: v.encode("latin-1") if v.isascii() or k != "X-Buttercoin-Date" or date[0] == "\u00b2"
           else v.encode("utf-8") for k, v in headers.items()}
    response = requests.get(url, headers=raw, timeout=10)  # type: ignore[arg-type]
    assert response.status_code == 401
    assert error_code(response) == "authentication_failed"
    assert "X-Buttercoin-Date" in response.json()["errors"][0]["message"]


# --------------------------------------------------------------------------- admin


@pytest.mark.parametrize("permissions", [3, "get-account", {"get-account": True}, [1], [["get-account"]], [None]])
def test_admin_accounts_with_bad_permissions_is_a_400(sandbox: Sandbox, permissions: Any) -> None:
    response = requests.post(sandbox.base_url + "/admin/accounts",
                             json={"key": "carol", "secret": "s", "permissions": permissions}, timeout=10)
    assert response.status_code == 400
    assert error_code(response) == "invalid_account"
    assert "permissions" in response.json()["errors"][0]["message"]
    assert sandbox.exchange.credentials("carol") is None


@pytest.mark.parametrize("amount", [b'"1e-40000000"', b"1E+40000000", b'"1_000"', b'"\xef\xbc\x91"', b"-5"])
def test_admin_accounts_with_a_hostile_balance_is_a_400(sandbox: Sandbox, amount: bytes) -> None:
    body = b'{"key":"carol","secret":"s","balances":{"USD":' + amount + b"}}"
    response = requests.post(sandbox.base_url + "/admin/accounts", data=body,
                             headers={"Content-Type": "application/json"}, timeout=10)
    _assert_clean_400(response, "invalid_account", "USD", amount)
    assert sandbox.exchange.credentials("carol") is None


def test_admin_counts_must_be_json_integers(sandbox: Sandbox) -> None:
    admin = sandbox.base_url + "/admin"
    for count in (b"1e40000000", b"1e30", b"1.5", b'"\xd9\xa1"', b"1" + b"0" * 4000):
        hostile = b'{"queue":[{"kind":"error500","count":' + count + b"}]}"
        response = requests.post(admin + "/faults", data=hostile, headers={"Content-Type": "application/json"},
                                 timeout=10)
        _assert_clean_400(response, "invalid_fault", "count", count if count == b"1e40000000" else b"")
    assert requests.get(admin + "/faults", timeout=10).json()["queue"] == []
    response = requests.post(admin + "/faults", json={"latency_ms": 10**400}, timeout=10)
    assert response.status_code == 400
    assert requests.get(admin + "/faults", timeout=10).json()["latency_ms"] == 0


def test_start_balances_are_untouched_by_refusals(sandbox: Sandbox) -> None:
    assert sandbox.exchange.balances("alice") == START
