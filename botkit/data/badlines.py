"""How every snapshot reader reports what it skips: one rule for JSON Lines and the store.

A damaged file may hold millions of bad lines (or a damaged store chunk thousands of records):
the first :data:`MAX_REPORTED` are logged one by one, then the reader only counts them, so the
log says where the damage starts without flooding. A strict reader raises on the first one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from botkit.core.errors import DataFileError

log = logging.getLogger("botkit.backtest")

MAX_REPORTED = 20
"""Bad lines logged one by one before the reader only counts them."""


def skip_or_raise(path: Path, where: str, problem: str, *, strict: bool, reported: int) -> None:
    """Raise ``where: problem`` when ``strict``; else log it (``reported`` skips so far, this one included)."""
    error = DataFileError(f"{where}: {problem}")
    if strict:
        raise error
    if reported <= MAX_REPORTED:
        log.warning("skipped unreadable line: %s", error)
    elif reported == MAX_REPORTED + 1:
        log.warning("%s: more unreadable lines; only counting them from now on", path)
