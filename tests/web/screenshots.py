"""The screenshots of docs/web.md, taken in Debian's headless chromium beside a real bot:

    .venv/bin/python -m tests.web.screenshots docs/images
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from selenium.webdriver.common.by import By

from tests.polling import wait
from tests.web.browser import chromium, log_in
from tests.web.helpers import TOKEN, running_bot

CHART_POINTS = 4
"""Equity samples (one each 10 s) before the dashboard is shot, so that its chart has a line."""


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        report = work / "report"
        subprocess.run([sys.executable, "-m", "botkit", "backtest", "--report", str(report)], cwd=work, check=True,
                       capture_output=True)
        with running_bot(work) as bot, chromium(1280, 1500) as driver:
            driver.get(bot.url)
            driver.find_element(By.ID, "token").send_keys("x" * len(TOKEN))
            driver.save_screenshot(str(out / "web-login.png"))
            log_in(driver, bot.url)
            wait(lambda: len(bot.get("/api/bots/default")["equity"]) >= CHART_POINTS, 120, "equity samples")
            wait(lambda: bot.get("/api/bots/default")["fills"], 120, "a fill")
            bot.outcome(bot.post("/api/bots/default/kill-switch/trip").json()["id"])
            bot.outcome(bot.post("/api/bots/default/kill-switch/reset").json()["id"])
            time.sleep(3)  # two polls of the page: what it shows is the journal's latest
            driver.save_screenshot(str(out / "web-dashboard.png"))
        _report_shot(work, report, out)


def _report_shot(work: Path, report: Path, out: Path) -> None:
    from tests.ops.helpers import start_botkit

    config = work / "botkit.toml"
    proc = start_botkit("web", "--config", str(config), "--port", "0", "--report", str(report), cwd=work)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        with chromium(1280, 1100) as driver:
            log_in(driver, url)
            driver.get(url + "reports/0/")
            driver.save_screenshot(str(out / "web-report.png"))
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images"))
