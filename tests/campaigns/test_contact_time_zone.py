"""Campaigns sent at a time in each contact's time zone: each message Scheduled for the campaign's wall-clock time
on its contact's clock (the server's for contacts without a zone), now once that moment has passed, the later of
that and the throttle's slot; the campaign starts when the first zone (UTC+14) reaches the time and stays Sending
while messages wait; the option needs a time; the panel's schedule step and review."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import fanout, jobs, local_time, services, sweeps
from campaigns.models import Campaign, CampaignStatus
from contacts import services as contacts
from contacts.models import Contact
from messaging.models import Status
from tests.campaigns.conftest import campaign_messages
from tests.panel.conftest import signed_in
from xsender.errors import ValidationFailed

pytestmark = pytest.mark.django_db

PARIS, TOKYO, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("Asia/Tokyo"), ZoneInfo("America/New_York")
NINE_IN_PARIS = datetime(2099, 6, 1, 9, 0, tzinfo=PARIS)  # 07:00 UTC (summer time)


def in_zones(**by_contact: str) -> None:
    """a0="Asia/Tokyo" …: the audience's contacts (a0@example.com …) get these zones."""
    for name, zone in by_contact.items():
        contacts.update_contact(contact=Contact.objects.get(email=f"{name}@example.com"), time_zone=zone)


def sent_at(campaign: Campaign) -> dict[str, tuple[str, datetime | None]]:
    """Each recipient's message: (status, schedule_at in UTC)."""
    rows = campaign_messages(campaign).values_list("recipient", "status", "schedule_at")
    return {r: (s, at.astimezone(UTC) if at else None) for r, s, at in rows}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def paris(settings):
    settings.TIME_ZONE = "Europe/Paris"


# ---------------------------------------------------------------- the moments


def test_each_message_is_scheduled_at_the_wall_clock_time_in_its_contacts_zone(paris, campaign):
    in_zones(a0="Asia/Tokyo", a1="America/New_York")  # the others have none: the server's, Paris
    services.update_campaign(campaign=campaign, schedule_at=NINE_IN_PARIS, contact_time_zone=True)
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    at = sent_at(campaign)
    assert at["a0@example.com"] == (Status.SCHEDULED, utc(2099, 6, 1, 0, 0))  # 09:00 in Tokyo
    assert at["a1@example.com"] == (Status.SCHEDULED, utc(2099, 6, 1, 13, 0))  # 09:00 in New York
    assert {at[f"a{i}@example.com"] for i in (3, 4, 5, 9)} == {(Status.SCHEDULED, utc(2099, 6, 1, 7, 0))}


def test_without_the_option_every_contact_gets_the_servers_time(paris, campaign):
    in_zones(a0="Asia/Tokyo")
    services.update_campaign(campaign=campaign, schedule_at=NINE_IN_PARIS)
    services.start_campaign(campaign=campaign)  # started by hand before its time: no waiting at all
    jobs.fan_out_job(campaign.pk)
    assert {status for status, _ in sent_at(campaign).values()} == {Status.PENDING}


def test_the_same_wall_clock_time_follows_each_zones_summer_and_winter_time(paris, campaign):
    in_zones(a1="America/New_York")
    winter = datetime(2099, 1, 15, 9, 0, tzinfo=PARIS)  # 08:00 UTC; New York is UTC-5 then
    services.update_campaign(campaign=campaign, schedule_at=winter, contact_time_zone=True)
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    at = sent_at(campaign)
    assert (at["a1@example.com"][1], at["a0@example.com"][1]) == (utc(2099, 1, 15, 14, 0), utc(2099, 1, 15, 8, 0))


def test_a_local_time_already_past_goes_now_and_a_later_one_waits(settings, campaign):
    settings.TIME_ZONE = "UTC"
    in_zones(a0="Asia/Tokyo", a1="America/Phoenix")  # neither changes its clocks: UTC+9 and UTC-7
    wall = (timezone.now() + timedelta(hours=3)).replace(second=0, microsecond=0)
    services.update_campaign(campaign=campaign, schedule_at=wall, contact_time_zone=True)
    services.schedule_campaign(campaign=campaign)  # Tokyo passed that time 6 hours ago: it starts at once
    jobs.fan_out_job(campaign.pk)
    at = sent_at(campaign)
    assert at["a0@example.com"] == (Status.PENDING, None)
    assert at["a1@example.com"] == (Status.SCHEDULED, wall + timedelta(hours=7))
    assert at["a3@example.com"] == (Status.SCHEDULED, wall)


def test_with_a_throttle_each_message_goes_at_the_later_of_its_slot_and_its_local_time(settings, campaign):
    settings.TIME_ZONE = "UTC"
    in_zones(a0="Asia/Tokyo", a9="Asia/Tokyo", a1="America/Phoenix")  # positions: a0 1, a1 2, … a9 6
    wall = (timezone.now() + timedelta(hours=3)).replace(second=0, microsecond=0)
    services.update_campaign(campaign=campaign, schedule_at=wall, contact_time_zone=True, throttle=1)
    services.schedule_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    campaign.refresh_from_db()
    at = sent_at(campaign)
    assert at["a0@example.com"] == (Status.PENDING, None)  # its slot is the first, its time in Tokyo past
    assert at["a9@example.com"] == (Status.SCHEDULED, campaign.pace_from + timedelta(minutes=5))  # the slot
    assert at["a1@example.com"] == (Status.SCHEDULED, wall + timedelta(hours=7))  # Phoenix's time, past its slot


