"""SIGINT and SIGTERM as a stop request that never deadlocks the process.

A Python signal handler runs in the main thread between two bytecodes, possibly while that thread
holds a lock the handler would need. ``threading.Event.set()`` takes the event's own (not
reentrant) lock, which the main thread holds for a moment each time it enters or leaves
``Event.wait()``: a second Ctrl-C landing there (``timeout`` and a terminal both send two) froze
``botkit run`` for good, its stop guard waiting on the same event. So the handler only writes the
signal's number to a pipe, which takes no lock, and a thread of its own reads the pipe, logs, and
sets the event. One pipe and one thread serve the whole process: installing again (a daemon run
after another in one process) only changes which event a signal sets, as ``signal.signal`` does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from types import FrameType

log = logging.getLogger("botkit")

class _StopPipe:
    """The process's one stop-signal pipe and its watcher thread, made on first use."""

    def __init__(self) -> None:
        self.target: tuple[threading.Event, str | None] | None = None
        """The event the next stop signal sets, and the line logged first."""
        self.write_fd: int | None = None
        self.setup = threading.Lock()

    def open(self) -> int:
        with self.setup:
            if self.write_fd is None:
                read_fd, write_fd = os.pipe()
                os.set_blocking(write_fd, False)
                threading.Thread(target=self.watch, args=(read_fd,), name="botkit-signals", daemon=True).start()
                self.write_fd = write_fd
            return self.write_fd

    def watch(self, read_fd: int) -> None:
        while True:
            received = os.read(read_fd, 64)
            target = self.target
            if target is None:
                continue
            stopping, message = target
            if message is not None:
                for signum in received:
                    log.info(message.format(signal=signal.Signals(signum).name))
            stopping.set()


_STOP = _StopPipe()


def on_stop_signals(stopping: threading.Event, message: str | None = None,
                    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM)) -> None:
    """Make ``signals`` set ``stopping`` (from the watcher thread), logging ``message`` with the
    signal's name first (``{signal}`` in it) when one is given. Call it from the main thread."""
    _STOP.target = (stopping, message)
    write_fd = _STOP.open()

    def handler(signum: int, _frame: FrameType | None) -> None:
        with contextlib.suppress(BlockingIOError):  # a pipe full of stop requests already asks for it
            os.write(write_fd, bytes([signum]))

    for sig in signals:
        signal.signal(sig, handler)
