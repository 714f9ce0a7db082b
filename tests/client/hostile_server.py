"""A hostile HTTP server on 127.0.0.1, on raw sockets: it answers every request with a scripted
reply that it may drip one byte at a time (headers or body), or with any headers and bytes (a
gzip bomb, an encoding nobody asked for). What a well-behaved server (waitress, the sandbox)
cannot be made to do.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
import time
import zlib
from dataclasses import dataclass
from functools import cache
from types import TracebackType


@dataclass(frozen=True)
class Script:
    """The reply to every request: ``head`` (status line and headers) and ``body``; ``drip`` > 0
    sends the bytes from ``drip_from`` on one at a time, ``drip`` seconds apart."""

    head: bytes
    body: bytes = b""
    drip: float = 0.0
    drip_from: int = 0


def reply(status: int, body: bytes, *headers: tuple[str, str], length: bool = True) -> Script:
    lines = [f"HTTP/1.1 {status} X", "Content-Type: application/json", "Connection: close",
             *(f"{k}: {v}" for k, v in headers)]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return Script(("\r\n".join(lines) + "\r\n\r\n").encode(), body)


def dripping_body(every: float, length: int = 1000) -> Script:
    """Headers at once, then the body one byte every ``every`` seconds."""
    head = reply(200, b"x" * length).head
    return Script(head, b"{" + b" " * (length - 1), drip=every, drip_from=len(head))


def dripping_headers(every: float) -> Script:
    """The status line, then the headers one byte every ``every`` seconds."""
    script = reply(200, b"{}")
    return Script(script.head, script.body, drip=every, drip_from=len(b"HTTP/1.1 200 X\r\n"))


@cache
def gzip_bomb(decoded_gib: int = 1) -> bytes:
    """A valid gzip stream of about 1 MB per GiB of zeros it decodes to (built from one deflate
    block of 1 MiB of zeros, repeated: a second instead of half a minute of compressing)."""
    zeros = b"\0" * (1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(zeros) + deflate.flush(zlib.Z_FULL_FLUSH)
    blocks = decoded_gib * 1024
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    size = (blocks << 20) & 0xFFFFFFFF
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + block * blocks + deflate.flush()
            + struct.pack("<II", crc, size))


class HostileServer:
    """Serves ``script`` to every request until stopped; counts requests and connections."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self.requests = 0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.base_url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, name="hostile-server", daemon=True)
        self._accepting.start()

    def __enter__(self) -> HostileServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._accepting.join(5)
        self._listener.close()
        for thread in self._threads:
            thread.join(5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(1.0)
            try:
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                if not _read_request(conn, self._stop):
                    return
                self.requests += 1
                data = self.script.head + self.script.body
                cut = self.script.drip_from if self.script.drip else len(data)
                conn.sendall(data[:cut])
                for i in range(cut, len(data)):
                    if self._stop.wait(self.script.drip):
                        return
                    conn.sendall(data[i:i + 1])
                time.sleep(0.05)  # let the client read before the close
            except (OSError, ssl.SSLError):
                return  # the client cut the connection: what a deadline does


def _read_request(conn: socket.socket, stop: threading.Event) -> bool:
    """Read one request (head and Content-Length body); False if the client went away."""
    data = b""
    while b"\r\n\r\n" not in data:
        if stop.is_set():
            return False
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        if not chunk:
            return False
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        rest += chunk
    return True
