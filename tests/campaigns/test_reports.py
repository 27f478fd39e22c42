"""Campaign reports: the numbers follow the messages as messaging.transitions moves them, in three queries
whatever the audience's size, exported as CSV, and only for the campaign's own tenant."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import jobs, reports, services
from campaigns.models import Campaign
from contacts import services as contacts
from contacts.models import Contact
from messaging.delivery import drain_gateway
from messaging.models import Message, Status
from messaging.services import add_suppression
from messaging.transitions import Report, apply_reports
from tests.campaigns.conftest import campaign_messages
from xsender.errors import NotFound

pytestmark = pytest.mark.django_db

LINK_A, LINK_B = "https://example.com/a", "https://example.com/b"


def send(campaign: Campaign, gateways) -> dict[str, Message]:
    """Starts the campaign, fans it out and delivers its messages through the console gateway (all Sent)."""
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    drain_gateway(gateway_id=gateways[campaign.channel].pk)
    campaign.refresh_from_db()
    return {m.recipient.split("@")[0]: m for m in campaign_messages(campaign)}


def report(message: Message, status: str, kind: str = "", **extra) -> None:
    apply_reports(reports=[Report(message=message, status=status, kind=kind, **extra)], keep_refused=True)


def outcomes(messages: dict[str, Message]) -> None:
    """a0 opens twice and clicks A; a1 clicks A then B; a3 bounces; a4 complains; a5 fails; a9 unsubscribes."""
    for name in ("a0", "a1", "a4", "a9"):
        report(messages[name], Status.DELIVERED)
    report(messages["a0"], Status.OPENED)
    report(messages["a0"], Status.OPENED)
    report(messages["a0"], Status.CLICKED, payload={"url": LINK_A})
    report(messages["a1"], Status.CLICKED, payload={"url": LINK_A})
    report(messages["a1"], Status.CLICKED, payload={"detail": {"esp_event": {"url": LINK_B}}})
    report(messages["a3"], Status.BOUNCED, error="550 no such user")
    report(messages["a4"], Status.COMPLAINED)
    report(messages["a5"], Status.FAILED, error="rejected")
    report(messages["a9"], "", kind="unsubscribed")


@pytest.fixture
def sent(campaign: Campaign, gateways) -> Campaign:
    outcomes(send(campaign, gateways))
    return campaign


def test_the_counts_follow_each_message_to_its_outcome(sent, alice):
    counts = reports.campaign_report(owner=alice.user, campaign=sent).counts
    assert (counts["targeted"], counts["skipped"], counts["messages"], counts["sent"]) == (6, 0, 6, 6)
    assert (counts["delivered"], counts["bounced"], counts["complained"], counts["failed"]) == (4, 1, 1, 1)
    assert (counts["unsubscribed"], counts["cancelled"], counts["queued"]) == (1, 0, 0)


def test_opens_and_clicks_are_counted_unique_per_message_and_in_total(sent, alice):
    counts = reports.campaign_report(owner=alice.user, campaign=sent).counts
    assert (counts["opened"], counts["opens_total"]) == (2, 2)  # a1 clicked without an open event: opened too
    assert (counts["clicked"], counts["clicks_total"]) == (2, 3)


def test_clicks_are_counted_per_link_named_by_our_tracking_or_the_esp(sent, alice):
    links = reports.campaign_report(owner=alice.user, campaign=sent).links
    assert links == [reports.LinkClicks(LINK_A, 2, 2), reports.LinkClicks(LINK_B, 1, 1)]


def test_rates_are_over_delivered_for_engagement_and_over_sent_for_delivery(sent, alice):
    rates = reports.campaign_report(owner=alice.user, campaign=sent).rates
    assert (rates["open_rate"], rates["click_rate"], rates["click_to_open_rate"]) == (0.5, 0.5, 1.0)
    assert (rates["delivery_rate"], rates["bounce_rate"]) == (0.6667, 0.1667)
    assert (rates["unsubscribe_rate"], rates["complaint_rate"]) == (0.25, 0.25)


def test_an_opt_out_after_the_start_counts_as_unsubscribed(campaign, gateways, alice):
    send(campaign, gateways)
    add_suppression(user=alice.user, channel="email", address="a3@example.com", reason="opt_out")
    add_suppression(user=alice.user, channel="email", address="a4@example.com", reason="bounce")
    assert reports.campaign_report(owner=alice.user, campaign=campaign).counts["unsubscribed"] == 1


def test_a_contact_unsubscribed_before_its_message_is_skipped(campaign, gateways, alice):
    services.start_campaign(campaign=campaign)
    contacts.update_contact(contact=Contact.objects.get(email="a9@example.com"), email_status="unsubscribed")
    jobs.fan_out_job(campaign.pk)
    counts = reports.campaign_report(owner=alice.user, campaign=campaign).counts
    assert (counts["targeted"], counts["skipped"], counts["messages"]) == (6, 1, 5)


def test_a_cancelled_campaign_counts_its_withdrawn_messages(campaign, alice):
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    services.cancel_campaign(campaign=campaign)
    counts = reports.campaign_report(owner=alice.user, campaign=campaign).counts
    assert (counts["cancelled"], counts["sent"], counts["queued"]) == (6, 0, 0)


def test_the_timeline_is_hourly_for_48_hours_then_daily(campaign, gateways, alice):
    messages = send(campaign, gateways)
    late = campaign.started_at + timedelta(days=3, hours=5)
    report(messages["a0"], Status.DELIVERED, at=late)
    timeline = reports.campaign_report(owner=alice.user, campaign=campaign).timeline
    first, last = timeline[0], timeline[-1]
    assert (first.hours, first.counts["sent"], first.start) == (
        1,
        6,
        campaign.started_at.replace(minute=0, second=0, microsecond=0),
    )
    assert (last.hours, last.counts["delivered"]) == (24, 1)
    assert first.start + timedelta(hours=48 + 24) == last.start


def make_campaign(owner, template, size: int) -> Campaign:
    members = contacts.create_list(owner=owner, name=f"Members {size}")
    for i in range(size):
        contacts.create_contact(owner=owner, email=f"m{size}-{i}@example.com", lists=[members.public_id])
    return services.create_campaign(
        owner=owner, channel="email", name=f"C{size}", template=template.public_id, include_lists=[members.public_id]
    )


@pytest.mark.parametrize("size", [10, 100])
def test_the_report_takes_three_queries_and_its_setting_whatever_the_audience(
    size, alice, gateways, template, django_assert_num_queries
):
    campaign = make_campaign(alice.user, template, size)
    messages = list(send(campaign, gateways).values())
    apply_reports(reports=[Report(message=m, status=Status.DELIVERED) for m in messages])
    apply_reports(reports=[Report(message=m, status=Status.CLICKED, payload={"url": LINK_A}) for m in messages[::2]])
    with django_assert_num_queries(4) as captured:  # SET LOCAL jit = off, then the three queries
        result = reports.campaign_report(owner=alice.user, campaign=campaign)
    assert captured.captured_queries[0]["sql"] == "SET LOCAL jit = off"
    assert (result.counts["delivered"], result.counts["clicked"]) == (size, size // 2)


def test_another_tenants_campaign_is_refused(campaign, bob):
    with pytest.raises(NotFound):
        reports.campaign_report(owner=bob.user, campaign=campaign)
    with pytest.raises(NotFound):
        reports.recipient_outcomes(owner=bob.user, campaign=campaign)
    with pytest.raises(NotFound):
        reports.report_csv(owner=bob.user, campaign=campaign)


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_recipients_export_streams_each_outcome(sent, alice):
    rows = read_csv(reports.recipients_csv(owner=alice.user, campaign=sent))
    by_address = {row[1]: row for row in rows[1:]}
    assert rows[0] == list(reports.OUTCOME_HEADER)
    assert len(by_address) == 6
    assert by_address["a3@example.com"][2:5:2] == ["Bounced", "550 no such user"]
    assert by_address["a0@example.com"][0] == Contact.objects.get(email="a0@example.com").public_id


def test_the_recipients_export_reads_in_chunks_and_names_skipped_ones(campaign, gateways, alice):
    services.start_campaign(campaign=campaign)
    contacts.update_contact(contact=Contact.objects.get(email="a9@example.com"), email_status="unsubscribed")
    jobs.fan_out_job(campaign.pk)
    rows = list(reports.recipient_outcomes(owner=alice.user, campaign=campaign, chunk=4))
    assert len(rows) == 6
    assert [row[2] for row in rows if row[1] == "a9@example.com"] == ["Skipped"]


def test_the_report_export_has_every_count_rate_and_link(sent, alice):
    rows = read_csv(reports.report_csv(owner=alice.user, campaign=sent))
    assert ["count", "targeted", "6", ""] in rows
    assert ["rate", "open_rate", "0.5", "opened / delivered"] in rows
    assert ["link", LINK_A, "2", "2"] in rows


URL = "/admin/campaigns/campaign/"


def test_the_admin_change_page_shows_the_report_and_its_exports(admin_client, sent):
    page = admin_client.get(f"{URL}{sent.pk}/change/", secure=True).content.decode()
    assert "open rate" in page and "50.0%" in page
    assert LINK_A in page
    export = admin_client.get(f"{URL}{sent.pk}/recipients.csv", secure=True)
    assert len(read_csv(export)) == 7


def test_the_report_of_a_draft_is_empty(campaign, alice):
    result = reports.campaign_report(owner=alice.user, campaign=campaign)
    assert result.counts["targeted"] == 0
    assert result.rates["open_rate"] is None
    assert result.timeline == [] and timezone.now() >= campaign.created_at


def test_csv_cells_a_spreadsheet_would_run_are_quoted():
    """A provider's error text or a tenant's link can start with =, @, + or -: quoted (CSV injection)."""
    from campaigns.reports import csv_lines

    lines = list(csv_lines([('=HYPERLINK("x")', "@x", "+1 555 0100", 3, None)]))
    assert lines == ['\'=HYPERLINK(""x"")",\'@x,+1 555 0100,3,\r\n'.replace("'=HYPERLINK", "\"'=HYPERLINK")]
