"""Scenario 5: bad config and files. A mistake stops botkit with one line that names it.

Every key of ``botkit.config.SCHEMA`` and ``TOP_LEVEL`` is given each wrong type and each wrong
value its kind allows; ``botkit run --config`` must answer with exactly one line on stderr naming
the key, exit status 2, and nothing touched (no journal, no embedded sandbox). Most cases run in
process through click's CliRunner; a few run as real subprocesses, as a user would. Then the files
botkit reads: a secret file readable by others (used, with a warning naming ``chmod 600``, the
secret itself never shown), and snapshot files with unreadable lines, which a backtest reports by
line number and skips, or stops at with ``--strict``.
"""

from __future__ import annotations

import gzip
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from botkit import config as config_mod
from botkit.backtest.sample import SAMPLE
from botkit.cli import main
from botkit.config import SCHEMA, TOP_LEVEL, Key
from tests.client.contract_server import KEY, SECRET, ContractServer
from tests.reliability.conftest import Figures

D = Decimal


# ---------------------------------------------------------------------- wrong values, by kind


def wrong_values(path: str, spec: Key) -> list[tuple[str, str]]:
    """(TOML value text, words the error must contain) for each wrong type and value of a key."""
    kind = spec.kind
    cases: list[tuple[str, str]] = []
    if kind in ("str", "choice"):
        cases += [("5", "expected a string"), ('["a"]', "expected a string"), ("true", "expected a string")]
    if kind == "choice":
        cases += [('"bogus"', "is not one of")]
    if kind == "bool":
        cases += [('"yes"', "expected true or false"), ("1", "expected true or false")]
    if kind == "int":
        cases += [('"5"', "expected a whole number"), ("1.5", "expected a whole number"),
                  ("true", "expected a whole number")]
    if kind in ("decimal", "seconds"):
        cases += [('"many"', "expected a number"), ("true", "expected a number"), ("[1]", "expected a number"),
                  ("nan", "finite"), ("inf", "finite"), ('"-Infinity"', "finite")]
    if kind == "list[str]":
        cases += [('"strategies"', "expected a list of strings"), ("[1, 2]", "expected a list of strings")]
    if spec.minimum is not None and kind in ("int", "decimal", "seconds"):
        below = spec.minimum - (1 if kind == "int" else D("0.001"))
        allowed = "at least" if spec.maximum is None else f"from {spec.minimum} to {spec.maximum}"
        cases += [(str(below), f"must be {allowed}")]
    if spec.maximum is not None:
        cases += [(str(spec.maximum + 1), f"to {spec.maximum}"), ("1e400", f"to {spec.maximum}")]
    cases += SEMANTIC.get(path, [])
    return cases


SEMANTIC: dict[str, list[tuple[str, str]]] = {
    "exchange.base_url": [('"ftp://example.com"', "not an http(s) URL"),
                          ('"http://127.0.0.1:99999"', "bad port"), ('"http://127.0.0.1:0"', "port 0"),
                          ('"http://user:pw@127.0.0.1:8765"', "***@127.0.0.1:8765' carries user info")],
    "journal.url": [('"journal.sqlite"', "not a SQLAlchemy URL")],
    "exchange.secret_file": [('"no-such-file.secret"', "cannot read"), ('"."', "cannot read")],
}

ALL_KEYS: list[tuple[str, str | None, Key]] = [
    *((section, key, spec) for section, keys in SCHEMA.items() for key, spec in keys.items()),
    *((key, None, spec) for key, spec in TOP_LEVEL.items()),
]
CASES = [(f"{s}.{k}" if k else s, s, k, text, words)
         for s, k, spec in ALL_KEYS for text, words in wrong_values(f"{s}.{k}" if k else s, spec)]


