"""Reading a reply's body within bounds: its size as sent, its size decoded, and its deadline.

``requests`` decodes a gzip body in one go: a 1 MB reply that inflates to gigabytes fills memory
before anyone looks at it. Here the body is read raw, chunk by chunk, and inflated with a limit
on the output of each step, so a reply larger than ``limit`` bytes (on the wire or decoded) is
refused after at most ``limit`` bytes were held. The client asks for ``gzip, deflate`` only; any
other encoding is refused too.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any

from botkit.client.deadline import DeadlineExceeded
from botkit.client.errors import MalformedResponseError

CHUNK = 64 * 1024
"""Bytes read from the socket at a time."""

ACCEPT_ENCODING = "gzip, deflate"


class ReplyTooLarge(MalformedResponseError):
    """The reply is larger than the client's ``max_reply_bytes``, sent or decoded."""


class _Inflater:
    """Bounded gzip/deflate decoding (``deflate`` with or without its zlib header, as browsers do)."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_deflate_tried = encoding != "deflate"
        self._fed = False
        wbits = 16 + zlib.MAX_WBITS if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._z = zlib.decompressobj(wbits)

    def feed(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of ``data``; at most ``room + 1`` (one more than room says: too large)."""
        try:
            out = self._z.decompress(data, room + 1)
        except zlib.error:
            if self._fed or self._raw_deflate_tried:
                raise
            self._raw_deflate_tried = True
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._z.decompress(data, room + 1)
        self._fed = True
        return out

    def finish(self) -> bytes:
        if not self._z.eof:
            raise zlib.error("the compressed stream is cut short")
        return self._z.flush()


def read(raw: Any, headers: Any, limit: int, call: str, expired: Callable[[], bool]) -> bytes:
    """The body of ``raw`` (a urllib3 response read without decoding), decoded and bounded.

    Raises :class:`ReplyTooLarge` or :class:`MalformedResponseError` (a bad encoding); transport
    failures (urllib3's exceptions) and ``DeadlineExceeded`` are the caller's to translate.
    ``expired`` is asked after every chunk: a body that drips past the deadline stops there even
    when the watchdog cannot cut the connection.
    """
    declared = str(headers.get("Content-Length", "")).strip()
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise ReplyTooLarge(f"{call}: reply of {int(declared):,} bytes is larger than the client's "
                            f"limit of {limit:,} bytes (max_reply_bytes): refused")
    encoding = str(headers.get("Content-Encoding", "")).strip().lower()
    inflater: _Inflater | None = None
    if encoding in ("gzip", "x-gzip", "deflate"):
        inflater = _Inflater(encoding)
    elif encoding not in ("", "identity"):
        raise MalformedResponseError(f"{call}: reply uses Content-Encoding {encoding[:40]!r}, "
                                     f"which the client does not accept ({ACCEPT_ENCODING})")
    out = bytearray()
    received = 0
    try:
        for chunk in _chunks(raw):
            received += len(chunk)
            if received > limit:
                raise _too_large(call, limit, "sent")
            out += chunk if inflater is None else inflater.feed(chunk, limit - len(out))
            if len(out) > limit:
                raise _too_large(call, limit, "decoded")
            if expired():
                raise DeadlineExceeded(call)
        if inflater is not None:
            out += inflater.finish()
    except zlib.error as exc:
        raise MalformedResponseError(f"{call}: reply's {encoding} encoding is corrupt ({exc})") from None
    if len(out) > limit:
        raise _too_large(call, limit, "decoded")
    return bytes(out)


def _chunks(raw: Any) -> Iterator[bytes]:
    """The raw body as it arrives: ``read1`` returns what one receive brought (``stream`` would
    block until a whole chunk is in, so a dripping body would never reach the deadline check)."""
    read1 = getattr(raw, "read1", None)
    if read1 is None:  # urllib3 1.x
        yield from raw.stream(CHUNK, decode_content=False)
        return
    while chunk := read1(CHUNK, decode_content=False):
        yield chunk


def _too_large(call: str, limit: int, how: str) -> ReplyTooLarge:
    return ReplyTooLarge(f"{call}: reply is larger than the client's limit of {limit:,} bytes "
                         f"({how}; max_reply_bytes): refused")
