"""Unsubscribe in Chromium against gunicorn, a worker and an SMTP sink: a contact opens the unsubscribe link of a
campaign email (no sign-in), the page asks first and a GET changes nothing, the button unsubscribes; the tenant then
starts a second campaign to the same list from the panel's review page, and the sink receives it for everyone but
that contact. The public pages fit 375 px and 1,440 px."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from campaigns import services as campaigns
from campaigns.models import Campaign
from contacts import services as contacts
from contacts.models import Contact
from gateways.services import add_gateway
from tests.e2e.test_panel_devices import browser_page  # noqa: F401  (the Chromium page fixture)
from tests.e2e.test_panel_pages import carol, page, panel_url, shoot, sign_in  # noqa: F401  (fixtures, helpers)
from tests.fakes.smtp import SmtpSink
from tests.system.conftest import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ADDRESSES = ["ann@example.com", "ben@example.com", "cat@example.com"]


def unsubscribe_path(sink: SmtpSink, address: str) -> str:
    """The path of the unsubscribe link in the text of the message `address` received (the link's host is the
    worker's XSENDER_BASE_URL; the browser opens the same path on the panel's server)."""
    email = next(m.email for m in sink.messages if m.recipients == [address])
    text = next(p for p in email.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    return urlsplit(re.search(r"https?://\S+/u/\S+", text).group(0)).path


def test_a_contact_unsubscribes_by_the_link_and_the_next_campaign_skips_it(page, carol):  # noqa: F811
    customers = contacts.create_list(owner=carol, name="Customers")
    for address in ADDRESSES:
        contacts.create_contact(owner=carol, email=address, lists=[customers.public_id])
    template = campaigns.create_template(
        owner=carol, channel="email", name="News", subject="News", text="News. Unsubscribe: {{ unsubscribe_url }}"
    )
    with SmtpSink() as sink:
        config = {"host": "127.0.0.1", "port": sink.port, "from_email": "noreply@example.com"}
        add_gateway(owner=carol, channel="email", provider="smtp", identifier="smtp", config=config, is_default=True)
        first = campaigns.create_campaign(
            owner=carol, channel="email", name="First", template=template, include_lists=[customers.public_id]
        )
        campaigns.start_campaign(campaign=first)
        wait_until(lambda: len(sink.recipients) == 3, 30, what="the first campaign at the sink")

        # The contact opens the link: the page asks first (a link scanner's GET unsubscribes nobody).
        page.goto(page.base + unsubscribe_path(sink, "ben@example.com"))
        assert page.inner_text("h1") == "Unsubscribe"
        assert "b***@example.com" in page.inner_text("body") and "ben@" not in page.inner_text("body")  # masked
        assert Contact.objects.get(email="ben@example.com").email_status == "subscribed"
        shoot(page, "unsubscribe")  # the public page fits a phone and a desktop
        page.click("button[type=submit]")
        assert page.inner_text("h1") == "Unsubscribed"
        shoot(page, "unsubscribed")
        assert Contact.objects.get(email="ben@example.com").email_status == "unsubscribed"

        # The tenant starts the next campaign to the same list from the panel: ben is not among its recipients.
        second = campaigns.create_campaign(
            owner=carol, channel="email", name="Second", template=template, include_lists=[customers.public_id]
        )
        sign_in(page, carol)
        page.goto(f"{page.base}/campaigns/{second.public_id}/review/")
        assert page.inner_text("#review-recipients .big") == "2"
        page.click("#start-campaign")
        assert "Campaign “Second” started." in page.inner_text(".flashes")
        wait_until(lambda: len(sink.recipients) == 5, 30, what="the second campaign at the sink")
        assert sorted(sink.recipients[3:]) == ["ann@example.com", "cat@example.com"]
        assert Campaign.objects.get(pk=second.pk).recipients_count == 2
