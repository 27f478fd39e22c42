"""Attacks on the edge, through a real gunicorn: spoofed proxy headers, deep JSON, secrets in the access log."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

from gateways.services import add_gateway
from tests.system.conftest import Processes, Web, free_port, wait_until

pytestmark = pytest.mark.system


def start_gunicorn(processes: Processes, name: str, *options: str, **env: str) -> Web:
    """gunicorn as the Procfile starts it: from the project directory, so it reads gunicorn.conf.py."""
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    processes.start(name, gunicorn, "xsender.wsgi:application", "--bind", f"127.0.0.1:{port}", *options, **env)
    web = Web(url=f"http://127.0.0.1:{port}")

    def up() -> bool:
        try:
            return requests.get(web.url + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_until(up, what=f"{name} to answer")
    return web


def test_gunicorn_believes_a_forwarded_scheme_only_from_the_trusted_proxies(alice, processes):
    web = start_gunicorn(processes, "web-trusting-nobody", XSENDER_TRUSTED_PROXIES="")
    response = web.call("GET", "/api/me", alice.key)  # "X-Forwarded-Proto: https" from 127.0.0.1
    assert response.status_code == 403
    assert "HTTPS" in response.json()["message"]


def test_a_client_written_https_before_the_proxys_http_is_refused(alice, web):
    response = web.call("GET", "/api/me", alice.key, headers={"X-Forwarded-Proto": "https, http"})
    assert response.status_code == 403


def test_a_100000_deep_json_body_is_a_400_not_a_500(alice, web):
    body = "[" * 100_000 + "]" * 100_000
    response = web.call("POST", "/api/sms/send", alice.key, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["success"] is False


def test_a_get_form_otp_never_reaches_the_access_log(alice, processes, tmp_path):
    add_gateway(owner=alice.user, channel="sms", provider="console", identifier="sms", is_default=True)
    log = tmp_path / "access.log"
    web = start_gunicorn(processes, "web-logged", "--access-logfile", str(log))
    response = web.call("GET", "/api/sms/send?number=%2B15555550123&body=Your+code+is+482915", alice.key)
    wait_until(lambda: "/api/sms/send" in log.read_text(), 10, what="the request in the access log")
    assert response.status_code == 200
    assert "482915" not in log.read_text()
