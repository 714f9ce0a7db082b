"""Scenario 7: secrets. A full run with a known, distinctive API secret leaves it nowhere.

``botkit run`` trades in a subprocess against a standalone ``botkit sandbox`` subprocess that
answers 20% of calls with 5xx and carries out 20% of placements and cancels before cutting the
connection, so that errors, retries and unknown outcomes are all logged. The secret reaches the
bot in each of the three ways there are: in the config file (text logs at DEBUG), through
``BUTTERCOIN_API_SECRET`` (JSON logs, alongside a strategy that logs the secret and raises with it
on purpose: the redaction's last line of defence), and from ``[exchange] secret_file``; then a run
with a wrong secret, whose every signed call is refused with 401. The secret (and the wrong one)
must appear in no log line, no error message, no ``repr()`` of the objects that hold it, no
journal row (every text column of every table) and no byte of the SQLite files, and in no file of
a backtest report made with the same config.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, inspect, text

from botkit import config as config_mod
from botkit.client import AuthenticationError, Buttercoin, ButtercoinClient
from botkit.client.auth import ButtercoinAuth, TimestampClock
from tests.reliability.conftest import Figures

KEY = "secrets-test-key"
SECRET = "Zq9xSECRETv7Kp2mW4nB8cR1tY6uI3oA"
"""Distinctive, so that any copy of it, anywhere, is found."""
WRONG = "Wr0ngSECRETe5Lq8Hs2Jd7Fg4Kx1Vb9N"
"""A wrong secret is a secret too: it must not leak either."""
RUN_SECONDS = "3"
"""Each run trades this long (all four at once)."""

LEAKY = '''
"""Tries to leak the API secret from the environment: logs it, then raises with it."""
import os

from botkit import hookimpl


@hookimpl
def botkit_on_snapshot(snapshot, ctx):
    secret = os.environ.get("BUTTERCOIN_API_SECRET", "")
    ctx.log.warning("the secret is %s", secret)
    raise RuntimeError(f"cannot trade with {secret}")
'''


def _botkit(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``python -m botkit ARGS`` with none of the user's BUTTERCOIN_* variables."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BUTTERCOIN_")}
    environ.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    return subprocess.Popen([sys.executable, "-m", "botkit", *args], cwd=cwd, text=True, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@dataclass
class Exchange:
    base_url: str
    output: list[Path]
    """The sandbox's stdout and stderr files."""


@pytest.fixture(scope="module")
def exchange(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exchange]:
    """A standalone sandbox with faults on (and its admin counters), its output kept in files."""
    where = tmp_path_factory.mktemp("exchange")
    out_path, err_path = where / "stdout.txt", where / "stderr.txt"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BUTTERCOIN_")}
    with open(out_path, "w") as out, open(err_path, "w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "botkit", "sandbox", "--port", "0", "--seed", "5", "--rate-limit", "0",
             "--admin", "--error-rate", "0.2", "--accept-then-drop-rate", "0.2",
             "--account", f"{KEY}:{SECRET}:USD=100000,BTC=10"],
            cwd=where, text=True, env={**environ, "PYTHONUNBUFFERED": "1"}, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 60
        while not out_path.read_text().endswith("\n"):
            assert proc.poll() is None and time.monotonic() < deadline, err_path.read_text()
            time.sleep(0.05)
        base_url = out_path.read_text().splitlines()[0].strip()
        assert base_url.startswith("http://127.0.0.1:"), base_url
        yield Exchange(base_url, [out_path, err_path])
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


@pytest.fixture(scope="module")
def tally() -> Iterator[Figures]:
    fig = Figures("secrets")
    fig.values = {"runs": 0, "log_lines_scanned": 0, "error_lines": 0, "journal_values_scanned": 0,
                  "reprs_checked": 0, "report_files_scanned": 0, "leaks": 0}
    yield fig
    fig.save()


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    journal: Path


