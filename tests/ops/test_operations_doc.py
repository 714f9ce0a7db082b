"""docs/operations.md stays true: every metric is in its table with its type and labels, the
alert rules and the systemd unit name only things that exist, and the health check's unit does
what the page says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.parser import text_string_to_metric_families

from botkit.daemon.metrics import BreakerCollector, ExactCounter, Metrics
from botkit.journal import Journal
from botkit.strategy.health import StrategyHealth

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text()
SUFFIX = {"counter": "_total", "gauge": "", "histogram": ""}
DAY_MS = 86_400_000


def _families() -> dict[str, tuple[str, list[str]]]:
    """Every botkit metric: {exposed name: (type, label names)}, from the attributes of Metrics."""
    result = {}
    for value in vars(Metrics(process_metrics=False)).values():
        if isinstance(value, BreakerCollector):
            result.update({name: (kind, ["bot"]) for name, kind in value.FAMILIES})
        elif isinstance(value, ExactCounter):
            result[value.name] = ("counter", list(value.labelnames))
        elif isinstance(value, Counter | Gauge | Histogram):
            kind = value._type  # prometheus_client keeps these two private
            result[value._name + SUFFIX[kind]] = (kind, list(value._labelnames))
    return result


FAMILIES = _families()
ROWS = {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(
    r"^\| `(botkit_\w+)` \| (\w+) \| ([\w, ]+) \|", DOC, re.MULTILINE)}


def test_the_table_lists_every_metric_and_nothing_else() -> None:
    assert set(ROWS) == set(FAMILIES)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_each_metric_row_has_its_type_and_labels(name: str) -> None:
    kind, labels = FAMILIES[name]
    assert ROWS[name] == (kind, ", ".join(labels))


def test_the_alert_rules_use_real_series() -> None:
    block = DOC.split("# botkit-alerts.yml", 1)[1].split("```", 1)[0]
    used = set(re.findall(r"botkit_\w+", block))
    assert used
    series = set()
    for name, (kind, _) in FAMILIES.items():
        series |= {name, f"{name}_bucket", f"{name}_count", f"{name}_sum"} if kind == "histogram" else {name}
    assert used <= series


def test_the_exposition_parses_with_the_reference_parser() -> None:
    families = list(text_string_to_metric_families(Metrics().render().decode()))
    assert any(f.name == "process_cpu_seconds" for f in families)


def test_the_units_commands_exist() -> None:
    for command in re.findall(r"/opt/botkit/bin/botkit (\w+)", DOC):
        assert command in ("run", "status"), command
    assert "--bot %i" in DOC and "KillSignal=SIGTERM" in DOC and "Restart=on-failure" in DOC


def test_the_health_check_restarts_a_stale_bot_and_leaves_a_degraded_one_alone(tmp_path: Path) -> None:
    """The unit's ExecStart line, as systemd runs it (``%i`` and ``$$`` expanded), with a stand-in
    ``systemctl`` that records what it is asked: restart on 1 (and 2), never on 3."""
    line = re.search(r"^ExecStart=/bin/sh -c '(.*botkit status.*)'$", DOC, re.MULTILINE)
    assert line is not None
    now = time.time_ns() // 1_000_000
    url = f"sqlite:///{tmp_path / 'journal.sqlite'}"
    bots = {name: Journal(url, name) for name in ("ok", "sick", "gone")}
    for name, journal in bots.items():  # ok ticks; sick ticks, its one strategy paused; gone fell silent
        run = journal.begin_run("live", now - DAY_MS if name == "gone" else now)
        health = StrategyHealth("mm", "paused", "paused after 5 consecutive failures", 5, "boom") \
            if name == "sick" else StrategyHealth("mm", "active", None, 0, None)
        journal.begin_health(run, now, [health])
        if name != "gone":
            journal.heartbeat(run, now, 10, None, Decimal(0))
        journal.close()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "systemctl"
    stub.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "systemctl.calls"}\n')
    stub.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def check(bot: str) -> tuple[int, list[str]]:
        (tmp_path / f"{bot}.toml").write_text(f'[journal]\nurl = "{url}"\n[engine]\ninterval_seconds = 3600\n')
        command = (line.group(1).replace("$$", "$").replace("/opt/botkit/bin/botkit", f"{sys.executable} -m botkit")
                   .replace("/etc/botkit/", f"{tmp_path}/").replace("%i", bot))
        calls = tmp_path / "systemctl.calls"
        calls.unlink(missing_ok=True)
        done = subprocess.run(["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=60,
                              check=False)
        return done.returncode, calls.read_text().splitlines() if calls.exists() else []

    assert check("ok") == (0, [])
    assert check("sick") == (3, [])  # degraded: the unit fails, the bot is not restarted
    assert check("gone") == (1, ["restart botkit@gone.service"])
    assert check("nosuch") == (2, ["restart botkit@nosuch.service"])  # `--bot` unknown: as before, a restart
