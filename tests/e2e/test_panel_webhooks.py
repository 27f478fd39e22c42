"""The Webhooks page in Chromium against gunicorn and a worker: add an endpoint, copy its secret, send a test event
that a loopback receiver verifies with the standardwebhooks library, and see the attempt on the endpoint's page;
each page at 375 px and 1,440 px without overflow or CSP violation."""

from __future__ import annotations

import subprocess
import sys

import pytest
from standardwebhooks import Webhook

from accounts import services as accounts
from tests.e2e.test_panel_devices import browser_page  # noqa: F401  (the Chromium page fixture)
from tests.e2e.test_panel_pages import PASSWORD, shoot, sign_in
from tests.fakes.http import FakeServer, Reply
from tests.system.conftest import ROOT, start_web, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
LOOPBACK = {"XSENDER_ALLOW_INSECURE_HTTP": "true", "XSENDER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}


@pytest.fixture
def receiver():
    with FakeServer(lambda request: Reply(200, {"ok": True})) as server:
        yield server


@pytest.fixture
def page(browser_page, processes):  # noqa: F811
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=processes.env, check=True
    )
    processes.manage("worker", "xsender:worker", **LOOPBACK)
    errors: list[str] = []
    browser_page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_page.base = start_web(processes, **LOOPBACK).url
    yield browser_page
    assert [e for e in errors if "Content Security Policy" in e] == []


def test_a_tenant_adds_an_endpoint_and_sees_its_test_event_delivered(page, receiver):
    user, _ = accounts.create_user(email="carol@example.com", name="Carol", password=PASSWORD)
    sign_in(page, user)
    page.click("nav.nav >> text=Webhooks")
    shoot(page, "webhooks-empty")
    page.click("main >> text=Add endpoint")
    page.fill("#id_url", receiver.url + "/hooks")
    page.fill("#id_description", "Order system")
    page.click("main button[type=submit]")
    secret = page.input_value("#webhook-secret")
    assert secret.startswith("whsec_")
    shoot(page, "webhook-secret")
    page.click("text=Done")
    with page.expect_navigation():  # the form's POST, then its redirect back to the endpoint's page
        page.click("text=Send a test event")
    page.wait_for_load_state("load")
    endpoint = page.url
    wait_until(lambda: receiver.requests, what="the test event")
    event = Webhook(secret).verify(receiver.requests[0].raw, receiver.requests[0].headers)
    assert event["type"] == "webhook.test"

    def attempt_shown() -> bool:
        page.goto(endpoint)
        return "HTTP 200" in page.inner_text("main")

    wait_until(attempt_shown, what="the attempt on the endpoint's page")
    shoot(page, "webhook")
    page.click("text=← Webhooks")
    assert receiver.url in page.inner_text("main")
    shoot(page, "webhooks")
