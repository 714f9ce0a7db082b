"""`botkit compare`, as a user gets it: a real paper session on the embedded sandbox
(`botkit run --dry-run --record FILE`), then its replay compared with its journal. Untouched, the
two agree order for order and fill for fill; a journal or a recording tampered with is reported
(exit 1); a recording of another time is refused (exit 2)."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from botkit.backtest.compare import Tolerance
from tests.backtest.commands import botkit_process, invoke, paper_config


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a paper session's config, journal and recording (kept pristine: each test
    tampers with a copy)."""
    folder = tmp_path_factory.mktemp("paper")
    paper_config(folder)
    live = botkit_process("run", "--config", "botkit.toml", "--dry-run", "--record", "rec.jsonl", "--duration", "6",
                   cwd=folder)
    assert live.returncode == 0, live.stderr[-3000:]
    return folder


@pytest.fixture
def copy(session: Path, tmp_path: Path) -> Path:
    for name in ("rec.jsonl", "journal.sqlite"):
        shutil.copy(session / name, tmp_path / name)
    text = (session / "botkit.toml").read_text().replace(str(session), str(tmp_path))
    (tmp_path / "botkit.toml").write_text(text)
    return tmp_path


def _compare(folder: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = invoke("compare", "--config", str(folder / "botkit.toml"), "--paper",
                            "--data", str(folder / "rec.jsonl"), "--format", "json", *extra)
    return code, json.loads(out) if out.strip() else {}, err


def test_an_untouched_paper_session_replays_without_divergence(copy: Path) -> None:
    code, result, err = _compare(copy)
    assert code == 0, err
    summary = result["summary"]
    assert summary["run_orders"] >= 2, "the session placed nothing to compare"
    assert summary["run_orders"] == summary["replay_orders"] == summary["matched_orders"]
    assert summary["run_fills"] == summary["replay_fills"]
    assert summary["snapshots"] == summary["run_ticks"]
    assert result["divergences"] == []
    table_code, table, _ = invoke("compare", "--config", str(copy / "botkit.toml"), "--paper",
                                  "--data", str(copy / "rec.jsonl"))
    assert table_code == 0 and "within tolerance" in table


def test_a_changed_price_and_a_deleted_fill_are_reported(copy: Path) -> None:
    with sqlite3.connect(copy / "journal.sqlite") as db:
        order_id, price = db.execute("SELECT id, price FROM orders WHERE id NOT IN (SELECT order_id FROM fills) "
                                     "ORDER BY id LIMIT 1").fetchone()
        db.execute("UPDATE orders SET price = ? WHERE id = ?", (str(float(price) + 1), order_id))
        filled_order, fill_price = db.execute("SELECT order_id, price FROM fills ORDER BY id LIMIT 1").fetchone()
        db.execute("DELETE FROM fills WHERE order_id = ?", (filled_order,))
    code, result, _ = _compare(copy)
    assert code == 1
    kinds = {(d["kind"], d["run"], d["replay"]) for d in result["divergences"]}
    assert ("price", str(float(price) + 1), price) in kinds
    extra = [d for d in result["divergences"] if d["kind"] == "extra fill"]
    assert extra and f"@ {fill_price} " in extra[0]["replay"]
    assert extra[0]["cause"] == "a fill the model gave that the market did not"
    assert result["summary"]["order_divergences"] >= 1 and result["summary"]["fill_divergences"] >= 1
    # Within a tolerance that accepts them, the same comparison passes.
    summary = result["summary"]
    spec = f"orders={summary['order_divergences']},fills={summary['fill_divergences']}"
    assert _compare(copy, "--tolerance", spec)[0] == 0
    # A price within price_bps of the run's is no divergence (1 USD on ~400 USD is ~25 bps).
    code, loose, _ = _compare(copy, "--tolerance", "price_bps=30,fills=1")
    assert code == 0 and not [d for d in loose["divergences"] if d["kind"] == "price"]


def test_an_exchange_refusal_is_named_as_the_cause(copy: Path) -> None:
    with sqlite3.connect(copy / "journal.sqlite") as db:
        (order_id,) = db.execute("SELECT order_id FROM fills ORDER BY id LIMIT 1").fetchone()
        db.execute("DELETE FROM fills WHERE order_id = ?", (order_id,))
        db.execute("UPDATE orders SET status = 'rejected', error = 'insufficient funds', filled_quantity = '0' "
                   "WHERE id = ?", (order_id,))
    code, result, _ = _compare(copy)
    assert code == 1
    first = result["divergences"][0]
    assert first["kind"] == "refused" and first["run"] == "rejected"
    assert first["cause"] == "exchange refusal: insufficient funds"
    extra = next(d for d in result["divergences"] if d["kind"] == "extra fill")
    assert extra["cause"] == "exchange refusal: insufficient funds"


def test_a_tick_missing_from_the_recording_is_reported(copy: Path) -> None:
    with sqlite3.connect(copy / "journal.sqlite") as db:
        (first_order_ts,) = db.execute("SELECT min(created_at) FROM orders").fetchone()
    lines = (copy / "rec.jsonl").read_text().splitlines(keepends=True)
    kept = [line for line in lines if json.loads(line)["ts"] != first_order_ts]
    assert len(kept) == len(lines) - 1
    (copy / "rec.jsonl").write_text("".join(kept))
    code, result, _ = _compare(copy)
    assert code == 1
    # The replay decides a tick later what the run decided at the missing one: paired by the time
    # window, the orders differ in time.
    late = [d for d in result["divergences"] if d["ts"] == first_order_ts and d["kind"] in ("time", "missing order")]
    assert late, result["divergences"]
    assert all(d["kind"] == "missing order" or "ms apart: another tick" in d["cause"] for d in late)


def test_a_recording_of_another_time_is_refused_in_one_line(copy: Path) -> None:
    text = (copy / "rec.jsonl").read_text()
    shifted = re.sub(r'^\{"ts":(\d+)', lambda m: '{"ts":' + str(int(m.group(1)) + 86_400_000), text, flags=re.M)
    (copy / "rec.jsonl").write_text(shifted)
    code, _, err = _compare(copy)
    assert code == 2
    assert err.count("\n") == 1 and "does not belong to run 1" in err
    # Snapshots within the run's span that are not its own (a millisecond off: another feed's).
    shifted = re.sub(r'^\{"ts":(\d+)', lambda m: '{"ts":' + str(int(m.group(1)) + 1), text, flags=re.M)
    (copy / "rec.jsonl").write_text(shifted)
    code, _, err = _compare(copy)
    assert code == 2
    assert err.count("\n") == 1 and "none of the run's" in err
    code, _, err = _compare(copy, "--run", "7")
    assert code == 2 and "no run 7" in err


def test_a_run_without_journaled_balances_needs_initial(copy: Path) -> None:
    with sqlite3.connect(copy / "journal.sqlite") as db:
        db.execute("DELETE FROM balance_snapshots")
    code, _, err = _compare(copy)
    assert code == 2 and "--initial" in err
    code, result, err = _compare(copy, "--initial", "USD=100000,BTC=10")  # the sandbox's demo account
    assert code == 0, err
    assert result["divergences"] == []


def test_the_tolerance_spec() -> None:
    assert Tolerance.parse("orders=0,fills=2,price_bps=5") == Tolerance(fills=2, price_bps=Decimal(5))
    assert Tolerance.parse("") == Tolerance()
    for bad in ("orders", "speed=1", "fills=-1", "time_ms=1.5", "price_bps=NaN"):
        with pytest.raises(ValueError, match=r"KEY=VALUE|number"):
            Tolerance.parse(bad)


def test_a_bad_tolerance_is_refused(copy: Path) -> None:
    code, _, err = _compare(copy, "--tolerance", "orders=two")
    assert code == 2 and "--tolerance" in err