def toml_for(section: str, key: str | None, text: str) -> str:
    return f"{section} = {text}\n" if key is None else f"[{section}]\n{key} = {text}\n"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, and none of the user's BUTTERCOIN_* variables."""
    for name in ("BUTTERCOIN_API_KEY", "BUTTERCOIN_API_SECRET", "BUTTERCOIN_BASE_URL", "BUTTERCOIN_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def tally() -> Iterator[Figures]:
    fig = Figures("bad_config_and_files")
    fig.values = {"config_cases": 0, "keys_covered": 0, "subprocess_cases": 0, "bad_snapshot_lines": 0}
    yield fig
    fig.save()


def run_cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def one_line_error(result: Result, *words: str) -> str:
    """The run stopped with status 2 and exactly one stderr line containing every word."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, (result.exit_code, result.stderr, result.stdout)
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


# ---------------------------------------------------------------------- config


def test_every_key_is_covered() -> None:
    """Each key of the schema has at least two wrong values here (a new key cannot be missed)."""
    for section, key, _spec in ALL_KEYS:
        name = f"{section}.{key}" if key else section
        assert sum(1 for c in CASES if c[0] == name) >= 2, name


@pytest.mark.parametrize(("name", "section", "key", "text", "words"), CASES,
                         ids=[f"{c[0]}={c[3]}" for c in CASES])
def test_a_wrong_value_stops_botkit_run_with_one_line_naming_the_key(
        workdir: Path, tally: Figures, name: str, section: str, key: str | None, text: str, words: str) -> None:
    config = workdir / "botkit.toml"
    config.write_text(toml_for(section, key, text))
    line = one_line_error(run_cli("run", "--config", str(config)), f"config error: {name}:", words)
    assert line.startswith("botkit: config error:")
    assert not (workdir / "botkit-data").exists(), "the embedded sandbox or the journal was touched"
    tally.add("config_cases")
    if text == CASES[[c[0] for c in CASES].index(name)][3]:
        tally.add("keys_covered")


def test_a_secret_of_the_wrong_type_is_not_echoed(workdir: Path) -> None:
    config = workdir / "botkit.toml"
    config.write_text("[exchange]\napi_secret = 987654321987\n")
    line = one_line_error(run_cli("run", "--config", str(config)), "exchange.api_secret", "<hidden>")
    assert "987654321987" not in line


STRUCTURE = [
    ("unknown key in a section", "[risk]\nmax_positon = 1\n",
     "risk.max_positon: unknown key (did you mean max_position?"),
    ("unknown top-level key", "strategy_path = []\n", "strategy_path: unknown key (did you mean strategy_paths?"),
    ("unknown section", "[riks]\nmax_position = 1\n", "riks: unknown key"),
    ("section not a table", "risk = 5\n", "risk: must be a table"),
    ("strategies not tables", "strategies = 5\n", "strategies: must hold one table per strategy"),
    ("strategy enabled not a bool", '[strategies.market_maker]\nenabled = "yes"\n', "strategies.market_maker.enabled"),
    ("unknown strategy", "[strategies.nope]\nenabled = true\n", "strategies.nope: no such strategy"),
    ("misspelt strategy", "[strategies.market_makr]\nenabled = true\n",
     "strategies.market_makr: no such strategy (did you mean market_maker?"),
    ("unknown strategy parameter", "[strategies.market_maker]\nspred_bps = 4\n",
     "strategies.market_maker.spred_bps: unknown parameter of strategy market_maker (did you mean spread_bps?"),
    ("strategy parameter of the wrong type", '[strategies.market_maker]\nspread_bps = "wide"\n',
     "strategies.market_maker.spread_bps: expected a number"),
    ("missing api_secret with base_url", '[exchange]\nbase_url = "http://127.0.0.1:9"\napi_key = "k"\n',
     "exchange.api_secret: required"),
    ("not TOML", "[risk\nmax_position = 1\n", "not valid TOML"),
]


@pytest.mark.parametrize(("label", "text", "words"), STRUCTURE, ids=[s[0] for s in STRUCTURE])
def test_unknown_keys_and_bad_structure_are_reported(workdir: Path, tally: Figures, label: str, text: str,
                                                     words: str) -> None:
    config = workdir / "botkit.toml"
    config.write_text(text)
    one_line_error(run_cli("run", "--config", str(config)), words)
    assert not (workdir / "botkit-data").exists()
    tally.add("config_cases")


def test_a_missing_config_file_is_named(workdir: Path) -> None:
    one_line_error(run_cli("run", "--config", str(workdir / "nope.toml")), "--config", "does not exist")


@pytest.mark.parametrize(("text", "words"), [
    ("[engine]\ninterval_seconds = \"soon\"\n", "engine.interval_seconds: expected a number"),
    ("[strategies.market_maker]\nspred_bps = 4\n", "strategies.market_maker.spred_bps"),
], ids=["wrong-type", "unknown-strategy-parameter"])
def test_as_a_real_process(workdir: Path, tally: Figures, text: str, words: str) -> None:
    """The same in a real process: stderr holds the one line (no traceback, no log noise)."""
    config = workdir / "botkit.toml"
    config.write_text(text)
    proc = subprocess.run([sys.executable, "-m", "botkit", "run", "--config", str(config)], cwd=workdir,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and words in lines[0], proc.stderr
    assert not (workdir / "botkit-data").exists()
    tally.add("subprocess_cases")


# ---------------------------------------------------------------------- the secret file


@pytest.fixture
def exchange() -> Iterator[ContractServer]:
    server = ContractServer().start()
    yield server
    server.stop()


def _secret_config(workdir: Path, server: ContractServer, mode: int) -> Path:
    secret = workdir / "api.secret"
    secret.write_text(SECRET + "\n")
    secret.chmod(mode)
    config = workdir / "botkit.toml"
    config.write_text(f"""
strategy_paths = []
[exchange]
base_url = "{server.base_url}"
api_key = "{KEY}"
secret_file = "api.secret"
[engine]
interval_seconds = 0.2
[journal]
url = "sqlite:///{workdir / 'journal.sqlite'}"
[strategies]
""")
    return config


def test_a_secret_file_readable_by_others_is_used_with_a_warning(workdir: Path, exchange: ContractServer) -> None:
    """``botkit run`` signs with the file's secret (every signed call is accepted), warns once
    naming the file and ``chmod 600``, and shows the secret nowhere."""
    config = _secret_config(workdir, exchange, 0o644)
    proc = subprocess.run([sys.executable, "-m", "botkit", "run", "--config", str(config), "--duration", "1"],
                          cwd=workdir, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warned = [line for line in proc.stderr.splitlines() if "chmod 600" in line]
    assert len(warned) == 1 and str(workdir / "api.secret") in warned[0], proc.stderr[-3000:]
    assert SECRET not in proc.stderr + proc.stdout
    signed = [s for s in exchange.seen if s.auth != "public"]
    assert signed and all(s.auth == "ok" for s in signed), {s.auth for s in signed}


def test_a_secret_file_for_its_owner_only_gives_no_warning(workdir: Path, exchange: ContractServer,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    config = _secret_config(workdir, exchange, 0o600)
    with caplog.at_level(logging.WARNING, logger="botkit.config"):
        cfg = config_mod.load(config, environ={})
    assert cfg["exchange"]["api_secret"] == SECRET
    assert caplog.records == []


@pytest.mark.parametrize(("content", "words"), [("", "is empty"), (None, "cannot read")])
def test_an_empty_or_unreadable_secret_file_is_a_config_error(workdir: Path, content: str | None,
                                                              words: str) -> None:
    if content is None:
        (workdir / "api.secret").mkdir()  # unreadable as a file, even for root
    else:
        (workdir / "api.secret").write_text(content)
    config = workdir / "botkit.toml"
    config.write_text('[exchange]\nbase_url = "http://127.0.0.1:9"\napi_key = "k"\nsecret_file = "api.secret"\n')
    one_line_error(run_cli("run", "--config", str(config)), "exchange.secret_file", words)


# ---------------------------------------------------------------------- snapshot files

READER = '''
"""Reads every part of every snapshot: ticker, every level and the trades."""
from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    _ = snapshot.ticker.last, [lv.price for lv in snapshot.book.bids], [lv.price for lv in snapshot.book.asks]
    _ = [t.price for t in snapshot.trades]
    return None
'''


def _nth_price(line: bytes, side: str, n: int) -> bytes:
    """The raw text of the n-th level's price on one side of a recorded line."""
    book = line[line.index(b'"orderbook"'):]
    rows = book[book.index(f'"{side}":['.encode()):]
    return re.findall(rb'\{"price":([^,]+),', rows)[n]


def bad_snapshot_file(path: Path, good: int = 100, only: tuple[str, ...] = ()) -> tuple[dict[int, str], int]:
    """The sample recording's first lines, then each kind of bad line followed by a good one.

    Returns ({line number: what is wrong}, number of good lines). The first kinds are refused by
    the reader itself; the last three look fine at first glance and are caught only when that part
    of the snapshot is built (the reader builds lazily, for speed)."""
    with gzip.open(SAMPLE, "rb") as stream:
        sample = stream.read().splitlines()[: good + 40]

    def deep_level(line: bytes) -> bytes:
        return line.replace(b'{"price":' + _nth_price(line, "bid", 2) + b",", b'{"price":-5,', 1)

    kinds: list[tuple[str, Any]] = [
        ("cut JSON", lambda line: line[: len(line) // 2]),
        ("HTML", lambda line: b"<html><body>502 Bad Gateway</body></html>"),
        ("missing orderbook", lambda line: line.replace(b'"orderbook":', b'"orderbok":', 1)),
        ("not UTF-8", lambda line: b"\xff\xfe" + line),
        ("earlier ts", lambda line: sample[0]),
        ("crossed book", lambda line: line.replace(b'"bid":[{"price":', b'"bid":[{"price":9', 1)),
        ("euros", lambda line: line.replace(b'"currency":"USD"', b'"currency":"EUR"', 1)),
        ("bad deep level", deep_level),
        ("bad ticker", lambda line: line.replace(b'"last":', b'"last":-', 1)),
        ("bad trade", lambda line: line.replace(b'"spentCurrency":"', b'"spentCurrency":"X', 1)),
    ]
    out = list(sample[:good])
    where: dict[int, str] = {}
    next_good = good
    for what, damage in kinds:
        if only and what not in only:
            continue
        source = sample[next_good]
        line = damage(source)
        assert line != source, what
        out.append(line)
        where[len(out)] = what
        out.append(sample[next_good + 1])
        next_good += 2
    path.write_bytes(b"\n".join(out) + b"\n")
    return where, len(out) - len(where)


def _backtest(workdir: Path, data: Path, *extra: str) -> Result:
    folder = workdir / "strategies"
    folder.mkdir(exist_ok=True)
    (folder / "reader.py").write_text(READER)
    return CliRunner().invoke(main, ["backtest", "--data", str(data), "--strategy", "reader", "--strategy-path",
                                     str(folder), "--no-progress", *extra], catch_exceptions=False)


def _table_value(output: str, row: str) -> str:
    match = re.search(rf"^{re.escape(row)}\s+(\S+)\s*$", output, re.M)
    assert match, (row, output)
    return match.group(1)


def test_a_backtest_reports_each_unreadable_line_by_number_and_skips_it(workdir: Path, tally: Figures) -> None:
    data = workdir / "recording.jsonl"
    bad, good = bad_snapshot_file(data)
    result = _backtest(workdir, data)
    assert result.exit_code == 0, result.stderr[-3000:]
    reported = {int(n) for n in re.findall(rf"skipped unreadable line: {re.escape(str(data))}:(\d+):", result.stderr)}
    assert reported == set(bad), (sorted(reported), bad, result.stderr[-3000:])
    assert _table_value(result.stdout, "unreadable lines skipped") == str(len(bad))
    assert _table_value(result.stdout, "strategy failures") == "0"  # the data's fault, not the strategy's
    assert _table_value(result.stdout, "snapshots") == str(good)
    tally.add("bad_snapshot_lines", len(bad))


@pytest.mark.parametrize("only", [(), ("bad deep level", "bad ticker")], ids=["any", "found-when-built"])
def test_a_strict_backtest_stops_at_the_first_unreadable_line(workdir: Path, only: tuple[str, ...]) -> None:
    data = workdir / "recording.jsonl"
    bad, _good = bad_snapshot_file(data, only=only)
    result = _backtest(workdir, data, "--strict")
    assert result.exit_code == 1, result.stderr[-3000:]
    first = min(bad)
    lines = [line for line in result.stderr.splitlines() if line.startswith("botkit:")]
    assert lines == [lines[0]] and f"{data}:{first}:" in lines[0], result.stderr[-3000:]


def test_data_check_reports_every_unreadable_line(workdir: Path) -> None:
    """``botkit data check`` builds every part of every line, so it names all of them at once."""
    data = workdir / "recording.jsonl"
    bad, _good = bad_snapshot_file(data)
    result = CliRunner().invoke(main, ["data", "check", str(data)], catch_exceptions=False)
    text = result.stdout + result.stderr
    reported = {int(n) for n in re.findall(rf"{re.escape(str(data))}:(\d+):", text)}
    assert reported == set(bad), (sorted(reported), bad, text[-3000:])
    assert result.exit_code != 0

