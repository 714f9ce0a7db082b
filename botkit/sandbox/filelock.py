"""One sandbox per state file: an exclusive ``flock`` on the real file, held while it is open.

Two sandboxes writing one state file interleave their saves and each overwrites the other's
accounts. The lock is taken on the state file itself (after resolving symlinks), so a symlink, a
relative path or a hard link all meet the same lock, and there is no lock file to delete. The
kernel drops it when the holder exits, even on ``kill -9``, so a crash never leaves a stale lock.

``flock`` does not interact with the POSIX byte-range locks SQLite takes on the same file (on a
local filesystem), so backup tools and the ``sqlite3`` shell keep working. Within one process
the lock is tracked in a table instead of opening the file a second time: closing any descriptor
of a file drops every POSIX lock the process holds on it, SQLite's included.

Who holds it is read from ``/proc/locks`` (Linux); the holder's command is shown by its program
and subcommand words only, never its options, which may carry account secrets.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
from pathlib import Path


class _Held:
    """The files this process holds: (device, inode) -> the descriptor holding each."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fds: dict[tuple[int, int], int] = {}

    def forget(self) -> None:
        """In a forked child: close the copies of the descriptors (closing, never unlocking: an
        unlock would free the parent's hold too) and start afresh."""
        self.lock = threading.Lock()  # a thread of the parent may have held it at the fork
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


_held = _Held()

_WORD = re.compile(r"-?[A-Za-z0-9_.]+")


class FileInUse(Exception):
    """Another sandbox holds the state file; the message names the file and the holder."""


class FileLost(OSError):
    """The held file was deleted or replaced: writing on would write to a file nobody will read."""


class FileLock:
    """An exclusive hold on one file, for the life of the object (``release()`` ends it)."""

    def __init__(self, real_path: Path, shown: str) -> None:
        """``real_path`` is the resolved file (created 0600 when missing); ``shown`` names it in errors.

        Raises :class:`FileInUse` when another holder has it, ``OSError`` when it cannot be opened.
        """
        self.path = real_path
        with _held.lock:
            try:
                existing = os.stat(real_path)
            except FileNotFoundError:
                existing = None
            if existing is not None and (existing.st_dev, existing.st_ino) in _held.fds:
                raise FileInUse(f"{shown} is in use by this process (pid {os.getpid()})")
            fd = os.open(real_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                info = os.fstat(fd)
                key = (info.st_dev, info.st_ino)
                if key in _held.fds:
                    raise FileInUse(f"{shown} is in use by this process (pid {os.getpid()})")
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise FileInUse(f"{shown} is in use by {holder(info.st_dev, info.st_ino)}") from None
            except BaseException:
                os.close(fd)
                raise
            _held.fds[key] = fd
        self._fd: int | None = fd
        self._key = key
        self._shown = shown

    def verify(self) -> None:
        """Raise :class:`FileLost` unless the path still names the held file. A file deleted or
        replaced under a running sandbox would take its saves nowhere, while a new sandbox could
        start on the path."""
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            raise FileLost(f"{self._shown} was deleted while in use; the changes stay in memory") from None
        if (now.st_dev, now.st_ino) != self._key:
            raise FileLost(f"{self._shown} was replaced by another file while in use; the changes stay in memory")

    def release(self) -> None:
        """Give the file up (idempotent). Close every other handle on the file first."""
        with _held.lock:
            if self._fd is None:
                return
            if _held.fds.get(self._key) == self._fd:  # else forgotten in a forked child
                os.close(self._fd)  # closing the descriptor drops the flock
                del _held.fds[self._key]
            self._fd = None


def _forget_after_fork() -> None:
    """A forked child must not keep its parent's files locked: the flock belongs to the open file,
    shared with the parent, so a child outliving the parent would hold it."""
    _held.forget()


os.register_at_fork(after_in_child=_forget_after_fork)


def holder(device: int, inode: int) -> str:
    """``"pid N (botkit sandbox)"`` for the process holding an flock on the file, as far as
    ``/proc`` tells; ``"another process"`` when it does not."""
    wanted = f"{os.major(device):02x}:{os.minor(device):02x}:{inode}"
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return "another process"
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 4443 fe:00:2147344 0 EOF" (waiters have "->" after the number)
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == wanted and fields[4].isascii() \
                and fields[4].isdigit() and int(fields[4]) > 0:
            pid = int(fields[4])
            command = _command(pid)
            return f"pid {pid} ({command})" if command else f"pid {pid}"
    return "another process"


def _command(pid: int) -> str:
    """The program name and its leading plain words (``python3 -m botkit sandbox``), no options."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    argv = [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    if not argv:
        return ""
    words = [os.path.basename(argv[0])]
    for arg in argv[1:5]:
        if not _WORD.fullmatch(arg):
            break
        words.append(arg)
    return " ".join(words)
