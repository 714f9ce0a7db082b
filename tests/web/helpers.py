"""Shared by the web tests: a real `botkit run --web-port 0` on the embedded sandbox, and HTTP."""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from tests.ops.helpers import start_botkit
from tests.polling import wait

TOKEN = "web-test-token-0123456789"


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class RunningBot:
    """A `botkit run` process serving its dashboard."""

    proc: subprocess.Popen[str]
    url: str
    config: Path
    log: Path

    def get(self, path: str, token: str = TOKEN) -> Any:
        response = requests.get(self.url + path.lstrip("/"), headers=bearer(token), timeout=30)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, token: str = TOKEN) -> requests.Response:
        return requests.post(self.url + path.lstrip("/"), headers=bearer(token), timeout=30)

    def outcome(self, action_id: int, bot: str = "default") -> str:
        """What the daemon did with a request, once it has."""
        def done() -> str | None:
            (found,) = [a for a in self.get(f"/api/bots/{bot}/actions") if a["id"] == action_id]
            return None if found["outcome"] == "pending" else str(found["outcome"])

        return wait(done, 60, f"the daemon to carry out action {action_id}")


def bot_config(workdir: Path, *, extra: str = "", interval: str = "0.2") -> Path:
    """A config of the example market maker on the embedded sandbox, ticking fast."""
    config = workdir / "botkit.toml"
    config.write_text(f"""
[journal]
url = "sqlite:///{workdir / 'journal.sqlite'}"
[engine]
interval_seconds = {interval}
[sandbox]
state_path = "{workdir / 'sandbox.sqlite'}"
[web]
token = "{TOKEN}"
[strategies.market_maker]
spread_bps = 4
size = 0.05
{extra}""")
    return config


def web_url(log: Path) -> str | None:
    """The dashboard URL a `botkit run --web-port 0` logged, once it has."""
    if not log.exists():
        return None
    found = re.search(r"web dashboard at (http://\S+/)", log.read_text())
    return found.group(1) if found else None


@contextmanager
def running_bot(workdir: Path, *, extra: str = "") -> Iterator[RunningBot]:
    config = bot_config(workdir, extra=extra)
    log = workdir / "run.log"
    proc = start_botkit("run", "--config", str(config), "--web-port", "0", cwd=workdir, log=log)
    try:
        url = wait(lambda: web_url(log) if proc.poll() is None else _died(log), 90, "the dashboard to be served")
        bot = RunningBot(proc, url, config, log)
        # served from before the run begins (reconciliation first): wait for this process's run (a
        # killed one's may still read as running), and for its strategies to have started (they are
        # journaled after reconciliation and their on_start: a request naming one waits for that)
        wait(lambda: any(b["pid"] == proc.pid and b["state"] == "running" and b["strategies"]
                         for b in bot.get("/api/bots")), 90, "the bot's run and its strategies to begin")
        yield bot
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def _died(log: Path) -> str:
    raise AssertionError(f"botkit run exited:\n{log.read_text()}")
