"""Logging set-up: readable text or one JSON object per line, with secrets redacted.

Redaction is a last line of defence: secrets are kept out of messages by construction (reprs hide
them, errors never carry them), and any registered secret that still reaches a record is replaced
by ``<redacted>`` before it is written.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

from botkit.core.times import iso_ms

REDACTED = "<redacted>"


class Redactor:
    """Replaces every registered secret in a text by ``<redacted>``: for log lines, and for the
    error texts the journal keeps (which another process, ``botkit status``, shows).

    Secrets are also matched in their JSON-escaped form, for the JSON log format.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= 4:
                forms.add(secret)
                forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
        self.forms = sorted(forms, key=len, reverse=True)

    def __repr__(self) -> str:
        return f"Redactor({len(self.forms)} forms)"

    def __call__(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, REDACTED)
        return text


class Redacting(logging.Formatter):
    """Formats with ``inner``, then redacts every registered secret in the text it produced.

    Redacting the output, not the record, leaves the record as it was for every other handler
    (an earlier version rewrote ``record.msg`` in place, which changed what other handlers saw).
    """

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.inner = inner
        self.redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(self.inner.format(record))


def iso_utc(record: logging.LogRecord) -> str:
    """The record's time as ISO 8601 UTC (``2026-12-07T11:09:28.123Z``): the one time format for
    people, whatever the machine's time zone."""
    return iso_ms(int(record.created) * 1000 + int(record.msecs))


class TextFormatter(logging.Formatter):
    """``2026-12-07T11:09:28.123Z INFO    botkit.engine.tick: message`` (and the traceback, if any)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging's name)
        return iso_utc(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (ISO-8601 UTC), level, logger, message, and exc when any."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": iso_utc(record),
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
    inner: logging.Formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    handler.setFormatter(Redacting(inner, secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_botkit", False):
            root.removeHandler(old)
    handler._botkit = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Libraries' chatter (connection pools, the scheduler's job runs, migration set-up) only when
    # the user asks for DEBUG.
    quiet = logging.DEBUG if level == "DEBUG" else max(logging.WARNING, logging.getLevelName(level))
    for noisy in ("urllib3", "waitress", "apscheduler.scheduler", "apscheduler.executors.default", "alembic"):
        logging.getLogger(noisy).setLevel(quiet)
