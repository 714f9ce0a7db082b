"""Log output: secrets redacted in what is written, records left alone for other handlers."""

from __future__ import annotations

import io
import json
import logging

import pytest

from botkit.core import logs


def _emit(fmt: str, secret: str, message: str, *args: object) -> tuple[str, logging.LogRecord]:
    stream = io.StringIO()
    logs.configure(fmt, "INFO", [secret], stream=stream)
    seen: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    keeper = Keep()
    logger = logging.getLogger("botkit.test_logs")
    logger.addHandler(keeper)
    try:
        logger.warning(message, *args)
    finally:
        logger.removeHandler(keeper)
    return stream.getvalue(), seen[0]


def test_text_output_is_redacted_and_the_record_is_untouched() -> None:
    """Caught by the full suite: redaction rewrote the record in place, so another handler (a test's
    capture) saw a different message depending on what ran before."""
    out, record = _emit("text", "sync-secret", "order %s failed with sync-secret", "42")
    assert "sync-secret" not in out and "<redacted>" in out
    assert record.getMessage() == "order 42 failed with sync-secret"


def test_json_output_is_redacted_even_when_escaped() -> None:
    secret = 'quote"back\\slash'
    out, _record = _emit("json", secret, "leaked %s", secret)
    line = json.loads(out.strip())
    assert secret not in line["message"] and "<redacted>" in line["message"]


def test_exceptions_are_redacted_too() -> None:
    stream = io.StringIO()
    logs.configure("text", "INFO", ["exc-secret-1"], stream=stream)
    try:
        raise RuntimeError("boom exc-secret-1")
    except RuntimeError:
        logging.getLogger("botkit.test_logs").exception("failed")
    assert "exc-secret-1" not in stream.getvalue() and "boom <redacted>" in stream.getvalue()


def test_text_lines_carry_iso_utc_times_whatever_the_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a newcomer: text log lines read `2026-12-07 12:16:41,193` in the machine's zone."""
    import re
    import time

    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        text, record = _emit("text", "s3cr3t", "hello")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    assert re.match(rf"{stamp}\.\d{{3}}Z WARNING botkit\.test_logs: hello$", text.strip()), text
