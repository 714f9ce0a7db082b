"""The Buttercoin v1 request signature: one function, used by the client to sign and the sandbox
to verify, pinned by the contract's known-answer vector (a symmetric bug would otherwise pass
both sides' round-trip tests).

message = timestamp digits + full URL (+ the raw body for a POST with one);
signature = base64(HMAC-SHA256(key=secret, msg=base64(message))).
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def signature(secret: str, timestamp: int | str, url: str, body: bytes | str = b"") -> str:
    """Return the ``X-Buttercoin-Signature`` value for one request."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    message = str(timestamp).encode("ascii") + url.encode("utf-8") + body
    digest = hmac.new(secret.encode("utf-8"), base64.b64encode(message), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def verify(secret: str, timestamp: int | str, url: str, body: bytes | str, claimed: str) -> bool:
    """Constant-time check of a claimed signature (the sandbox's side of the rule)."""
    return hmac.compare_digest(signature(secret, timestamp, url, body), claimed)
