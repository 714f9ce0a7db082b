"""``botkit.ccxt.buttercoin`` against ``botkit sandbox`` over real HTTP: every unified call, exact
numbers, signed requests the sandbox verifies, errors as ccxt's exception types."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from ccxt.base.errors import AuthenticationError, InvalidOrder, OrderNotFound

from botkit.ccxt import buttercoin
from botkit.data.files import file_instrument
from botkit.data.jsonl import JsonlReader, check_snapshot
from botkit.sandbox import Sandbox
from tests.backtest.commands import invoke
from tests.sandbox.helpers import ALICE, BOB, funded_accounts

D = Decimal


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(market="off", rate_limit=0, accounts=funded_accounts(), admin=True) as sb:
        yield sb


def exchange(sandbox: Sandbox, credentials: tuple[str, str] = ALICE) -> buttercoin:
    ex = buttercoin({"apiKey": credentials[0], "secret": credentials[1], "timeout": 10_000})
    ex.urls["api"]["rest"] = sandbox.base_url
    return ex


def test_describe_and_markets(sandbox: Sandbox) -> None:
    ex = exchange(sandbox)
    assert ex.id == "buttercoin"
    assert ex.has["createOrder"] and ex.has["fetchOrderBook"]
    assert list(ex.load_markets()) == ["BTC/USD"]
    assert ex.market("BTC/USD")["id"] == "BTC_USD"


def test_orders_book_trades_and_balances_round_trip_exactly(sandbox: Sandbox) -> None:
    alice, bob = exchange(sandbox), exchange(sandbox, BOB)
    balance = alice.fetch_balance()
    assert (balance["USD"]["total"], balance["BTC"]["total"]) == ("100000", "10")
    ask = alice.create_order("BTC/USD", "limit", "sell", "0.12345678", "401.37")
    bid = bob.create_order("BTC/USD", "limit", "buy", "0.5", "399.99")
    book = alice.fetch_order_book("BTC/USD")
    assert book["asks"] == [["401.37", "0.12345678"]]  # strings from the text: never a float
    assert book["bids"] == [["399.99", "0.5"]]
    ticker = alice.fetch_ticker("BTC/USD")
    assert (ticker["bid"], ticker["ask"]) == ("399.99", "401.37")
    # a market buy of 20 USD, fee included (Buttercoin's USD_BTC market sell), takes from the ask
    bob.create_order("BTC/USD", "market", "buy", "0.01", None, {"cost": "20"})
    (trade,) = alice.fetch_trades("BTC/USD")
    assert trade["side"] == "buy" and trade["price"] == "401.37"
    assert D(trade["cost"]) == D(trade["amount"]) * D("401.37") <= D(20)
    order = alice.fetch_order(ask["id"])
    assert order["status"] == "open" and order["side"] == "sell" and order["price"] == "401.37"
    assert D(order["filled"]) == D(trade["amount"])
    assert [o["id"] for o in alice.fetch_open_orders("BTC/USD")] == [ask["id"]]
    alice.cancel_order(ask["id"])
    assert alice.fetch_order(ask["id"])["status"] == "canceled"
    assert alice.fetch_open_orders() == []
    assert {o["id"] for o in bob.fetch_orders()} >= {bid["id"]}
    assert [o["id"] for o in bob.fetch_open_orders()] == [bid["id"]]
    assert len(bob.fetch_closed_orders()) == 1  # the market buy


def test_errors_are_ccxts_types(sandbox: Sandbox) -> None:
    alice = exchange(sandbox)
    with pytest.raises(InvalidOrder):
        alice.create_order("BTC/USD", "limit", "buy", "1", "400.001")  # off the cent grid: 400
    with pytest.raises(InvalidOrder, match="params\\['cost'\\]"):
        alice.create_order("BTC/USD", "market", "buy", "1")
    with pytest.raises(OrderNotFound):
        alice.fetch_order("no-such-order")
    with pytest.raises(AuthenticationError):
        buttercoin({"apiKey": ALICE[0], "secret": "wrong", "urls": {"api": {"rest": sandbox.base_url}}}).fetch_balance()


def test_record_through_ccxt_from_the_embedded_sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``botkit record --source ccxt:buttercoin:BTC/USD``: the ccxt recording path, for real, against
    the embedded sandbox's simulated market (the default config), no mock."""
    monkeypatch.chdir(tmp_path)
    code, _, err = invoke("record", "--source", "ccxt:buttercoin:BTC/USD", "--depth", "5", "--out", "rec.jsonl",
                          "--interval", "0.5", "--duration", "4")
    assert code == 0, err
    assert "recorded" in err
    snapshots = list(JsonlReader(tmp_path / "rec.jsonl", strict=True))
    assert len(snapshots) >= 2  # ccxt's rate limiter: 3 calls a snapshot, 500 ms apart (120 a minute)
    for snapshot in snapshots:
        check_snapshot(snapshot)
        assert 0 < len(snapshot.book.bids) <= 5 and 0 < len(snapshot.book.asks) <= 5
        assert snapshot.best_bid is not None and snapshot.best_ask is not None
        assert snapshot.best_bid < snapshot.best_ask
    instrument = file_instrument(tmp_path / "rec.jsonl")
    assert (instrument.exchange, instrument.symbol, instrument.price_increment) == ("buttercoin", "BTC_USD",
                                                                                    D("0.01"))
    assert (instrument.maker_fee_bps, instrument.taker_fee_bps) == (D(10), D(20))


def test_record_source_errors(tmp_path: Path) -> None:
    code, _, err = invoke("record", "--source", "binance:BTC/USDT", "--out", str(tmp_path / "a.jsonl"))
    assert code == 2 and "not ccxt:EXCHANGE:SYMBOL" in err
    code, _, err = invoke("record", "--source", "ccxt:nosuchexchange:BTC/USD", "--out", str(tmp_path / "a.jsonl"))
    assert code == 2 and "ccxt has no exchange 'nosuchexchange'" in err
