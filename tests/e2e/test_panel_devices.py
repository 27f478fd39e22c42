"""The tenant panel in a real browser: log in, add a device, see its QR code and token, pair, revoke."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import requests
from django.db import connections

from accounts import services as accounts
from devices import services
from devices.models import AndroidDevice
from tests.system.conftest import free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture
def panel_url(processes) -> str:
    """The panel served by gunicorn over plain HTTP on loopback, as in local development."""
    port = free_port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    processes.start(
        "gunicorn",
        gunicorn,
        "xsender.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        XSENDER_ALLOW_INSECURE_HTTP="true",
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: _up(url), what="the panel to answer")
    return url


def _up(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield browser.new_page()
        browser.close()
        # While Playwright's loop runs, Django keeps this test's connection in that loop's context, out of
        # reach of the test database teardown: close it here.
        connections.close_all()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def test_tenant_adds_a_device_sees_the_qr_and_revokes_it(panel_url, browser_page):
    user, _ = accounts.create_user(email="carol@example.com", name="Carol", password="carol-passphrase-42")
    page = browser_page
    page.goto(f"{panel_url}/")
    page.fill("input[name=username]", "carol@example.com")
    page.fill("input[name=password]", "carol-passphrase-42")
    page.click("button[type=submit]")
    page.hover("nav.nav >> text=Gateways")
    page.click("nav.nav >> text=Android")
    page.click("text=Add Device")
    token = page.inner_text("#pairing-token")
    assert token.startswith("ATKN-")
    assert page.locator("#pairing-qr svg").count() == 1

    services.register_session(
        pairing_token=token, device_uuid="pixel-7", device_name="Office Pixel", android_version="14"
    )
    page.click("text=Done")
    assert "Office Pixel" in page.inner_text("table")
    page.click("text=Revoke")
    assert "revoked" in page.inner_text("table")
    assert AndroidDevice.objects.get(user=user).is_active is False