def test_the_contacts_zones_cost_no_query_per_contact(paris, campaign):
    in_zones(a0="Asia/Tokyo", a1="America/New_York", a3="Australia/Sydney")
    services.update_campaign(campaign=campaign, schedule_at=NINE_IN_PARIS, contact_time_zone=True)
    services.start_campaign(campaign=campaign)
    with CaptureQueriesContext(connection) as small:
        fanout.send_chunk(campaign_id=campaign.pk, size=2)
    with CaptureQueriesContext(connection) as large:
        fanout.send_chunk(campaign_id=campaign.pk, size=4)
    assert len(large) == len(small)
    assert sent_at(campaign)["a3@example.com"][1] == utc(2099, 5, 31, 23, 0)  # 09:00 in Sydney (UTC+10)


# ---------------------------------------------------------------- when the campaign starts


def test_the_campaign_starts_when_the_first_zone_reaches_its_time(paris, campaign):
    services.update_campaign(campaign=campaign, schedule_at=NINE_IN_PARIS, contact_time_zone=True)
    services.schedule_campaign(campaign=campaign)
    first = utc(2099, 5, 31, 19, 0)  # 09:00 on 1 June at UTC+14
    assert local_time.starts_at(NINE_IN_PARIS, True) == first
    assert sweeps.start_due(now=first - timedelta(seconds=1)) == 0
    assert sweeps.start_due(now=first) == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENDING


def test_a_campaign_in_the_servers_zone_waits_for_its_own_time(paris, campaign):
    services.update_campaign(campaign=campaign, schedule_at=NINE_IN_PARIS)
    services.schedule_campaign(campaign=campaign)
    assert sweeps.start_due(now=utc(2099, 6, 1, 6, 59)) == 0
    assert sweeps.start_due(now=utc(2099, 6, 1, 7, 0)) == 1


def test_the_campaign_stays_sending_while_its_messages_wait_for_their_zones(paris, campaign):
    in_zones(a0="Asia/Tokyo")
    services.update_campaign(campaign=campaign, schedule_at=NINE_IN_PARIS, contact_time_zone=True)
    services.schedule_campaign(campaign=campaign)
    sweeps.start_due(now=utc(2099, 5, 31, 19, 0))
    jobs.fan_out_job(campaign.pk)
    assert sweeps.finish_sent() == 0
    campaign.refresh_from_db()
    assert (campaign.status, campaign.messages_count) == (CampaignStatus.SENDING, 6)
    assert not campaign_messages(campaign).exclude(status=Status.SCHEDULED).exists()


# ---------------------------------------------------------------- the option's rules


def test_the_option_needs_a_time_to_send_at(campaign):
    with pytest.raises(ValidationFailed) as refused:
        services.update_campaign(campaign=campaign, contact_time_zone=True)
    assert refused.value.errors[0]["field"] == "contact_time_zone"
    assert Campaign.objects.get(pk=campaign.pk).contact_time_zone is False


def test_the_option_is_true_or_false(campaign):
    with pytest.raises(ValidationFailed) as refused:
        services.update_campaign(campaign=campaign, schedule_at=NINE_IN_PARIS, contact_time_zone="yes")
    assert refused.value.errors[0]["field"] == "contact_time_zone"


def test_the_option_goes_with_a_throttle_or_without_one(campaign):
    services.update_campaign(campaign=campaign, schedule_at=NINE_IN_PARIS, contact_time_zone=True, throttle=100)
    services.update_campaign(campaign=campaign, throttle=None)
    campaign.refresh_from_db()
    assert (campaign.contact_time_zone, campaign.throttle) == (True, None)


# ---------------------------------------------------------------- the panel


def step_url(name: str, campaign: Campaign) -> str:
    return reverse(f"panel:{name}", kwargs={"public_id": campaign.public_id})


def test_the_schedule_step_saves_the_option_and_the_review_shows_it(paris, alice, campaign):
    panel = signed_in(alice.user)
    data = {"schedule_at": "2099-06-01T09:00", "contact_time_zone": "on", "throttle": ""}
    response = panel.post(step_url("campaign-schedule", campaign), data, secure=True)
    campaign.refresh_from_db()
    assert response.status_code == 302
    assert (campaign.contact_time_zone, campaign.schedule_at) == (True, NINE_IN_PARIS)
    review = panel.get(step_url("campaign-review", campaign), secure=True).content.decode()
    summary = review[review.index('id="review-time-zone"') :]
    assert "each contact's time zone" in summary and "created from" in summary and "2099-05-31 21:00:00 CEST" in summary
    assert "Schedule</button>" in review
    again = panel.get(step_url("campaign-schedule", campaign), secure=True).content.decode()
    assert re.search(r"<input[^>]*name=\"contact_time_zone\"[^>]*checked", again)


def test_the_option_without_a_time_is_shown_at_its_field_and_nothing_changes(alice, campaign):
    data = {"schedule_at": "", "contact_time_zone": "on", "throttle": "5"}
    response = signed_in(alice.user).post(step_url("campaign-schedule", campaign), data, secure=True)
    campaign.refresh_from_db()
    assert response.status_code == 400
    assert 'id="id_contact_time_zone_error"' in response.content.decode()
    assert (campaign.contact_time_zone, campaign.throttle) == (False, None)
