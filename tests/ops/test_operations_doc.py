"""docs/operations.md stays true: every metric is in its table with its type and labels, and the
alert rules and the systemd unit name only things that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.parser import text_string_to_metric_families

from botkit.metrics import BreakerCollector, ExactCounter, Metrics

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "operations.md").read_text()
SUFFIX = {"counter": "_total", "gauge": "", "histogram": ""}


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
