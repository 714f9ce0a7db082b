"""One owner per file: an exclusive lock on the real file a path names, held while it is open.

Two daemons on one journal, or two sandboxes on one state file, would each act as if the file
were theirs alone. :class:`FileLock` is the one lock both use:

- It is taken on the file itself (after resolving symlinks and relative paths), so a symlink, a
  symlinked folder or a hard link all meet the same lock, and there is no lock file whose
  deletion would let a second owner in. The kernel drops it when the holder exits, even on
  ``kill -9``, so a crash never leaves a stale lock.
- It is an open-file-description lock (``F_OFD_SETLK``) on one byte far beyond what SQLite
  locks (SQLite takes POSIX locks on bytes from 1 GiB up to 1 GiB + 512; we lock byte 2**62), so
  SQLite, backup tools and the ``sqlite3`` shell keep working on the file. Unlike a POSIX lock it
  is not dropped when SQLite closes one of its own descriptors of the file. Without OFD locks
  (not Linux), ``flock`` does the same job (also per open file, independent of SQLite's locks).
- Within one process a file is never opened a second time to lock it: closing any descriptor of
  a file drops every POSIX lock the process holds on it, SQLite's included. A table of the held
  files answers instead (:attr:`FileInUse.same_process`).
- A forked child closes its copies of the descriptors (closing, never unlocking: an unlock would
  free the parent's hold too), so a child outliving its parent does not keep the file locked.
- :meth:`FileLock.verify` tells whether a path still names the locked file: a file deleted,
  renamed or replaced under its owner is a lost lock (another owner may have started on the path).
- Who holds it is read from ``/proc`` (Linux); the holder's command is shown by its program and
  subcommand words only, never its options, which may carry account secrets.

The callers word the errors (a journal is "in use by another botkit daemon", a state file names
its holder); this module only says what happened.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import struct
import threading
from pathlib import Path

LOCK_BYTE = 2**62
"""The byte of the file that is locked: far from SQLite's lock bytes (1 GiB to 1 GiB + 512)."""

_OFD_SETLK: int | None = getattr(fcntl, "F_OFD_SETLK", None)
_WORD = re.compile(r"-?[A-Za-z0-9_.]+")


class FileInUse(Exception):
    """Another holder has the file. ``holder`` names it (``"pid 4242 (botkit run)"``, ``"this
    process (pid 4242)"`` or ``"another process"``); the message is ``"{path} is in use by {holder}"``."""

    def __init__(self, path: Path, holder: str, *, same_process: bool) -> None:
        super().__init__(f"{path} is in use by {holder}")
        self.path = path
        self.holder = holder
        self.same_process = same_process


class LockFailed(OSError):
    """The file opened but cannot be locked (a filesystem without locks, say): not "in use"."""


class FileLost(OSError):
    """The path no longer names the locked file: ``gone`` when it names nothing (deleted or
    renamed away; ``strerror`` says why), else it names another file (replaced)."""

    def __init__(self, path: Path, *, gone: bool, strerror: str = "", message: str = "") -> None:
        what = f"is gone ({strerror})" if gone else "names another file"
        super().__init__(message or f"{path} {what}")
        self.path = path
        self.gone = gone
        self.reason = strerror


