"""Named points where the reliability suite makes the daemon die on the spot, as kill -9 would.

A random kill rarely lands in the few microseconds between journaling an order and sending it, so
the crash suite arms these points instead: ``BOTKIT_CRASH_AT=order.pending:2`` kills the process
the second time it passes ``order.pending``. Unset (always, outside the tests) each point costs one
dictionary lookup.

Points: ``order.pending`` (the pending row is committed, the POST not sent), ``order.placed`` (the
exchange accepted the order, its id is not journaled), ``fill.journal`` (inside the transaction
that journals a fill, before it commits).
"""

from __future__ import annotations

import os
import signal

ENV = "BOTKIT_CRASH_AT"


def _parse(text: str) -> dict[str, int]:
    armed: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, count = item.partition(":")
        armed[name] = int(count or 1)
    return armed


_armed = _parse(os.environ.get(ENV, ""))


def crashpoint(name: str) -> None:
    """Die here with SIGKILL if the environment armed this point and its count ran out."""
    if not _armed or name not in _armed:
        return
    _armed[name] -= 1
    if _armed[name] <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
