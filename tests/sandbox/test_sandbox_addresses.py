"""Base58Check bitcoin addresses: known valid and invalid ones, and round trips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botkit.sandbox.addresses import b58decode, b58encode, decode_check, deposit_address, encode_check, network


@pytest.mark.parametrize(
    ("address", "net"),
    [
        ("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "main"),  # P2PKH, the genesis block's
        ("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "main"),
        ("3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "main"),  # P2SH
        ("mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", "test"),
        ("2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc", "test"),
    ],
)
def test_valid_addresses(address: str, net: str) -> None:
    assert network(address) == net


@pytest.mark.parametrize(
    "address",
    [
        "1J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",  # the contract's example deposit address: bad checksum
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb",
        "LVg2kJoFNg45Nbpy53h7Fe1wKyeXVRhMH9",
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7Divf0a",
        "1A1zP1",
        "",
    ],
)
def test_invalid_addresses(address: str) -> None:
    assert network(address) is None


@given(st.binary(max_size=40))
def test_base58_round_trips_with_leading_zeros(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


@given(st.sampled_from([0x00, 0x05, 0x6F, 0xC4]), st.binary(min_size=20, max_size=20))
def test_base58check_round_trips(version: int, payload: bytes) -> None:
    address = encode_check(version, payload)
    assert decode_check(address) == (version, payload)
    assert network(address) in ("main", "test")


def test_deposit_addresses_are_stable_testnet_addresses() -> None:
    assert deposit_address("k") == deposit_address("k") != deposit_address("j")
    assert network(deposit_address("k")) == "test"
