"""The dashboard in a real headless browser (Debian's chromium, driven by selenium) beside a real
`botkit run --web-port 0`: it shows the bot's fills, and pausing a strategy from the page stops
its orders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By

from tests.polling import wait
from tests.web.browser import CHROMEDRIVER, CHROMIUM, MISSING, chromium, log_in
from tests.web.helpers import running_bot

pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None, reason=MISSING)]


def _rows(driver: Any, table: str) -> list[list[str]]:
    """The table's cells, read in one script call: the page redraws its tables at every poll."""
    rows: list[list[str]] = driver.execute_script(
        f"return [...document.querySelectorAll('#{table} tbody tr')].map(r => [...r.cells].map(c => c.textContent))")
    return rows


def _click(driver: Any, selector: str) -> bool:
    """Click what ``selector`` finds; False when a redraw replaced it under our hands (try again)."""
    try:
        driver.find_element(By.CSS_SELECTOR, selector).click()
    except StaleElementReferenceException:
        return False
    return True


def test_the_dashboard_shows_fills_and_pausing_from_the_page_stops_the_orders(tmp_path: Path) -> None:
    with running_bot(tmp_path) as bot, chromium() as driver:
        driver.get(bot.url)
        assert driver.current_url.startswith(bot.url + "login")  # no token, no dashboard
        log_in(driver, bot.url)
        wait(lambda: _rows(driver, "bots"), 60, "the bots table")
        assert _rows(driver, "bots")[0][:2] == ["default", "running"]
        fills = wait(lambda: _rows(driver, "fills"), 120, "a fill of the market maker on the page")
        journaled = {f["exchange_order_id"]: f for f in bot.get("/api/bots/default")["fills"]}
        time, strategy, side, _price, _quantity, _fee, _liquidity, order = fills[-1]
        assert (strategy, side) == ("market_maker", journaled[order]["side"])
        assert time == journaled[order]["time"]
        wait(lambda: _rows(driver, "orders"), 60, "its quotes on the page")

        wait(lambda: _click(driver, '#strategies tr[data-strategy="market_maker"] button.pause'), 30, "the click")
        wait(lambda: _rows(driver, "strategies")[0][1] == "paused", 60, "the page to show the strategy paused")
        wait(lambda: not _rows(driver, "orders"), 60, "its orders to leave the page")
        ticks = bot.get("/api/bots/default")["status"]["ticks"]
        wait(lambda: bot.get("/api/bots/default")["status"]["ticks"] >= ticks + 5, 60, "five more ticks")
        assert bot.get("/api/bots/default")["open_orders"] == []
        (action, *_) = bot.get("/api/bots/default/actions")
        assert (action["action"], action["who"]) == ("pause", "web session from 127.0.0.1")
        assert action["outcome"].startswith("paused; ")
        assert _rows(driver, "actions")[0][1:4] == ["pause", "market_maker", "web session from 127.0.0.1"]
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []  # no script error
