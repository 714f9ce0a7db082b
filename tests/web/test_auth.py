"""Every page and call needs the token; every way of getting it wrong is refused, over real HTTP."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from botkit import config as config_mod
from botkit.core.errors import ConfigError
from botkit.web.server import token_of
from tests.web.conftest import FIRST_DELAY, Served
from tests.web.helpers import TOKEN, bearer

PATHS = ["/", "/api/bots", "/api/bots/{bot}", "/api/bots/{bot}/actions", "/api/openapi.json", "/reports",
         "/reports/0/", "/static/dashboard.js"]
POSTS = ["/api/bots/{bot}/strategies/mm/pause", "/api/bots/{bot}/strategies/mm/resume",
         "/api/bots/{bot}/kill-switch/trip", "/api/bots/{bot}/kill-switch/reset", "/api/bots/{bot}/orders/cancel-all",
         "/api/bots/{bot}/stop", "/logout"]


def _url(served: Served, path: str) -> str:
    return served.url.rstrip("/") + path.format(bot=served.bot)


def test_no_token_no_page_no_call(served: Served) -> None:
    for path in PATHS:
        answer = requests.get(_url(served, path), allow_redirects=False, timeout=30)
        if path.startswith("/api/"):
            assert answer.status_code == 401, path
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        else:
            assert answer.status_code == 303, path
            assert answer.headers["location"] == f"/login?next={path.format(bot=served.bot)}"
    for path in POSTS:
        answer = requests.post(_url(served, path), allow_redirects=False, timeout=30)
        assert answer.status_code in (401, 303), path
    assert requests.get(_url(served, "/api/bots"), headers=bearer(), timeout=30).status_code == 200


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", f"Basic {TOKEN}",
                                    TOKEN, f"Token {TOKEN}"])
def test_a_wrong_authorization_header_is_401(served: Served, header: str) -> None:
    answer = requests.get(_url(served, "/api/bots"), headers={"Authorization": header}, timeout=30)
    assert answer.status_code == 401
    assert TOKEN not in answer.text


def test_a_wrong_login_is_401_and_a_right_one_opens_a_session(served: Served) -> None:
    session = requests.Session()
    wrong = session.post(_url(served, "/login"), data={"token": "guess-guess-guess-guess"}, allow_redirects=False,
                         timeout=30)
    assert wrong.status_code == 401 and "Wrong token." in wrong.text
    assert "botkit_session" not in session.cookies
    right = session.post(_url(served, "/login"), data={"token": TOKEN, "next": "/reports"}, allow_redirects=False,
                         timeout=30)
    assert (right.status_code, right.headers["location"]) == (303, "/reports")
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert session.get(_url(served, "/api/bots"), timeout=30).status_code == 200
    page = session.get(_url(served, "/"), timeout=30)
    assert page.status_code == 200 and TOKEN not in page.text
    assert page.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in page.headers[
        "Content-Security-Policy"]


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "evil"])
def test_login_never_redirects_to_another_site(served: Served, target: str) -> None:
    answer = requests.post(_url(served, "/login"), data={"token": TOKEN, "next": target}, allow_redirects=False,
                           timeout=30)
    assert answer.headers["location"] == "/"


def _logged_in(served: Served) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.post(_url(served, "/login"), data={"token": TOKEN}, timeout=30)
    page = session.get(_url(served, "/"), timeout=30).text
    csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert len(csrf) >= 24
    return session, csrf


def test_a_session_post_needs_its_csrf_token(served: Served) -> None:
    session, csrf = _logged_in(served)
    pause = _url(served, "/api/bots/{bot}/strategies/mm/pause")
    assert session.post(pause, timeout=30).status_code == 403
    assert session.post(pause, headers={"X-CSRF-Token": csrf + "x"}, timeout=30).status_code == 403
    assert session.post(pause, data={"csrf": "wrong"}, timeout=30).status_code == 403
    _other, other_csrf = _logged_in(served)
    assert session.post(pause, headers={"X-CSRF-Token": other_csrf}, timeout=30).status_code == 403
    accepted = session.post(pause, headers={"X-CSRF-Token": csrf}, timeout=30)
    assert accepted.status_code == 202
    assert accepted.json()["who"] == "web session from 127.0.0.1"
    logout = session.post(_url(served, "/logout"), data={"csrf": csrf}, allow_redirects=False, timeout=30)
    assert logout.status_code == 303
    assert session.get(_url(served, "/api/bots"), timeout=30).status_code == 401


def test_a_session_cookie_of_another_server_is_refused(served: Served) -> None:
    forged = requests.get(_url(served, "/api/bots"), cookies={"botkit_session": "eyJhdXRoIjogIngifQ==.x.y"},
                          timeout=30)
    assert forged.status_code == 401


def test_repeated_wrong_tokens_are_slowed_down_and_a_right_one_ends_it(served: Served) -> None:
    url = _url(served, "/api/bots")

    def seconds(token: str) -> tuple[int, float]:
        started = time.monotonic()
        status = requests.get(url, headers=bearer(token), timeout=30).status_code
        return status, time.monotonic() - started

    wrong = "not-the-token-at-all"
    for _ in range(2):  # the free ones (the fixture's guard allows 2)
        assert seconds(wrong)[0] == 401
    status, took = seconds(wrong)
    assert status == 401 and took >= FIRST_DELAY
    status, took = seconds(wrong)
    assert status == 401 and took >= 2 * FIRST_DELAY
    login = requests.post(_url(served, "/login"), data={"token": wrong}, timeout=30)
    assert login.status_code == 401
    assert seconds(TOKEN)[0] == 200  # a right token is never held back, and ends the streak
    assert seconds(wrong)[0] == 401


def test_requests_for_a_stopped_or_unknown_bot_or_strategy(served: Served) -> None:
    assert requests.post(_url(served, "/api/bots/{bot}-old/stop"), headers=bearer(), timeout=30).status_code == 409
    assert requests.post(_url(served, "/api/bots/nobody/stop"), headers=bearer(), timeout=30).status_code == 404
    assert requests.post(_url(served, "/api/bots/{bot}/strategies/zz/pause"), headers=bearer(),
                         timeout=30).status_code == 404
    assert requests.get(_url(served, "/api/bots/{bot}/stop"), headers=bearer(), timeout=30).status_code == 405


def _config(tmp_path: Path, web: str, environ: dict[str, str] | None = None) -> config_mod.Config:
    path = tmp_path / "botkit.toml"
    path.write_text(f"[web]\n{web}\n")
    return config_mod.load(path, environ=environ or {})


def test_the_token_comes_from_the_config_a_file_or_the_environment(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    assert token_of(_config(tmp_path, f'token = "{TOKEN}"')) == TOKEN
    token_file = tmp_path / "web-token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o644)
    assert token_of(_config(tmp_path, 'token_file = "web-token"')) == TOKEN
    assert "readable by other users" in caplog.text
    assert token_of(_config(tmp_path, "", {"BOTKIT_WEB_TOKEN": TOKEN})) == TOKEN
    loaded = _config(tmp_path, f'token = "{TOKEN}"')
    assert TOKEN in loaded.secrets and TOKEN not in repr(loaded["web"])


def _web_token(tmp_path: Path, web: str) -> str:
    return token_of(_config(tmp_path, web))


@pytest.mark.parametrize(("web", "key", "words"), [
    ("", "web.token", "needs a token"),
    ('token = "short"', "web.token", "shorter than 16"),
    ('token_file = "missing"', "web.token_file", "cannot read"),
    ("token = 5", "web.token", "<hidden>"),
    ("port = 70000", "web.port", "from 0 to 65535"),
    ("prot = 8080", "web.prot", "did you mean"),
])
def test_bad_web_config_names_the_key(tmp_path: Path, web: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _web_token(tmp_path, web)
    assert caught.value.key == key
    assert words in str(caught.value)


def test_bad_notify_urls_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"notify\.urls: expected a list of strings, got <hidden>"):
        config_mod.parse({"notify": {"urls": "json://secret@host"}}, environ={})


def test_the_default_address_is_loopback() -> None:
    cfg = config_mod.parse({}, environ={})
    assert cfg["web"]["host"] == "127.0.0.1"
    assert cfg["web"]["port"] is None  # off unless asked
    assert cfg["notify"]["min_interval_seconds"] == Decimal(60)
