"""SQLite persistence: the whole exchange in one file, so a restart continues exactly.

Accounts (keys, secrets, permissions, balances, last accepted timestamp), orders with their
fills (resting ones go back into the book in their original time priority), transactions, the
recent public trades and the counters live in five tables. Each row holds the record's state
as JSON with every amount as a decimal *string*: SQLite has no decimal type and its REAL would
round money.

The exchange records what changed; :meth:`Store.save` writes just those rows in one
transaction. The sandbox saves every second and on stop, so a clean stop loses nothing and a
crash at most the last second.

A save that fails (disk full, "database is locked" while a backup tool holds the file, an I/O
error) keeps its rows: the next save merges what changed since into them and writes the lot, so
the file always holds one consistent moment of the exchange (money conserved) and nothing is
dropped. Failures and the recovery are logged and counted (:meth:`Store.status`, shown in
``/admin/stats``).

The file holds account secrets: it is created 0600 (SQLite gives its ``-wal``, ``-shm`` and
``-journal`` the same mode) and a wider existing one is tightened with a warning. One sandbox at
a time owns it (a :class:`botkit.core.filelock.FileLock` on the real file). A file that is not a
sandbox state file (another SQLite database, random bytes, a truncated copy) is refused with one
line naming it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

from botkit.core.filelock import FileInUse, FileLock, FileLost
from botkit.sandbox.exchange import ChangeSet, Exchange, TradeRecord

log = logging.getLogger("botkit.sandbox")

SCHEMA_VERSION = "1"
TRADES_KEPT = 1000
TABLES = ("meta", "accounts", "orders", "transactions", "trades")
SIBLINGS = ("-wal", "-shm", "-journal")
BUSY_TIMEOUT_SECONDS = 5.0
"""How long a save waits for another connection's lock (a backup) before it counts as failed."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (key TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY, account TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS transactions (
    transaction_id TEXT PRIMARY KEY, account TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS trades (
    seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, price INTEGER NOT NULL,
    quantity INTEGER NOT NULL, taker_buy INTEGER NOT NULL
);
"""


class StoreError(Exception):
    """The state file cannot be used (held by another sandbox, another version, or not a
    sandbox state file); the message is one line naming the file."""


class Store:
    """The state file, owned (locked) from construction to :meth:`close`.

    ``pending`` is what an earlier store of the same file could not save (:meth:`unsaved`).
    """

    def __init__(self, path: str | Path, *, pending: ChangeSet | None = None,
                 busy_timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = Path(path)
        self.real_path = Path(os.path.realpath(self.path))
        self.name = str(self.path) if self.real_path == self.path.absolute() else f"{self.path} (= {self.real_path})"
        self._lock = threading.Lock()
        self._pending = pending
        self._saved_meta: dict[str, str] = {}
        self.saves = 0
        self.save_failures = 0
        self.failures_in_a_row = 0
        self.unsaved_changes = 0 if pending is None else pending.rows + 1
        """Rows (and the counters row) the next save must write; 0 once all is written."""
        self.last_save_error: str | None = None
        try:
            self._file_lock = FileLock(self.real_path)
        except FileInUse as exc:
            raise StoreError(f"sandbox state file {self.name} is in use by {exc.holder}; stop that process or "
                             "use another state file") from None
        except OSError as exc:
            raise StoreError(f"cannot open sandbox state file {self.name}: {exc.strerror or exc}") from None
        try:
            self._db = self._open(busy_timeout)
            _make_private(self.real_path, self.name)  # once it is known to be ours
        except BaseException:
            self._file_lock.release()
            raise

    def _open(self, busy_timeout: float) -> sqlite3.Connection:
        """Connect, and check the file is a whole sandbox state file of this version (or empty)."""
        db = sqlite3.connect(self.real_path, check_same_thread=False, isolation_level=None, timeout=busy_timeout)
        try:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables:
                self._check(db, tables)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if not tables:  # a new file: the schema and its version in one transaction
                db.execute("BEGIN")
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
                db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(f"{self.name} is not a usable sandbox state file ({exc}); "
                             "move it away to start a fresh sandbox") from None
        except BaseException:
            db.close()
            raise
        return db

    def _check(self, db: sqlite3.Connection, tables: set[str]) -> None:
        missing = [t for t in TABLES if t not in tables]
        if missing:
            raise StoreError(f"{self.name} is not a sandbox state file (it is an SQLite database without the "
                             f"{', '.join(missing)} table{'s' if len(missing) > 1 else ''}); "
                             "give --state / [sandbox] state_path a file of its own")
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            raise StoreError(f"{self.name} is not a sandbox state file (no schema version); "
                             "give --state / [sandbox] state_path a file of its own")
        if row[0] != SCHEMA_VERSION:
            raise StoreError(f"{self.name} has schema version {row[0]}, this botkit reads {SCHEMA_VERSION}")
        problem = db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if problem != "ok":
            raise StoreError(f"{self.name} is damaged ({problem}); restore a backup or move it away "
                             "to start a fresh sandbox")

    def load(self, exchange: Exchange) -> bool:
        """Restore ``exchange`` from the file; False when the file holds no exchange yet."""
        with self._lock:
            try:
                rows = self._read()
                if rows is None:
                    return False
                exchange.restore(*rows)
            except (sqlite3.DatabaseError, ValueError, KeyError, TypeError, ArithmeticError) as exc:
                raise StoreError(f"{self.name} cannot be read ({type(exc).__name__}: {exc}); restore a backup "
                                 "or move it away to start a fresh sandbox") from None
        return True

    def _read(self) -> tuple[list[Any], list[Any], list[Any], list[TradeRecord], dict[str, str]] | None:
        db = self._db
        accounts = [json.loads(r[0]) for r in db.execute("SELECT data FROM accounts")]
        if not accounts:
            return None
        orders = [json.loads(r[0]) for r in db.execute("SELECT data FROM orders ORDER BY seq")]
        txs = [json.loads(r[0]) for r in db.execute("SELECT data FROM transactions ORDER BY seq")]
        trades = [
            TradeRecord(seq, ts, price, quantity, bool(taker_buy))
            for seq, ts, price, quantity, taker_buy in db.execute(
                "SELECT seq, ts, price, quantity, taker_buy FROM trades ORDER BY seq"
            )
        ]
        meta = {k: v for k, v in db.execute("SELECT key, value FROM meta") if k != "schema_version"}
        return accounts, orders, txs, trades, meta

    def save(self, exchange: Exchange) -> bool:
        """Write what changed since the last successful save, in one transaction.

        False when the write failed: the rows are kept, merged with later changes and written
        by the next save, and the failure is logged and counted.
        """
        with self._lock:
            changes = exchange.take_changes()
            pending = changes if self._pending is None else self._pending.merged(changes)
            if pending.trades and len(pending.trades) > TRADES_KEPT:
                pending.trades = pending.trades[-TRADES_KEPT:]  # older ones the write would delete
            self._pending = pending
            if not pending.rows and pending.meta == self._saved_meta:
                self._pending = None
                return True
            try:
                self._verify()
                self._write(pending)
            except (sqlite3.Error, OSError) as exc:
                self.save_failures += 1
                self.failures_in_a_row += 1
                self.unsaved_changes = pending.rows + int(pending.meta != self._saved_meta)
                self.last_save_error = f"{type(exc).__name__}: {exc}"
                log.warning("saving the sandbox state to %s failed (%s); %d changes kept for the next save "
                            "(%d failed in a row)", self.name, exc, self.unsaved_changes, self.failures_in_a_row)
                return False
            self._pending = None
            self._saved_meta = pending.meta
            self.saves += 1
            self.unsaved_changes = 0
            if self.failures_in_a_row:
                log.warning("saved the sandbox state to %s again after %d failed saves; nothing was lost",
                            self.name, self.failures_in_a_row)
                self.failures_in_a_row = 0
            return True

    def _verify(self) -> None:
        """Raise :class:`FileLost` unless the path still names the held file. A file deleted or
        replaced under a running sandbox would take its saves nowhere, while a new sandbox could
        start on the path."""
        try:
            self._file_lock.verify()
        except FileLost as exc:
            happened = "was deleted" if exc.gone else "was replaced by another file"
            raise FileLost(exc.path, gone=exc.gone, strerror=exc.reason,
                           message=f"sandbox state file {self.name} {happened} while in use; "
                                   "the changes stay in memory") from None

    def _write(self, changes: ChangeSet) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "INSERT OR REPLACE INTO accounts VALUES (?, ?)",
                [(a["key"], json.dumps(a)) for a in changes.accounts],
            )
            db.executemany(
                "INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?)",
                [(o["orderId"], o["key"], o["seq"], json.dumps(o)) for o in changes.orders],
            )
            db.executemany("DELETE FROM orders WHERE order_id = ?", [(i,) for i in changes.deleted_orders])
            db.executemany(
                "INSERT OR REPLACE INTO transactions VALUES (?, ?, ?, ?)",
                [(t["transactionId"], t["key"], t["seq"], json.dumps(t)) for t in changes.transactions],
            )
            db.executemany(
                "INSERT OR REPLACE INTO trades VALUES (?, ?, ?, ?, ?)",
                [(t.seq, t.ts, t.price, t.quantity, int(t.taker_buy)) for t in changes.trades],
            )
            if changes.trades:
                newest = changes.trades[-1].seq
                db.execute("DELETE FROM trades WHERE seq <= ?", (newest - TRADES_KEPT,))
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(changes.meta.items()))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may already have rolled back (a full disk, an I/O error)
                with contextlib.suppress(sqlite3.Error):  # the error being raised says what went wrong
                    db.execute("ROLLBACK")
            raise

    def unsaved(self) -> ChangeSet | None:
        """What the last save could not write (for a store opened later on the same file)."""
        with self._lock:
            return self._pending

    def status(self) -> dict[str, Any]:
        """The save counters, for ``/admin/stats`` and the log."""
        return {
            "path": str(self.real_path),
            "saves": self.saves,
            "save_failures": self.save_failures,
            "failures_in_a_row": self.failures_in_a_row,
            "unsaved_changes": self.unsaved_changes,
            "last_save_error": self.last_save_error,
        }

    def close(self) -> None:
        """Close the database, then give up the file (the lock must outlive every handle)."""
        with self._lock:
            self._db.close()
            self._file_lock.release()


def _make_private(path: Path, name: str) -> None:
    """Owner-only modes for the state file and its SQLite siblings: they hold account secrets."""
    for candidate in (path, *(path.with_name(path.name + suffix) for suffix in SIBLINGS)):
        try:
            mode = stat.S_IMODE(os.stat(candidate).st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            shown = name if candidate == path else str(candidate)
            try:
                os.chmod(candidate, mode & 0o700)
            except OSError as exc:
                log.warning("%s is readable by others (mode %o) and holds account secrets, but cannot be "
                            "made private (%s): chmod 600 it", shown, mode, exc.strerror)
                continue
            log.warning("%s was readable by others (mode %o): it holds account secrets, now %o",
                        shown, mode, mode & 0o700)
