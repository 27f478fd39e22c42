"""Senders in Chromium against real processes (gunicorn whose own mail goes to an SMTP sink, a worker): a tenant
adds a from-address, sees a bad one refused at its field, opens the confirmation link the sink received, presses
Confirm, and the Senders page then shows the address as verified; the page fits 375 px and 1,440 px (screenshots
to docs/screenshots/ only with XSENDER_SCREENSHOTS)."""

from __future__ import annotations

import re

import pytest

from campaigns.models import Sender
from tests.e2e.test_panel_account import carol, page, sign_in, site  # noqa: F401  (fixtures, helpers)
from tests.e2e.test_panel_devices import browser_page  # noqa: F401  (the Chromium page fixture)
from tests.e2e.test_panel_pages import shoot
from tests.system.conftest import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CONFIRM_LINK = re.compile(r"(http://127\.0\.0\.1:\d+/senders/confirm/[\w-]+/)")


def test_a_tenant_adds_a_sender_and_confirms_it_by_the_emailed_link(page, site, carol):  # noqa: F811
    sign_in(page, carol.email)
    page.click("nav.nav >> text=Senders")
    assert "No senders yet" in page.inner_text("main")

    page.fill("#id_email", "not an address")
    page.click("#add-sender button[type=submit]")
    assert "is not a valid email address" in page.inner_text("#id_email_error")
    assert not Sender.objects.exists() and site.sink.messages == []

    page.fill("#id_email", "News@Example.com")
    page.fill("#id_name", "Carol News")
    page.click("#add-sender button[type=submit]")
    assert "We sent a link to news@example.com" in page.inner_text(".flashes")
    assert "Waiting for confirmation" in page.inner_text("#senders-table")
    shoot(page, "senders-waiting")

    wait_until(lambda: site.sink.messages, what="the confirmation mail")
    (received,) = site.sink.messages
    assert received.recipients == ["news@example.com"]
    link = CONFIRM_LINK.search(received.email.get_payload(decode=True).decode()).group(1)
    page.goto(link)
    shoot(page, "sender-confirm")  # the public page the link opens, without signing in
    page.click("text=Confirm news@example.com")
    assert "Sender confirmed" in page.inner_text("h1")
    shoot(page, "sender-confirmed")

    page.goto(f"{page.base}/senders/")
    row = page.inner_text("#senders-table")
    assert "Verified" in row and "Waiting for confirmation" not in row
    assert page.locator("#senders-table button", has_text="Send the link again").count() == 0
    shoot(page, "senders")
