"""The framework's exception tree (the client has its own, in :mod:`botkit.client.errors`).

::

    BotkitError
    ├── ConfigError            bad configuration: names the key and the fix (exit status 2)
    ├── PluginError            a strategy could not be loaded or declared bad parameters
    ├── JournalError           the journal cannot be used (locked by another daemon, bad URL, ...)
    │   └── JournalLockLost    a running daemon lost its journal lock: it stops (exit status 1)
    ├── DataFileError          a snapshot file line could not be read (with its line number)
    └── VenueError             what an exchange port reports to the engine
        ├── MarketDataError    the market data of this tick is unusable: skip the tick
        ├── VenueUnavailable   the call certainly had no effect (refused, 429, 5xx on a read)
        ├── OrderRejected      the exchange refused the order or cancel: it certainly did not happen
        └── OutcomeUnknown     the request may or may not have been acted on: resolve by reading
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str], *, cutoff: float = 0.75, ignore_prefix: str = "") -> str:
    """``"did you mean max_position? "`` for a near miss among ``choices``, else ``""``: the start
    of an error's fix, so a typo is answered with its correction. ``ignore_prefix`` is left out of
    the comparison when every choice starts with it (``botkit_`` of the hooks: with it, any
    ``botkit_*`` name would look close to some hook)."""
    names = {choice.removeprefix(ignore_prefix): choice for choice in choices}
    close = difflib.get_close_matches(word.removeprefix(ignore_prefix), list(names), n=1, cutoff=cutoff)
    return f"did you mean {names[close[0]]}? " if close else ""


class BotkitError(Exception):
    """Base of every botkit framework error."""


class ConfigError(BotkitError):
    """A configuration value is missing, of the wrong type or out of range."""

    def __init__(self, key: str, problem: str, fix: str = "") -> None:
        self.key = key
        self.problem = problem
        self.fix = fix
        text = f"config error: {key}: {problem}"
        if fix:
            text += f" ({fix})"
        super().__init__(text)


class PluginError(BotkitError):
    """A strategy plugin could not be loaded or configured."""


class JournalError(BotkitError):
    """The journal database cannot be used."""


class JournalLockLost(JournalError):
    """This daemon no longer holds its journal's one-daemon lock: another daemon may be trading
    the bot now, so this one stops at once, sending nothing and cancelling nothing (exit status 1)."""


class DataFileError(BotkitError):
    """A snapshot file could not be read."""


class VenueError(BotkitError):
    """Base of what an exchange port raises."""


class MarketDataError(VenueError):
    """The market data for this tick is missing or malformed; the tick is skipped."""


class VenueUnavailable(VenueError):
    """The venue could not be reached or refused for now; the request certainly had no effect.

    ``retry_at_ms`` (epoch ms) is set when the venue said when to come back (a 429's
    ``X-Rate-Limit-Reset``); the daemon's circuit breaker waits until then.
    """

    def __init__(self, message: str, *, retry_at_ms: int | None = None) -> None:
        super().__init__(message)
        self.retry_at_ms = retry_at_ms


class OrderRejected(VenueError):
    """The venue refused the request (insufficient funds, bad price, unknown order...)."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class OutcomeUnknown(VenueError):
    """The request may have been carried out; only reading the venue's state can tell."""
