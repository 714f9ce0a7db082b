"""Database URLs as they may be shown: with the password masked, even when the URL is malformed.

A journal URL carries the database password (``postgresql://user:PASSWORD@host/db``). SQLAlchemy
hides it when it can parse the URL, but the URLs worth reporting are the ones it cannot parse
(``host:notaport``), and their parse errors quote them. So the password is found by a pattern
that needs no valid URL, and masked in the URL and in any message that might quote it.
"""

from __future__ import annotations

import re

MASK = "***"

# [scheme://]user:PASSWORD@rest: the password runs to the *last* '@' (one typed unencoded may
# hold '@' or '/'); masking too much of a malformed URL is the safe mistake.
_USERINFO = re.compile(r"^(?P<head>(?:[A-Za-z][\w+.-]*://|(?!.*://))[^:/@]*:)(?P<password>.*)@")


def url_password(url: str) -> str | None:
    """The password written in ``url``, or None (a URL without one, or with an empty one)."""
    found = _USERINFO.match(url)
    return found.group("password") or None if found else None


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***``: safe for errors, logs and reprs."""
    return _USERINFO.sub(lambda m: f"{m.group('head')}{MASK}@" if m.group("password") else m.group(0), url, count=1)


def mask_in(message: str, url: str) -> str:
    """``message`` (an error that may quote ``url`` or parts of it) with ``url``'s password masked."""
    password = url_password(url)
    return message.replace(password, MASK) if password else message


class MaskedUrl(str):
    """A URL whose ``repr`` masks its password: config tables get printed by debuggers,
    tracebacks with locals and test failure reports (``str()`` is the URL itself, to connect)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(mask_url(self))
