"""One daemon per journal: the locks that enforce it, and the check that they still hold.

Two daemons on one bot would each reconcile the account as if it were theirs alone: the second
marks the first's run crashed and cancels its orders while the first trades on. So the lock must
follow what is really shared, and a daemon that loses its lock must notice before it sends the
next order (:meth:`JournalLock.check`, called by the daemon every tick), then stop.

- **SQLite**: the exclusive :class:`botkit.core.filelock.FileLock` on the journal file itself (an
  open-file-description lock on one byte far beyond what SQLite locks, ``flock`` where there are
  no such locks). It belongs to the inode, so a symlink or a hard link to the journal reaches the
  same lock, and there is no lock file to delete. The check compares the locked file with what the
  configured path names now: a journal deleted, renamed or replaced under the daemon is a lost lock.
- **PostgreSQL**: a session advisory lock keyed by the bot id, on a connection of its own. The
  server drops it with that connection (``pg_terminate_backend``, a restart, an idle timeout), so
  the check asks ``pg_locks`` on that very connection whether it is still held. A dead connection
  is replaced and the lock taken again only if no other daemon took it meanwhile (nobody holds it
  now and no run of this bot started after ours); otherwise the lock is lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from botkit.core.errors import JournalError, JournalLockLost
from botkit.core.filelock import FileInUse, FileLock, FileLost, LockFailed

log = logging.getLogger("botkit.journal")


class JournalLock(Protocol):
    """A held journal lock."""

    def check(self) -> None:
        """Raise :class:`JournalLockLost` unless the lock is still this daemon's."""

    def release(self) -> None:
        """Let go of the lock (idempotent)."""


class SqliteFileLock:
    """The exclusive lock on one SQLite journal file (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.real_path = path.resolve()
        self._lock: FileLock | None = None

    def acquire(self) -> None:
        try:
            self._lock = FileLock(self.path, mode=0o644)
        except FileInUse:  # another daemon, or another Journal of this process
            raise JournalError(
                f"journal {self.real_path} is in use by another botkit daemon "
                "(stop it, or give this bot its own journal.url)"
            ) from None
        except LockFailed as exc:
            raise JournalError(f"cannot lock journal {self.real_path}: {exc.strerror}") from None
        except OSError as exc:
            raise JournalError(f"cannot open journal {self.real_path}: {exc.strerror}") from None

    def check(self) -> None:
        if self._lock is None or not self._lock.held:
            raise JournalLockLost(f"journal {self.real_path}: the lock was released")
        try:
            self._lock.verify(self.path)  # the path SQLite opens the journal by
        except FileLost as exc:
            if not exc.gone:
                raise JournalLockLost(f"journal {self.path} is no longer the file this daemon locked (deleted, "
                                      "renamed or replaced): stopping without touching its orders") from None
            reason = exc.reason
        except OSError as exc:
            reason = exc.strerror or str(exc)
        else:
            return
        raise JournalLockLost(f"journal {self.real_path} is gone ({reason}); another daemon may "
                              "have started on a new file: stopping without touching its orders")

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None


def advisory_key(bot_id: str) -> int:
    """The PostgreSQL advisory lock key of a bot id (a signed 64-bit number)."""
    return int.from_bytes(hashlib.sha256(f"botkit:{bot_id}".encode()).digest()[:8], "big", signed=True)


RETAKE_WAIT_SECONDS = 2.0
"""How long a daemon whose lock connection died waits to take the lock again (a terminated
backend lets go of it milliseconds after it reports its end; another daemon never does)."""

_LOCK_NOT_AVAILABLE = "55P03"  # lock_timeout expired

# A bigint advisory lock shows in pg_locks as classid = high 32 bits, objid = low 32, objsubid = 1.
_HELD = text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
             "AND pid = pg_backend_pid() AND objsubid = 1 "
             "AND classid::bigint = :hi AND objid::bigint = :lo)")


class PostgresAdvisoryLock:
    """The advisory lock of one bot id on a PostgreSQL journal (see the module docstring).

    ``taken_over`` tells, after the lock connection died, whether another daemon ran this bot
    meanwhile (the journal's runs say so): then the lock is not taken again.
    """

    def __init__(self, engine: Engine, bot_id: str, describe: str, taken_over: Callable[[], bool]) -> None:
        self.engine = engine
        self.bot_id = bot_id
        self.key = advisory_key(bot_id)
        self.describe = describe
        self.taken_over = taken_over
        self._conn: Connection | None = None

    def acquire(self) -> None:
        if not self._try():
            raise JournalError(f"bot {self.bot_id!r} is already running on journal {self.describe} "
                               "(stop it, or set a distinct [bot] id)")

    def _try(self, wait_seconds: float = 0) -> bool:
        """Take the lock on a new connection; wait up to ``wait_seconds`` for a holder to let go."""
        conn = self.engine.connect()
        try:
            if wait_seconds:
                conn.execute(text(f"SET LOCAL lock_timeout = {int(wait_seconds * 1000)}"))
                try:
                    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": self.key})
                    held = True
                except OperationalError as exc:
                    if getattr(exc.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                        raise
                    conn.rollback()
                    held = False
            else:
                held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
            conn.commit()  # not left "idle in transaction" between checks
        except BaseException:
            conn.close()
            raise
        if not held:
            conn.close()
            return False
        self._conn = conn
        return True

    def check(self) -> None:
        lost = f"bot {self.bot_id!r} lost its lock on journal {self.describe}"
        if self._conn is None:
            raise JournalLockLost(f"{lost}: the lock was released")
        try:
            held = self._conn.execute(_HELD, {"hi": (self.key >> 32) & 0xFFFFFFFF,
                                              "lo": self.key & 0xFFFFFFFF}).scalar()
            self._conn.commit()
        except SQLAlchemyError as exc:
            self._drop()
            reason = _first_line(exc)
        else:
            if held:
                return
            self._drop()
            reason = "the server no longer holds it"
        # The connection (and the lock with it) is gone. Take it again only if nobody else has. A
        # terminated backend reports its end before it lets go of its locks: wait that out briefly.
        try:
            if not self._try(RETAKE_WAIT_SECONDS):
                raise JournalLockLost(f"{lost} ({reason}) and another daemon holds it now: stopping without "
                                      "touching its orders")
            if self.taken_over():
                self.release()
                raise JournalLockLost(f"{lost} ({reason}) and another daemon ran this bot meanwhile: stopping "
                                      "without touching its orders")
        except SQLAlchemyError as exc:
            raise JournalLockLost(f"{lost} ({reason}) and cannot take it again ({_first_line(exc)}): "
                                  "stopping") from None
        log.warning("%s (%s); took it again on a new connection (no other daemon had it)", lost, reason)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):  # closed for real: a pooled one keeps its session lock
                conn.invalidate()
                conn.close()

    def release(self) -> None:
        if self._conn is not None:
            # Unlocked before the call returns, not whenever the server reaps the session.
            with contextlib.suppress(SQLAlchemyError):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            self._drop()


def _first_line(exc: BaseException) -> str:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return message[:200]
