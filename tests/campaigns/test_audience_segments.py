"""Segments in a campaign's audience: contacts matching an included segment join the lists' and tags' ones,
those matching an excluded segment leave, each contact once, resolved in SQL; only the owner's segments."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns import fanout, jobs, services
from contacts import services as contacts
from tests.campaigns.conftest import ACME, campaign_messages
from xsender.errors import ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture
def segment_campaign(alice, gateways, audience, template, segments):
    acme, a1 = segments
    return services.create_campaign(
        owner=alice.user,
        channel="email",
        name="Segments",
        template=template.public_id,
        include_lists=[audience.first.public_id],
        include_segments=[acme.public_id],
        exclude_segments=[a1.public_id],
    )


def test_a_segment_plus_a_list_minus_an_excluded_segment_gets_one_message_each(segment_campaign, bob):
    contacts.create_contact(owner=bob.user, email="bob@example.com", company="Acme")  # bob's: never alice's
    services.start_campaign(campaign=segment_campaign)
    jobs.fan_out_job(segment_campaign.pk)
    sent = Counter(campaign_messages(segment_campaign).values_list("recipient", flat=True))
    expected = {f"a{i}@example.com" for i in (0, 2, 3, 4, 5)} | {"b1@example.com"}
    assert sent == Counter(expected)


def test_the_audience_count_is_what_the_start_resolves(segment_campaign):
    counted = fanout.audience_count(segment_campaign)
    services.start_campaign(campaign=segment_campaign)
    segment_campaign.refresh_from_db()
    assert counted == segment_campaign.recipients_count == 6


def test_the_audience_is_counted_in_sql_whatever_the_segments_size(segment_campaign, alice):
    with CaptureQueriesContext(connection) as before:
        fanout.audience_count(segment_campaign)
    for i in range(30):
        contacts.create_contact(owner=alice.user, email=f"acme{i}@example.com", company="Acme")
    with CaptureQueriesContext(connection) as after:
        assert fanout.audience_count(segment_campaign) == 36
    assert len(after) == len(before) <= 4


def test_a_segment_alone_is_an_audience(alice, gateways, template, segments):
    acme, _ = segments
    campaign = services.create_campaign(
        owner=alice.user, channel="email", name="Acme only", template=template, include_segments=[acme.public_id]
    )
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    assert set(campaign_messages(campaign).values_list("recipient", flat=True)) == {"a0@example.com", "b1@example.com"}


def test_bobs_segments_are_refused_in_alices_campaign_naming_the_field(alice, bob, gateways, template):
    bobs = contacts.create_segment(owner=bob.user, name="Bob's", rules=ACME)
    with pytest.raises(ValidationFailed) as refused:
        services.create_campaign(
            owner=alice.user,
            channel="email",
            name="Mix",
            template=template,
            include_segments=[bobs.public_id],
            exclude_segments=[bobs.public_id],
        )
    assert {e["field"] for e in refused.value.errors} == {"include_segments", "exclude_segments"}


def test_an_unknown_segment_is_refused_naming_the_field(segment_campaign):
    with pytest.raises(ValidationFailed) as refused:
        services.update_campaign(campaign=segment_campaign, include_segments=["segment_" + "x" * 22])
    assert refused.value.errors[0]["field"] == "include_segments"


def test_updating_other_fields_keeps_the_segments(segment_campaign, segments):
    services.update_campaign(campaign=segment_campaign, name="Renamed")
    assert list(segment_campaign.include_segments.all()) == [segments[0]]
    assert list(segment_campaign.exclude_segments.all()) == [segments[1]]
