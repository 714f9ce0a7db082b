"""Bitcoin addresses in Base58Check, the legacy format the contract's examples use.

A send is refused unless its destination decodes, its 4-byte double-SHA256 checksum matches, it
carries a 20-byte hash and its version byte is one of P2PKH/P2SH on the main or test network.
Deposit addresses are derived from the API key, so one account always shows the same address.
"""

from __future__ import annotations

import hashlib

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {char: value for value, char in enumerate(ALPHABET)}

MAINNET_P2PKH = 0x00
MAINNET_P2SH = 0x05
TESTNET_P2PKH = 0x6F
TESTNET_P2SH = 0xC4
NETWORKS = {
    MAINNET_P2PKH: "main",
    MAINNET_P2SH: "main",
    TESTNET_P2PKH: "test",
    TESTNET_P2SH: "test",
}


def _checksum(payload: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, digit = divmod(number, 58)
        out.append(ALPHABET[digit])
    leading = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _INDEX:
            raise ValueError(f"{char!r} is not a Base58 character")
        number = number * 58 + _INDEX[char]
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading = len(text) - len(text.lstrip("1"))
    return b"\0" * leading + body


def encode_check(version: int, payload: bytes) -> str:
    data = bytes([version]) + payload
    return b58encode(data + _checksum(data))


def decode_check(text: str) -> tuple[int, bytes]:
    """``(version byte, payload)`` of a Base58Check string; ValueError when it is not one."""
    raw = b58decode(text)
    if len(raw) < 5:
        raise ValueError("too short for Base58Check")
    data, check = raw[:-4], raw[-4:]
    if _checksum(data) != check:
        raise ValueError("checksum mismatch")
    return data[0], data[1:]


def network(address: str) -> str | None:
    """``"main"`` or ``"test"`` for a valid legacy address, None for anything else."""
    if not isinstance(address, str) or not 25 <= len(address) <= 35:
        return None
    try:
        version, payload = decode_check(address)
    except ValueError:
        return None
    if len(payload) != 20:
        return None
    return NETWORKS.get(version)


def deposit_address(key: str) -> str:
    """A stable test-network P2PKH address for an account (the sandbox holds testnet coins)."""
    digest = hashlib.sha256(f"botkit-sandbox:{key}".encode()).digest()[:20]
    return encode_check(TESTNET_P2PKH, digest)
