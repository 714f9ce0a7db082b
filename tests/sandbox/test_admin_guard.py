"""The admin API refuses what a web page in the operator's browser could send (CSRF, DNS
rebinding), over real HTTP on 127.0.0.1. Found by the hardening pass: ``text/plain`` bodies and
any ``Host`` or ``Origin`` were accepted, so a page could rewrite an account's secret."""

from __future__ import annotations

import logging

import pytest
import requests

from botkit.sandbox import Sandbox
from tests.sandbox.helpers import ALICE

NEW_SECRET = b'{"key": "alice", "secret": "stolen", "balances": {"USD": "1"}}'


def _secret(sandbox: Sandbox) -> str:
    credentials = sandbox.exchange.credentials(ALICE[0])
    assert credentials is not None
    return credentials[0]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_a_post_that_a_form_could_send_is_refused(sandbox: Sandbox, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    answer = requests.post(sandbox.base_url + "/admin/accounts", data=NEW_SECRET, headers=headers, timeout=5)
    assert answer.status_code == 415
    assert answer.json()["errors"][0]["code"] == "unsupported_media_type"
    assert _secret(sandbox) == ALICE[1]


@pytest.mark.parametrize("path", ["/admin/stats/reset", "/admin/market/step"])
def test_an_empty_post_needs_the_json_content_type_too(sandbox: Sandbox, path: str) -> None:
    assert requests.post(sandbox.base_url + path, timeout=5).status_code == 415


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", ""])
def test_a_foreign_host_name_is_refused_for_reads_and_writes(sandbox: Sandbox, host: str) -> None:
    """DNS rebinding: a hostile name resolved to 127.0.0.1 carries its own name in Host."""
    for method, body in (("GET", None), ("POST", NEW_SECRET)):
        path = "/admin/stats" if method == "GET" else "/admin/accounts"
        answer = requests.request(method, sandbox.base_url + path, data=body, timeout=5,
                                  headers={"Host": host, "Content-Type": "application/json"})
        assert answer.status_code == 403, (method, host)
        assert answer.json()["errors"][0]["code"] == "forbidden_host"
    assert _secret(sandbox) == ALICE[1]


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:1", "file://"])
def test_a_foreign_origin_is_refused(sandbox: Sandbox, origin: str) -> None:
    answer = requests.post(sandbox.base_url + "/admin/accounts", data=NEW_SECRET, timeout=5,
                           headers={"Origin": origin, "Content-Type": "application/json"})
    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "forbidden_origin"
    assert _secret(sandbox) == ALICE[1]


def test_cross_site_fetch_metadata_is_refused(sandbox: Sandbox) -> None:
    answer = requests.get(sandbox.base_url + "/admin/stats", headers={"Sec-Fetch-Site": "cross-site"}, timeout=5)
    assert answer.status_code == 403


def test_the_operator_is_still_served(sandbox: Sandbox) -> None:
    own = {"Origin": sandbox.base_url, "Content-Type": "application/json"}
    assert requests.post(sandbox.base_url + "/admin/accounts", data=NEW_SECRET, headers=own, timeout=5).ok
    assert _secret(sandbox) == "stolen"
    port = sandbox.port
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert requests.get(sandbox.base_url + "/admin/stats", headers={"Host": host}, timeout=5).ok, host


def test_names_given_to_the_sandbox_are_accepted() -> None:
    with Sandbox(market="off", rate_limit=0, admin=True, public_url="http://exchange.test:8080") as sb:
        answer = requests.get(sb.base_url + "/admin/stats", headers={"Host": "exchange.test:8080"}, timeout=5)
        assert answer.ok


def test_admin_beyond_loopback_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="botkit.sandbox"):
        Sandbox(host="0.0.0.0", market="off", admin=True)
        Sandbox(host="127.0.0.1", market="off", admin=True)
        Sandbox(host="0.0.0.0", market="off", admin=False)
    warnings = [r.getMessage() for r in caplog.records if "/admin" in r.getMessage()]
    assert len(warnings) == 1 and "0.0.0.0" in warnings[0]
