"""``botkit journal orders|fills|pnl``: filters, one money rule and one time format for people,
exact values and epoch milliseconds for programs, and reading never creates a journal."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from botkit.cli import main
from botkit.core.output import money
from botkit.journal import Journal
from botkit.model import Fill, Liquidity, Order, OrderStatus, OrderType, Side

DAY = 86_400_000
T0 = 1_796_601_600_000  # 2026-12-07T00:00:00Z


def _journal(tmp_path: Path) -> Path:
    """Two strategies, three filled orders a day apart, with a fee of many digits."""
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    journal = Journal(url, "default")
    run = journal.begin_run("live", T0)
    for i, (strategy, side) in enumerate([("mm", Side.BUY), ("trend", Side.BUY), ("mm", Side.SELL)]):
        ts = T0 + i * DAY
        record = journal.record_pending(run, "live", strategy, "", side, "limit", Decimal("400.105"),
                                        Decimal("0.05"), ts)
        journal.bind(record, f"ex-{i}", ts + 1)
        fill = Fill(f"ex-{i}", Decimal("400.105"), Decimal("0.05"), Decimal("0.0079936"), Liquidity.MAKER,
                    ts + 2, 0)
        order = Order(f"ex-{i}", side, OrderType.LIMIT, OrderStatus.FILLED, Decimal("400.105"), Decimal("0.05"),
                      Decimal("0.05"), created_ts=ts, fees=Decimal("0.0079936"), fills=(fill,))
        journal.apply(record, order, run, ts + 3)
    journal.close()
    config = tmp_path / "botkit.toml"
    config.write_text(f'[journal]\nurl = "{url}"\n')
    return config


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return _journal(tmp_path)


def test_tables_show_money_to_the_unit_and_iso_times_only(config: Path) -> None:
    code, out = _run("journal", "fills", "--config", str(config))
    assert code == 0, out
    header = out.splitlines()[0].split()
    assert "time" in header and "ts" not in header
    assert "2026-12-07T00:00:00.002Z" in out
    assert "0.01 " in out and "0.0079936" not in out  # the fee, to the cent
    assert "0.05000000" in out and "400.10 " in out  # satoshis; a price to the cent (half-even)
    code, out = _run("journal", "orders", "--config", str(config))
    assert "created_ts" not in out and "2026-12-08T00:00:00.000Z" in out


def test_json_and_csv_keep_exact_values_and_epoch_ms_next_to_the_iso_time(config: Path) -> None:
    code, out = _run("journal", "fills", "--format", "json", "--config", str(config))
    assert code == 0, out
    rows = json.loads(out)
    assert rows[0]["fee"] == 0.0079936 and rows[0]["price"] == 400.105
    assert rows[0]["ts"] == T0 + 2 and rows[0]["time"] == "2026-12-07T00:00:00.002Z"
    code, out = _run("journal", "orders", "--format", "csv", "--config", str(config))
    assert code == 0, out
    first = next(csv.DictReader(io.StringIO(out)))
    assert first["created_ts"] == str(T0) and first["created_at"] == "2026-12-07T00:00:00.000Z"
    assert first["fees"] == "0.0079936"


def test_strategy_since_and_limit_filter_the_rows(config: Path) -> None:
    def ids(*extra: str) -> list[str]:
        code, out = _run("journal", "orders", "--format", "json", "--config", str(config), *extra)
        assert code == 0, out
        return [row["exchange_order_id"] for row in json.loads(out)]

    assert ids() == ["ex-0", "ex-1", "ex-2"]
    assert ids("--strategy", "mm") == ["ex-0", "ex-2"]
    assert ids("--since", "2026-12-08") == ["ex-1", "ex-2"]
    assert ids("--since", "2026-12-08T00:00:00.001Z") == ["ex-2"]
    assert ids("--limit", "2") == ["ex-1", "ex-2"]  # the newest two, oldest first
    assert ids("--strategy", "mm", "--limit", "1") == ["ex-2"]
    code, out = _run("journal", "pnl", "--format", "json", "--strategy", "trend", "--config", str(config))
    assert code == 0, out
    assert [row["strategy"] for row in json.loads(out)] == ["trend"]


def test_a_bad_since_names_the_option(config: Path) -> None:
    code, out = _run("journal", "fills", "--since", "yesterday", "--config", str(config))
    assert code == 2 and "--since" in out and "7d" in out


def test_reading_an_empty_folder_creates_no_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a newcomer: `botkit journal orders` in an empty folder created a journal, and then
    `botkit status` said there were no bots instead of that there was no journal."""
    monkeypatch.chdir(tmp_path)
    for what in ("orders", "fills", "pnl"):
        code, out = _run("journal", what)
        assert code == 2 and "no journal at" in out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("value", "currency", "shown"), [
    (Decimal("-0.043811466666666666666666666"), "USD", "-0.04"),
    (Decimal("0.0079936"), "USD", "0.01"),
    (Decimal("0.005"), "USD", "0.00"),  # half-even: to the even cent
    (Decimal("0.015"), "USD", "0.02"),
    (Decimal("-0.001"), "USD", "0.00"),  # no negative zero
    (Decimal("-0.05"), "BTC", "-0.05000000"),
    (Decimal("1E+3"), "USD", "1000.00"),
    (None, "USD", "-"),
])
def test_one_money_rule(value: Decimal | None, currency: str, shown: str) -> None:
    assert money(value, currency) == shown


def test_pnl_volume_is_usd_to_the_cent(config: Path) -> None:
    """Found by a newcomer: the traded volume (USD notional) was shown with BTC's 8 places."""
    code, out = _run("journal", "pnl", "--strategy", "mm", "--config", str(config))
    assert code == 0, out
    header, _rule, row = out.splitlines()[:3]
    volume = row.split()[header.split().index("volume")]
    assert volume == "40.01"  # 2 fills x 0.05 BTC x 400.105 = 40.0105, half-even to the cent
