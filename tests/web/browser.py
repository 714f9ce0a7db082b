"""Debian's headless chromium driven by selenium, for the dashboard's tests and screenshots."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from tests.web.helpers import TOKEN

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = ("Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver; "
           ".ci/run installs them)")


@contextmanager
def chromium(width: int = 1280, height: int = 1400) -> Iterator[webdriver.Chrome]:
    assert CHROMIUM is not None and CHROMEDRIVER is not None, MISSING
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def log_in(driver: webdriver.Chrome, url: str, token: str = TOKEN) -> None:
    """Through the login form, as a person would."""
    driver.get(url)
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.ID, "login").click()
