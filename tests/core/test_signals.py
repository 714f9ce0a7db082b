"""A stop signal never deadlocks: the handler takes no lock (botkit run once froze for good when a
second SIGINT landed while the main thread held the stop event's lock inside ``Event.wait``)."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator

import pytest

from botkit.core.signals import on_stop_signals


@pytest.fixture
def restored_handlers() -> Iterator[None]:
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def test_the_handler_returns_while_the_main_thread_holds_the_events_lock(restored_handlers: None) -> None:
    stopping = threading.Event()
    on_stop_signals(stopping)
    handler = signal.getsignal(signal.SIGINT)
    assert callable(handler)
    # Event.wait() holds this lock (a plain Lock: not reentrant) on its way in and out; a handler
    # that called stopping.set() here would wait for it forever.
    with stopping._cond:
        handler(signal.SIGINT, None)
        handler(signal.SIGINT, None)
    assert stopping.wait(10), "the watcher thread did not set the event"


def test_a_real_signal_sets_the_event_and_logs_its_name(restored_handlers: None,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    stopping = threading.Event()
    with caplog.at_level("INFO", logger="botkit"):
        on_stop_signals(stopping, "received {signal}: stopping")
        os.kill(os.getpid(), signal.SIGTERM)
        assert stopping.wait(10)  # the watcher logs before it sets the event
    assert "received SIGTERM: stopping" in caplog.text


def test_installing_again_reuses_one_pipe_and_one_thread(restored_handlers: None) -> None:
    """A process that runs daemon after daemon (the test suite, a notebook) must not gain a pipe
    and a thread each time: hundreds of leaked descriptors once broke select() elsewhere."""
    before = len(os.listdir("/proc/self/fd")), threading.active_count()
    events = [threading.Event() for _ in range(50)]
    for event in events:
        on_stop_signals(event)
    assert (len(os.listdir("/proc/self/fd")), threading.active_count()) <= (before[0] + 2, before[1] + 1)
    signal.getsignal(signal.SIGINT)(signal.SIGINT, None)  # type: ignore[operator, misc]
    assert events[-1].wait(10) and not any(e.is_set() for e in events[:-1])
