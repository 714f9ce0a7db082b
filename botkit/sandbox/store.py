"""SQLite persistence: the whole exchange in one file, so a restart continues exactly.

Accounts (keys, secrets, permissions, balances, last accepted timestamp), orders with their
fills (resting ones go back into the book in their original time priority), transactions, the
recent public trades and the counters live in five tables. Each row holds the record's state
as JSON with every amount as a decimal *string*: SQLite has no decimal type and its REAL would
round money.

The exchange records what changed; :meth:`Store.save` writes just those rows in one
transaction. The sandbox saves every second and on stop, so a clean stop loses nothing and a
crash at most the last second.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

from botkit.sandbox.exchange import Exchange, TradeRecord

SCHEMA_VERSION = "1"
TRADES_KEPT = 1000

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
    """The state file cannot be used (another version, or not a sandbox state file)."""


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable sandbox state file: {exc}") from None
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {row[0]}, this botkit reads {SCHEMA_VERSION}")

    def load(self, exchange: Exchange) -> bool:
        """Restore ``exchange`` from the file; False when the file holds no exchange yet."""
        with self._lock:
            db = self._db
            accounts = [json.loads(r[0]) for r in db.execute("SELECT data FROM accounts")]
            if not accounts:
                return False
            orders = [json.loads(r[0]) for r in db.execute("SELECT data FROM orders ORDER BY seq")]
            txs = [json.loads(r[0]) for r in db.execute("SELECT data FROM transactions ORDER BY seq")]
            trades = [
                TradeRecord(seq, ts, price, quantity, bool(taker_buy))
                for seq, ts, price, quantity, taker_buy in db.execute(
                    "SELECT seq, ts, price, quantity, taker_buy FROM trades ORDER BY seq"
                )
            ]
            meta = {k: v for k, v in db.execute("SELECT key, value FROM meta") if k != "schema_version"}
        exchange.restore(accounts, orders, txs, trades, meta)
        return True

    def save(self, exchange: Exchange) -> None:
        """Write what changed since the last save, in one transaction."""
        changes = exchange.take_changes()
        with self._lock:
            db = self._db
            db.execute("BEGIN")
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
                db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()
