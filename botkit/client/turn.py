"""One API key's turn to sign and send, shared by every client of that key on this machine.

The exchange refuses a timestamp that is not greater than the last one it accepted for a key. Two
clients of one key (a daemon and ``botkit record``, a script beside a bot, two clients in one
process) each with a clock of its own collide: both sign with the same millisecond, or the later
timestamp overtakes the earlier one on the wire, and one of them gets ``401 replayed timestamp``.

So the timestamp and the sending are the key's, not the client's:

- in one process, every client of a key shares one :class:`KeyTurn` (one clock, one lock);
- across processes, the turn is an ``flock`` on a small file per key in the user's runtime
  directory (``$XDG_RUNTIME_DIR/botkit`` or ``/tmp/botkit-<uid>``, mode 0700). The file holds the
  last timestamp the key used, so the next process's timestamp is larger. It is named after a hash
  of the key, never the key. The lock is held from signing until the answer is read, so requests
  of one key reach the exchange in the order of their timestamps; the kernel releases it when a
  process dies.

When the directory cannot be used (read-only, foreign owner), the turn is per process only, and
the client's re-sign of a replayed timestamp (see ``docs/client.md``) covers the rest.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from botkit.client.auth import TimestampClock

log = logging.getLogger("botkit.client")


class _Registry:
    """The turns of this process, by key id."""

    def __init__(self) -> None:
        self.turns: dict[str, KeyTurn] = {}
        self.lock = threading.Lock()

    def forget(self) -> None:
        self.turns = {}
        self.lock = threading.Lock()


_registry = _Registry()


def turn_directory() -> Path:
    """Where the per-key turn files live: private to the user, cleared at reboot on most systems."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return Path(runtime) / "botkit"
    return Path(tempfile.gettempdir()) / f"botkit-{os.getuid()}"


def _key_id(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:24]


class KeyTurn:
    """The clock and the lock of one API key (see the module's docstring)."""

    def __init__(self, key_id: str, directory: Path | None) -> None:
        self.clock = TimestampClock()
        self._lock = threading.Lock()
        self._fd: int | None = None
        if directory is not None:
            self._fd = _open_turn_file(directory, key_id)

    @property
    def shared_across_processes(self) -> bool:
        return self._fd is not None

    @contextlib.contextmanager
    def hold(self) -> Iterator[TimestampClock]:
        """The key's turn: sign with the yielded clock and send while it is held."""
        with self._lock:
            fd = self._fd
            if fd is None:
                yield self.clock
                return
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                raw = os.pread(fd, 8, 0)
                if len(raw) == 8:
                    self.clock.observe(int.from_bytes(raw, "big"))
                try:
                    yield self.clock
                finally:
                    os.pwrite(fd, self.clock.last.to_bytes(8, "big"), 0)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)


def _open_turn_file(directory: Path, key_id: str) -> int | None:
    try:
        directory.mkdir(mode=0o700, exist_ok=True)
        info = directory.lstat()
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
            log.warning("%s is not a private directory of this user; the turn of an API key is "
                        "shared within this process only", directory)
            return None
        return os.open(directory / f"{key_id}.turn", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        log.warning("cannot use %s (%s); the turn of an API key is shared within this process "
                    "only", directory, exc.strerror or exc)
        return None


def _forget_after_fork() -> None:
    """A forked child must not share its parent's turn files: ``flock`` belongs to the open file,
    which parent and child would share, so neither would wait for the other."""
    _registry.forget()


os.register_at_fork(after_in_child=_forget_after_fork)



def key_turn(api_key: str) -> KeyTurn:
    """The one :class:`KeyTurn` of ``api_key`` in this process."""
    key_id = _key_id(api_key)
    with _registry.lock:
        turn = _registry.turns.get(key_id)
        if turn is None:
            turn = _registry.turns[key_id] = KeyTurn(key_id, turn_directory())
        return turn
