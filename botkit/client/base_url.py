"""Checking and normalizing a base URL, and showing one without its password.

A base URL comes from a config file or the environment, and may carry user info
(``https://user:password@host``) or a port that is not one; the error must say what is wrong
without echoing the password into a log or a terminal.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from botkit.client.errors import InvalidEnvironmentError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def masked(url: str) -> str:
    """``url`` with any user info shown as ``***@`` (everything between ``//`` and the last ``@``)."""
    head, sep, tail = url.partition("//")
    if not sep or "@" not in tail:
        return url
    return f"{head}//***@{tail.rsplit('@', 1)[1]}"


def normalize_base_url(url: str) -> str:
    """``scheme://host[:port][/path]`` as the server will rebuild it from the Host header.

    The signature covers the full URL, and a server rebuilds it from the scheme and the Host
    header, which is lower case and omits a default port (``http.client`` sends ``Host:
    127.0.0.1`` for ``http://127.0.0.1:80``). So the client signs that same spelling. Raises
    :class:`InvalidEnvironmentError` saying what is wrong, the URL shown with its user info masked.
    """
    shown = masked(url.strip())
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url.strip()):
        raise InvalidEnvironmentError(f"base URL {shown!r} contains spaces or control characters")
    try:
        parts = urlsplit(url.strip())
        has_userinfo = "@" in parts.netloc
        port = parts.port
    except ValueError as exc:
        reason = str(exc).replace(url.strip(), shown)
        if "@" in url:
            reason = "not a valid URL"
        raise InvalidEnvironmentError(f"base URL {shown!r} has a bad port or host ({reason}); "
                                      "write http(s)://host[:port], port 1-65535") from None
    if has_userinfo:
        raise InvalidEnvironmentError(f"base URL {shown!r} carries user info (user:password@): "
                                      "the API is authenticated by its key and secret; remove it")
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or parts.query or parts.fragment:
        raise InvalidEnvironmentError(
            f"base URL {shown!r} is not an http(s) URL of the form http(s)://host[:port][/path]"
        )
    if port == 0:
        raise InvalidEnvironmentError(f"base URL {shown!r} has port 0; write a port 1-65535")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"
