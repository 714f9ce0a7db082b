"""Raw client sockets for the connection-limit tests: idle ones, and dribblers that send one byte
at a time of a request that never ends."""

from __future__ import annotations

import select
import socket


def closed_by_server(s: socket.socket) -> bool:
    """Has the server closed this connection (end of stream or a reset)?"""
    if not select.select([s], [], [], 0)[0]:
        return False
    try:
        return s.recv(1 << 16) == b""
    except OSError:
        return True


def dribble(socks: list[socket.socket]) -> int:
    """Send each still-open dribbler one more byte; how many the server has closed."""
    closed = 0
    for s in socks:
        try:
            if closed_by_server(s):
                closed += 1
            else:
                s.send(b"x")
        except OSError:
            closed += 1
    return closed