class _Held:
    """The files this process holds: (device, inode) -> the descriptor holding each."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fds: dict[tuple[int, int], int] = {}

    def forget(self) -> None:
        """In a forked child: close the copies of the descriptors and start afresh."""
        self.lock = threading.Lock()  # a thread of the parent may have held it at the fork
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


_held = _Held()
os.register_at_fork(after_in_child=_held.forget)


class FileLock:
    """An exclusive hold on the real file ``path`` names, from construction to :meth:`release`."""

    def __init__(self, path: Path, *, mode: int = 0o600) -> None:
        """Lock ``path``'s real file, created with ``mode`` when missing (an empty file is an
        empty SQLite database, so the lock comes before anyone reads or writes it).

        Raises :class:`FileInUse` when another holder has it, :class:`LockFailed` when it cannot
        be locked for another reason, ``OSError`` when it cannot be opened.
        """
        self.path = path.resolve()
        with _held.lock:
            try:
                existing = os.stat(self.path)
            except FileNotFoundError:
                existing = None
            if existing is not None and (existing.st_dev, existing.st_ino) in _held.fds:
                raise FileInUse(self.path, f"this process (pid {os.getpid()})", same_process=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
            try:
                info = os.fstat(fd)
                key = (info.st_dev, info.st_ino)
                if key in _held.fds:
                    raise FileInUse(self.path, f"this process (pid {os.getpid()})", same_process=True)
                try:
                    _lock(fd)
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise LockFailed(exc.errno, exc.strerror) from None
                    raise FileInUse(self.path, holder(info.st_dev, info.st_ino), same_process=False) from None
            except BaseException:
                os.close(fd)
                raise
            _held.fds[key] = fd
        self._fd: int | None = fd
        self.key = key
        """(device, inode) of the locked file."""

    @property
    def held(self) -> bool:
        """Whether :meth:`release` has not been called yet."""
        return self._fd is not None

    def verify(self, path: Path | None = None) -> None:
        """Raise :class:`FileLost` unless ``path`` (the locked real file by default; the path the
        owner opens the file by, if it keeps using that) still names the locked file."""
        shown = self.path if path is None else path
        try:
            now = os.stat(shown)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                raise
            raise FileLost(shown, gone=True, strerror=exc.strerror or "") from None
        if (now.st_dev, now.st_ino) != self.key:
            raise FileLost(shown, gone=False)

    def release(self) -> None:
        """Give the file up (idempotent). Close every other handle on the file first."""
        with _held.lock:
            if self._fd is None:
                return
            if _held.fds.get(self.key) == self._fd:  # else forgotten in a forked child
                os.close(self._fd)  # closing the descriptor drops its OFD lock or flock
                del _held.fds[self.key]
            self._fd = None


def _lock(fd: int) -> None:
    """An exclusive, non-blocking lock of ``fd``'s open file description; OSError if held elsewhere."""
    if _OFD_SETLK is None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    # struct flock: l_type, l_whence, l_start, l_len, l_pid (0, as OFD locks require).
    request = struct.pack("hhqqi", fcntl.F_WRLCK, os.SEEK_SET, LOCK_BYTE, 1, 0)
    fcntl.fcntl(fd, _OFD_SETLK, request)


def holder(device: int, inode: int) -> str:
    """``"pid N (botkit sandbox)"`` for the process holding the lock on the file, as far as
    ``/proc`` tells; ``"another process"`` when it does not.

    ``/proc/locks`` shows an OFD lock with pid -1, so the holder is the process with a descriptor
    of the file whose ``fdinfo`` lists the lock (read only for descriptors of that very file).
    """
    wanted = f"{os.major(device):02x}:{os.minor(device):02x}:{inode}"
    try:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return "another process"
    for pid in sorted(pids):
        if _holds(pid, (device, inode), wanted):
            command = _command(pid)
            return f"pid {pid} ({command})" if command else f"pid {pid}"
    return "another process"


def _holds(pid: int, key: tuple[int, int], wanted: str) -> bool:
    """Whether process ``pid`` has a descriptor of the file holding an OFD lock or flock on it."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:  # gone, or another user's
        return False
    for fd in fds:
        try:
            info = os.stat(f"/proc/{pid}/fd/{fd}")
            if (info.st_dev, info.st_ino) != key:
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            continue
        for line in lines:
            # "lock:\t1: OFDLCK ADVISORY  WRITE -1 fe:00:2146597 4611686018427387904 ..." ("->" marks a waiter)
            fields = line.split()
            if fields[:1] == ["lock:"] and "->" not in fields and wanted in fields and "WRITE" in fields \
                    and ("OFDLCK" in fields or "FLOCK" in fields):
                return True
    return False


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
