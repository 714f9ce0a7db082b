"""Logging set-up: readable text or one JSON object per line, with secrets redacted.

Redaction is a last line of defence: secrets are kept out of messages by construction (reprs hide
them, errors never carry them), and any registered secret that still reaches a record is replaced
by ``<redacted>`` before it is written.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterable
from typing import Any

REDACTED = "<redacted>"


class RedactSecrets(logging.Filter):
    """Replaces every registered secret in the final message text of each record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = {s for s in secrets if s and len(s) >= 4}

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        text = message
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = logging.Formatter().formatException(record.exc_info)
            if any(s in exc_text for s in self.secrets):
                for secret in self.secrets:
                    exc_text = exc_text.replace(secret, REDACTED)
                record.exc_info = None
                text = f"{text}\n{exc_text}"
        if text != message or record.args:
            record.msg = text
            record.args = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (ISO-8601 UTC), level, logger, message, and exc when any."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False)


def configure(fmt: str = "text", level: str = "INFO", secrets: Iterable[str] = (), stream: Any = None) -> None:
    """Install botkit's handler on the root logger (replacing handlers installed by earlier calls)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactSecrets(secrets))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_botkit", False):
            root.removeHandler(old)
    handler._botkit = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "waitress", "apscheduler.scheduler", "apscheduler.executors.default", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
