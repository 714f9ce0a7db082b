"""Paper trading (`botkit run --dry-run`): live data, simulated fills, and a journal of its own.

Found by a newcomer trial: a second paper session collided with the first's order ids and left
pending rows that blocked the next live run, and paper fills moved the live strategy's position.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from botkit.journal import Journal, queries


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "botkit", "run", "--config", str(tmp_path / "botkit.toml"), *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)


def test_paper_sessions_repeat_and_never_touch_the_live_journal(tmp_path: Path) -> None:
    (tmp_path / "botkit.toml").write_text(f"""
strategy_paths = []
[journal]
url = "sqlite:///{tmp_path / 'journal.sqlite'}"
[engine]
interval_seconds = 0.2
[sandbox]
state_path = "{tmp_path / 'sandbox.sqlite'}"
[strategies.market_maker]
spread_bps = 4
""")
    live = _run(tmp_path, "--duration", "3")
    assert live.returncode == 0, live.stderr[-2000:]
    for _ in range(2):
        paper = _run(tmp_path, "--dry-run", "--duration", "3")
        assert paper.returncode == 0, paper.stderr[-2000:]
        assert "tick failed" not in paper.stderr and "IntegrityError" not in paper.stderr
    live_journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}", "default")
    paper_journal = Journal(f"sqlite:///{tmp_path / 'journal.sqlite'}", "default.paper")
    assert {r.venue for r in queries.runs(live_journal)} == {"sandbox"}  # the embedded one
    assert [r.venue for r in queries.runs(paper_journal)] == ["paper", "paper"]
    paper_orders = queries.orders(paper_journal)
    assert paper_orders and all(o["exchange_order_id"].startswith("paper-") for o in paper_orders)
    assert not [o for o in queries.orders(live_journal) if o["exchange_order_id"].startswith("paper-")]
    assert not [o for o in paper_orders if o["status"] in ("pending", "unknown")]
    live_journal.close()
    paper_journal.close()
    shown = subprocess.run([sys.executable, "-m", "botkit", "journal", "orders", "--paper", "--format", "csv",
                            "--config", str(tmp_path / "botkit.toml")], cwd=tmp_path, capture_output=True,
                           text=True, timeout=60, check=True)
    assert shown.stdout.count("paper-") == len(paper_orders)