def start_bot(workdir: Path, base_url: str, *, secret_line: str = "", log_format: str = "text",
              level: str = "INFO", env: dict[str, str] | None = None, leaky: bool = False,
              ) -> tuple[subprocess.Popen[str], Path]:
    """``botkit run --duration`` in its own folder; returns the process and its journal's path."""
    workdir.mkdir(parents=True, exist_ok=True)
    strategies = workdir / "strategies"
    strategies.mkdir(exist_ok=True)
    if leaky:
        (strategies / "leaky.py").write_text(LEAKY)
    journal = workdir / "journal.sqlite"
    config = workdir / "botkit.toml"
    config.write_text(f"""
strategy_paths = ["{strategies}"]
[exchange]
base_url = "{base_url}"
api_key = "{KEY}"
timeout_seconds = 2
{secret_line}
[engine]
interval_seconds = 0.2
resolve_window_seconds = 2
[journal]
url = "sqlite:///{journal}"
[log]
level = "{level}"
[strategies.market_maker]
spread_bps = 4
size = 0.05
{"[strategies.leaky]" if leaky else ""}
""")
    proc = _botkit("run", "--config", str(config), "--duration", RUN_SECONDS, "--log-format", log_format,
                   cwd=workdir, env=env)
    return proc, journal


@pytest.fixture(scope="module")
def runs(exchange: Exchange, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """The four runs, side by side (one account: they cancel each other's stray orders at start,
    which only adds to the errors logged)."""
    root = tmp_path_factory.mktemp("runs")
    secret_file = root / "api.secret"
    secret_file.write_text(SECRET + "\n")
    secret_file.chmod(0o600)
    url = exchange.base_url
    started = {
        "text-debug-config": start_bot(root / "a", url, secret_line=f'api_secret = "{SECRET}"', level="DEBUG"),
        "json-environment-leaky": start_bot(root / "b", url, log_format="json",
                                            env={"BUTTERCOIN_API_SECRET": SECRET}, leaky=True),
        "secret-file": start_bot(root / "c", url, secret_line=f'secret_file = "{secret_file}"'),
        "wrong-secret": start_bot(root / "d", url, secret_line=f'api_secret = "{WRONG}"'),
    }
    done = {}
    for name, (proc, journal) in started.items():
        out, err = proc.communicate(timeout=180)
        done[name] = Run(proc.returncode, out, err, journal)
    return done


def journal_values(path: Path) -> Iterator[tuple[str, str, Any]]:
    """Every text (or bytes) value of every column of every table."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            for table in inspect(conn).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    for column, value in row._mapping.items():
                        if isinstance(value, str | bytes):
                            yield table, column, value
    finally:
        engine.dispose()


def assert_nowhere(run: Run, tally: Figures, *secrets: str) -> None:
    """Not in the output, not in any journal value, not in any byte of the journal's files."""
    lines = (run.stdout + run.stderr).splitlines()
    tally.add("log_lines_scanned", len(lines))
    for secret in secrets:
        leaked = [line for line in lines if secret in line]
        tally.add("leaks", len(leaked))
        assert not leaked, leaked[:5]
    count = 0
    for table, column, value in journal_values(run.journal):
        count += 1
        for secret in secrets:
            assert secret not in (value if isinstance(value, str) else value.decode("utf-8", "replace")), \
                (table, column)
    tally.add("journal_values_scanned", count)
    files = [p for p in run.journal.parent.iterdir() if p.name.startswith(run.journal.name)]
    assert run.journal in files
    for file in files:
        raw = file.read_bytes()
        for secret in secrets:
            assert secret.encode() not in raw, file


def errors_logged(run: Run) -> list[str]:
    return [line for line in run.stderr.splitlines()
            if any(w in line for w in ("WARNING", "ERROR", '"level": "WARNING"', '"level": "ERROR"'))]


def test_text_logs_at_debug_with_the_secret_in_the_config(runs: dict[str, Run], tally: Figures) -> None:
    run = runs["text-debug-config"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert "DEBUG" in run.stderr
    errors = errors_logged(run)
    assert errors, "no error was logged: the faults did not bite"
    tally.add("error_lines", len(errors))
    assert "placed=" in run.stderr
    assert_nowhere(run, tally, SECRET)
    tally.add("runs")


def test_json_logs_with_the_secret_in_the_environment_and_a_strategy_leaking_it(
        runs: dict[str, Run], tally: Figures) -> None:
    """The leaky strategy logs the secret and raises with it (a traceback): both are redacted."""
    run = runs["json-environment-leaky"]
    assert run.returncode == 0, run.stderr[-3000:]
    records = [json.loads(line) for line in run.stderr.splitlines() if line.strip()]
    assert records and all({"ts", "level", "logger", "message"} <= set(r) for r in records)
    redacted = [r for r in records if "<redacted>" in r["message"]]
    assert any(r["logger"] == "botkit.strategy.leaky" for r in redacted), "the strategy's own log line"
    # the strategy's exception: its message in the log line, its traceback in "exc", both redacted
    assert any("cannot trade with <redacted>" in r["message"] and "Traceback" in r.get("exc", "")
               and "cannot trade with <redacted>" in r["exc"] for r in redacted)
    errors = [r for r in records if r["level"] in ("WARNING", "ERROR")]
    tally.add("error_lines", len(errors))
    assert_nowhere(run, tally, SECRET)
    tally.add("runs")


def test_secret_file(runs: dict[str, Run], tally: Figures) -> None:
    run = runs["secret-file"]
    assert run.returncode == 0, run.stderr[-3000:]
    assert "placed=" in run.stderr
    assert_nowhere(run, tally, SECRET)
    tally.add("runs")


def test_a_wrong_secret_fails_every_signed_call_and_leaks_neither(runs: dict[str, Run], tally: Figures) -> None:
    run = runs["wrong-secret"]
    refusals = [line for line in run.stderr.splitlines() if "bad signature" in line]
    assert refusals, run.stderr[-3000:]
    assert "placed=0" in run.stderr and "placed=1" not in run.stderr
    tally.add("error_lines", len(refusals))
    assert_nowhere(run, tally, SECRET, WRONG)
    tally.add("runs")


def test_no_repr_or_error_holds_the_secret(tmp_path: Path, exchange: Exchange,
                                           tally: Figures) -> None:
    """The objects a log line or a traceback might show: config, bot, engine, venue, client, auth,
    strategy hosts and contexts, and the errors of refused calls."""
    from botkit.daemon.scheduler import Daemon
    from botkit.engine.assembly import build_bot

    base_url = exchange.base_url
    cfg = config_mod.parse({
        "strategy_paths": [],
        "exchange": {"base_url": base_url, "api_key": KEY, "api_secret": SECRET},
        "journal": {"url": f"sqlite:///{tmp_path / 'journal.sqlite'}"},
    }, environ={})
    bot = build_bot(cfg)
    try:
        venue = bot.engine.venue
        objects: list[Any] = [cfg, bot, bot.engine, venue, venue.api, venue.api.client, bot.market_data,
                              bot.journal, bot.engine.risk, Daemon(bot, 1.0),
                              ButtercoinAuth(KEY, SECRET, TimestampClock(), None),
                              *bot.engine.strategies, *(h.ctx for h in bot.engine.strategies)]
        for obj in objects:
            assert SECRET not in repr(obj), type(obj).__name__
            assert SECRET not in str(obj), type(obj).__name__
        tally.add("reprs_checked", len(objects))
    finally:
        bot.close()
    wrong = ButtercoinClient(KEY, WRONG, base_url=base_url)
    with pytest.raises(AuthenticationError) as refused:
        Buttercoin(wrong).balances()
    wrong.close()
    for text_ in (str(refused.value), repr(refused.value), repr(wrong), repr(refused.value.api_error)):
        assert SECRET not in text_ and WRONG not in text_
    tally.add("reprs_checked", 4)


def test_a_backtest_report_holds_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tally: Figures) -> None:
    from botkit.cli import main

    monkeypatch.chdir(tmp_path)
    config = tmp_path / "botkit.toml"
    config.write_text(f'[exchange]\nbase_url = "http://127.0.0.1:9"\napi_key = "{KEY}"\napi_secret = "{SECRET}"\n'
                      "[strategies.market_maker]\nspread_bps = 4\n")
    result = CliRunner().invoke(main, ["backtest", "--config", str(config), "--limit", "300", "--no-progress",
                                       "--report", str(tmp_path / "report")], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr[-3000:]
    assert SECRET not in result.stdout + result.stderr
    files = [p for p in (tmp_path / "report").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"report.json", "fills.csv", "orders.csv"}
    for file in files:
        assert SECRET.encode() not in file.read_bytes(), file
    tally.add("report_files_scanned", len(files))


def test_the_exchange_saw_faults_and_printed_no_secret(exchange: Exchange, tally: Figures) -> None:
    """Last in the module: the faults the runs above went through, from the sandbox's counters;
    and the sandbox (botkit too) printed no secret of its own."""
    with urllib.request.urlopen(f"{exchange.base_url}/admin/stats", timeout=10) as reply:
        stats = json.loads(reply.read())
    tally["faults_injected"] = stats["faults"]
    assert sum(stats["faults"].values()) > 0
    for path in exchange.output:
        assert SECRET not in path.read_text(), path


DB_PASSWORD = "Pw7dbSECRETq2Lx"
BAD_JOURNAL_URLS = [
    f"postgresql://botkit:{DB_PASSWORD}@db.internal:notaport/botkit",  # the parse error quotes the port
    f"postgresql://botkit:{DB_PASSWORD}@x/y@127.0.0.1:notaport/botkit",  # '@' and '/' typed unencoded
    f"postgresql://botkit:{DB_PASSWORD}@127.0.0.1:1/botkit",  # parses; nothing listens
    f"botkit:{DB_PASSWORD}@127.0.0.1/botkit",  # no scheme at all
]


@pytest.mark.parametrize("url", BAD_JOURNAL_URLS, ids=["bad-port", "unencoded", "unreachable", "no-scheme"])
def test_a_bad_journal_url_never_shows_its_password(tmp_path: Path, url: str, figures: Figures) -> None:
    """`botkit run`, `status` and `journal` with a journal URL they cannot use: one error line,
    the URL shown with `***` for its password, which appears nowhere in their output."""
    config = tmp_path / "botkit.toml"
    config.write_text(f'strategy_paths = []\n[log]\nlevel = "DEBUG"\n[journal]\nurl = "{url}"\n')
    for command in (["run", "--duration", "1"], ["status"], ["journal", "orders"], ["journal", "upgrade"]):
        done = subprocess.run([sys.executable, "-m", "botkit", *command, "--config", str(config)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 2, (command, done.stderr[-2000:])
        assert DB_PASSWORD not in done.stdout + done.stderr, (command, done.stderr[-2000:])
        assert "***" in done.stderr.splitlines()[-1], (command, done.stderr[-2000:])
        figures.add("commands_checked")


def test_the_journal_password_is_in_no_repr_and_redacted_from_logs() -> None:
    from botkit.core.errors import ConfigError
    from botkit.core.urlmask import mask_url

    for url in BAD_JOURNAL_URLS:
        if "://" not in url:
            with pytest.raises(ConfigError) as refused:
                config_mod.parse({"journal": {"url": url}}, environ={})
            assert DB_PASSWORD not in str(refused.value) and "***" in str(refused.value)
            continue
        cfg = config_mod.parse({"journal": {"url": url}}, environ={})
        assert DB_PASSWORD not in repr(cfg) + repr(cfg["journal"]) + mask_url(url)
        assert str(cfg["journal"]["url"]) == url  # the URL itself is untouched, to connect with
        assert any(DB_PASSWORD in s for s in cfg.secrets)  # what the log formatter redacts as its last line of defence
    assert mask_url("postgresql://botkit@db/botkit") == "postgresql://botkit@db/botkit"
    assert mask_url("sqlite:///botkit-data/journal.sqlite") == "sqlite:///botkit-data/journal.sqlite"
