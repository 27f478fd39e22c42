"""Campaigns in Chromium against gunicorn, a worker and an SMTP sink: a tenant with a list of three contacts and an
email template runs the wizard (audience → content → schedule → review) to Start, follows the campaign's report until
its three messages have reached the sink, and the pages fit 375 px and 1,440 px (screenshots to docs/screenshots/
only with XSENDER_SCREENSHOTS)."""

from __future__ import annotations

import pytest

from campaigns import services as campaigns
from campaigns.models import Campaign
from contacts import services as contacts
from gateways.services import add_gateway
from tests.e2e.test_panel_devices import browser_page  # noqa: F401  (the Chromium page fixture)
from tests.e2e.test_panel_pages import carol, page, panel_url, shoot, sign_in  # noqa: F401  (fixtures, helpers)
from tests.fakes.smtp import SmtpSink
from tests.system.conftest import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
ADDRESSES = ["ann@example.com", "ben@example.com", "cat@example.com"]


def test_a_tenant_runs_the_campaign_wizard_to_start_and_sees_its_messages_sent(page, carol):  # noqa: F811
    customers = contacts.create_list(owner=carol, name="Customers")
    for address in ADDRESSES:
        contacts.create_contact(owner=carol, email=address, first_name=address[:3].title(), lists=[customers.public_id])
    campaigns.create_template(owner=carol, channel="email", name="News", subject="Hi {{ first_name }}", text="News")
    with SmtpSink() as sink:
        config = {"host": "127.0.0.1", "port": sink.port, "from_email": "noreply@example.com"}
        add_gateway(
            owner=carol, channel="email", provider="smtp", identifier="smtp-main", config=config, is_default=True
        )
        sign_in(page, carol)
        page.click("nav.nav >> text=Campaigns")
        assert "No campaigns yet — create your first one" in page.inner_text("main")
        page.click("#add-campaign")
        page.click("#campaign-channels >> text=Email")
        page.fill("#id_name", "Spring news")
        page.select_option("#id_template", label="News")
        page.click("#campaign-new-form button[type=submit]")

        page.check("#id_include_lists_0")  # the first (only) list under "Send to these lists"
        shoot(page, "campaign-audience")
        page.click("#campaign-audience-form button[type=submit]")
        page.click("#campaign-content-form button[type=submit]")
        assert page.is_visible("label[for=id_contact_time_zone] >> text=in each contact's time zone")
        page.click("#campaign-schedule-form button[type=submit]")
        assert page.inner_text("#review-recipients .big") == "3"
        assert page.inner_text("#review-cost .big") == "3"
        shoot(page, "campaign-review")
        page.click("#start-campaign")

        assert "Campaign “Spring news” started." in page.inner_text(".flashes")
        wait_until(lambda: len(sink.recipients) >= 3, 30, what="the sink to receive three messages")
        sent = "#report-counts tr[data-count=sent] td"
        wait_until(lambda: page.reload() or page.inner_text(sent) == "3", what="the report to count them sent")
        assert sorted(sink.recipients) == ADDRESSES
        shoot(page, "campaign")
        page.click("text=← Campaigns")
        assert "Spring news" in page.inner_text("#campaigns-table")
        assert Campaign.objects.get(owner=carol).messages_count == 3
        shoot(page, "campaigns")


def test_a_tenant_writes_a_campaigns_content_in_the_wizard_with_a_live_preview(page, carol):  # noqa: F811
    contacts.create_contact(owner=carol, email="ann@example.com", first_name="Ann")
    sign_in(page, carol)
    page.goto(f"{page.base}/campaigns/new/?channel=email")
    assert page.is_checked("input[name=source][value=inline]")  # no saved template yet: written here
    page.fill("#id_name", "Written news")
    page.fill("#id_subject", "Hello {{ first_name }}")
    page.fill("#id_text", "Dear {{ first_name }}")
    page.click("#campaign-new-form button[type=submit]")
    assert "Draft campaign “Written news” created" in page.inner_text(".flashes")

    draft = Campaign.objects.get(owner=carol)
    page.goto(f"{page.base}/campaigns/{draft.public_id}/content/")
    assert page.inner_text("#preview-subject") == "Hello Ann"
    page.fill("#id_subject", "Spring for {{ first_name }}")  # htmx previews it as typed, nothing saved
    wait_until(lambda: page.inner_text("#preview-subject") == "Spring for Ann", 10, what="the live preview")
    shoot(page, "campaign-content-written")
    page.click("#campaign-content-form button[value=save]")
    draft.template.refresh_from_db()
    assert draft.template.subject == "Spring for {{ first_name }}" and draft.template.campaign_only
