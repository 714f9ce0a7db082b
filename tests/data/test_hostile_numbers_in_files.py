"""Hostile numbers in snapshot files: each is a line error naming the file, line and field, found
before any arithmetic (``1e-40000000`` once made ``data check``/``convert`` run for minutes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from botkit.cli import main
from botkit.core.errors import DataFileError
from botkit.data import JsonlReader, StoreReader, convert
from botkit.data.jsonl import check_snapshot

GOOD = (
    '{"ts":@TS,"ticker":{"currency":"USD","last":@LAST,"bid":403.98,"ask":404.22},'
    '"orderbook":{"bid":[{"price":@BID,"quantity":1.5},{"price":403.9,"quantity":@QTY}],'
    '"ask":[{"price":404.22,"quantity":0.25}],"price_currency":"USD","quantity_currency":"BTC"},'
    '"trades":[{"spent":@SPENT,"spentCurrency":"BTC","earned":8.0824,"earnedCurrency":"USD","timestamp":990}]}'
)
DEFAULTS = {"LAST": "404.12", "BID": "403.98", "QTY": "2", "SPENT": "0.02"}
FIELDS = {"LAST": "ticker.last", "BID": "orderbook.bid[0].price", "QTY": "orderbook.bid", "SPENT": "trades[0].spent"}
HOSTILE = ["1e-40000000", "1E+40000000", "1" + "0" * 5000]


def line(ts: int, **values: str) -> str:
    text = GOOD.replace("@TS", str(ts))
    for name, default in DEFAULTS.items():
        text = text.replace("@" + name, values.get(name, default))
    return text


def recording(path: Path, slot: str, number: str) -> Path:
    """Three lines; the second carries the hostile number in ``slot``."""
    path.write_text("\n".join([line(1000), line(2000, **{slot: number}), line(3000)]) + "\n")
    return path


@pytest.mark.parametrize("number", HOSTILE, ids=["tiny", "huge", "5000-digits"])
@pytest.mark.parametrize("slot", list(FIELDS))
def test_data_check_names_the_line_and_field(tmp_path: Path, slot: str, number: str) -> None:
    data = recording(tmp_path / "rec.jsonl", slot, number)
    result = CliRunner().invoke(main, ["data", "check", str(data)], catch_exceptions=False)
    text = result.stdout + result.stderr
    assert result.exit_code == 1, text
    assert f"{data}:2: " in text
    assert FIELDS[slot] in text
    assert "2 good snapshot(s), 1 bad" in result.stdout
    assert "Traceback" not in text


@pytest.mark.parametrize("number", HOSTILE, ids=["tiny", "huge", "5000-digits"])
@pytest.mark.parametrize("slot", list(FIELDS))
def test_building_a_hostile_line_raises_a_line_error(tmp_path: Path, slot: str, number: str) -> None:
    data = recording(tmp_path / "rec.jsonl", slot, number)
    errors = []
    for snapshot in JsonlReader(data):
        try:
            check_snapshot(snapshot)
        except DataFileError as exc:
            errors.append(str(exc))
    reader = JsonlReader(data, strict=True)
    try:
        for snapshot in reader:
            check_snapshot(snapshot)
    except DataFileError as exc:
        errors.append(str(exc))
    assert len(errors) in (1, 2)  # the best bid is checked while reading (a skipped line), others when built
    assert all(e.startswith(f"{data}:2: ") and len(e) < 300 for e in errors), errors


@pytest.mark.parametrize("number", HOSTILE, ids=["tiny", "huge", "5000-digits"])
@pytest.mark.parametrize("slot", list(FIELDS))
def test_converting_to_the_store_skips_the_line_or_names_it_when_strict(
    tmp_path: Path, slot: str, number: str, caplog: pytest.LogCaptureFixture
) -> None:
    data = recording(tmp_path / "rec.jsonl", slot, number)
    store = tmp_path / "rec.bks"
    result = convert(data, store)
    assert result.bad_lines == 1
    assert [s.ts for s in StoreReader(store)] == [1000, 3000]
    assert f"{data}:2: " in caplog.text
    with pytest.raises(DataFileError, match=re.escape(f"{data}:2: {FIELDS[slot][:8]}")):
        convert(data, tmp_path / "strict.bks", strict=True)
    assert not (tmp_path / "strict.bks").exists()
