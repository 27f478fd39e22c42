"""Campaigns: the audience resolved once, one message per contact whatever stops the fan-out, credit reserved
for the whole audience before anything is sent, pause / resume / cancel, each tenant its own objects."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as accounts
from campaigns import fanout, jobs, services, sweeps
from campaigns.models import CampaignRecipient, CampaignStatus
from contacts import services as contacts
from messaging.models import Message, Status
from tests.campaigns.conftest import campaign_messages, run_low_queue
from xsender.errors import Conflict, CreditExhausted, ValidationFailed

pytestmark = pytest.mark.django_db


def recipients_of(campaign) -> Counter[str]:
    return Counter(campaign_messages(campaign).values_list("recipient", flat=True))


def test_overlapping_lists_minus_excluded_tag_and_suppressed_get_one_message_each(campaign, audience):
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    campaign.refresh_from_db()
    assert recipients_of(campaign) == Counter(audience.expected)
    assert (campaign.recipients_count, campaign.messages_count) == (6, 6)
    assert campaign.fanned_out_at is not None


def test_messages_are_rendered_for_each_contact_and_marked_as_campaign_messages(campaign):
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    message = campaign_messages(campaign).get(recipient="a9@example.com")
    assert (message.subject, message.body, message.source) == ("Hi A9", "Hello A9", "campaign")


def test_a_real_rq_worker_runs_the_fan_out_and_the_delivery(campaign, audience, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.start_campaign(campaign=campaign)
    with django_capture_on_commit_callbacks(execute=True):
        run_low_queue()  # the fan-out; its chunks' commits wake the drains
    run_low_queue()  # the drains
    assert set(campaign_messages(campaign).values_list("status", flat=True)) == {Status.SENT}
    assert recipients_of(campaign) == Counter(audience.expected)


def test_the_campaign_is_sent_once_its_messages_have_left_the_queue(campaign, django_capture_on_commit_callbacks):
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    assert sweeps.finish_sent() == 0  # its messages are still Pending
    with django_capture_on_commit_callbacks(execute=True):
        Message.objects.filter(pk__in=campaign_messages(campaign)).update(status=Status.PROCESSING)
    assert sweeps.finish_sent() == 0  # a worker is handing them to the gateway: not gone yet
    with django_capture_on_commit_callbacks(execute=True):
        Message.objects.filter(pk__in=campaign_messages(campaign)).update(status=Status.SENT)
    assert sweeps.finish_sent() == 1
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.SENT


def test_a_fan_out_stopped_after_one_chunk_resumes_without_a_second_message(campaign, audience):
    services.start_campaign(campaign=campaign)
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2) == 2
    jobs.fan_out_job(campaign.pk)
    jobs.fan_out_job(campaign.pk)  # a replayed job finds nothing left
    assert recipients_of(campaign) == Counter(audience.expected)


def test_a_chunk_killed_before_its_commit_leaves_nothing_and_the_rerun_sends_once(campaign, audience, monkeypatch):
    services.start_campaign(campaign=campaign)
    balance = accounts.balances(campaign.owner)["email"]

    def killed(rows, messages):
        raise SystemExit("worker killed")

    with monkeypatch.context() as patched:
        patched.setattr(fanout, "_record", killed)
        with pytest.raises(SystemExit):
            fanout.send_chunk(campaign_id=campaign.pk)
    assert Message.objects.count() == 0
    assert accounts.balances(campaign.owner)["email"] == balance
    jobs.fan_out_job(campaign.pk)
    assert recipients_of(campaign) == Counter(audience.expected)


def test_not_enough_credit_starts_nothing_and_names_the_shortfall(campaign):
    accounts.adjust_credits(user=campaign.owner, channel="email", delta=-96)  # 4 left, 6 needed
    with pytest.raises(CreditExhausted, match="2 short"):
        services.start_campaign(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert not CampaignRecipient.objects.exists()
    assert not Message.objects.exists()


def test_pause_stops_further_chunks_and_withdraws_queued_messages(campaign):
    services.start_campaign(campaign=campaign)
    fanout.send_chunk(campaign_id=campaign.pk, size=2)
    services.pause_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    assert not Message.objects.exclude(status=Status.CANCELLED).exists()
    assert not CampaignRecipient.objects.exclude(message_uid=None).exists()
    campaign.refresh_from_db()  # the withdrawn two refunded; the four not created yet stay reserved
    assert (accounts.balances(campaign.owner)["email"], campaign.reserved) == (96, 4)


def test_resume_sends_each_contact_one_live_message(campaign, audience):
    services.start_campaign(campaign=campaign)
    fanout.send_chunk(campaign_id=campaign.pk, size=2)
    services.pause_campaign(campaign=campaign)
    services.resume_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    assert recipients_of(campaign) == Counter(audience.expected)
    assert accounts.balances(campaign.owner)["email"] == 100 - len(audience.expected)


def test_cancel_withdraws_pending_messages_and_refunds_them(campaign):
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    services.cancel_campaign(campaign=campaign)
    assert set(campaign_messages(campaign).values_list("status", flat=True)) == {Status.CANCELLED}
    assert accounts.balances(campaign.owner)["email"] == 100


def test_cancel_leaves_a_message_a_worker_already_claimed(campaign):
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    claimed = campaign_messages(campaign).get(recipient="a0@example.com")
    Message.objects.filter(pk=claimed.pk).update(status=Status.PROCESSING)
    services.cancel_campaign(campaign=campaign)
    claimed.refresh_from_db()
    assert claimed.status == Status.PROCESSING
    assert accounts.balances(campaign.owner)["email"] == 99


def test_a_cancelled_campaign_creates_no_more_messages(campaign):
    services.start_campaign(campaign=campaign)
    fanout.send_chunk(campaign_id=campaign.pk, size=2)
    services.cancel_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    assert campaign_messages(campaign).count() == 2


def test_a_contact_unsubscribed_after_the_start_is_skipped(campaign, audience):
    services.start_campaign(campaign=campaign)
    contacts.update_contact(contact=contacts.Contact.objects.get(email="a9@example.com"), email_status="unsubscribed")
    jobs.fan_out_job(campaign.pk)
    campaign.refresh_from_db()
    assert recipients_of(campaign) == Counter(audience.expected - {"a9@example.com"})
    assert campaign.skipped_count == 1


def test_a_message_refused_for_two_reasons_is_skipped_alone(alice, gateways, audience):
    # Data written before today's checks (an address and a value no form accepts now): a3's message breaks two
    # rules of the send path at once; it is skipped with its first reason, the others are sent.
    bio = contacts.create_custom_field(owner=alice.user, name="Bio", type="text")
    contacts.Contact.objects.filter(email="a3@example.com").update(
        email="a3@@example.com", custom={bio.public_id: "x" * 999}
    )
    template = services.create_template(
        owner=alice.user, channel="email", name="Bio", subject="Hi {{ custom.Bio }}", text="Hi"
    )
    campaign = services.create_campaign(
        owner=alice.user, channel="email", name="Bio", template=template.public_id,
        include_lists=[audience.first.public_id, audience.second.public_id], exclude_tags=["vip"],
    )  # fmt: skip
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    campaign.refresh_from_db()
    assert campaign.status != CampaignStatus.PAUSED, campaign.last_error
    assert recipients_of(campaign) == Counter(audience.expected - {"a3@example.com"})
    skipped = CampaignRecipient.objects.get(campaign=campaign, contact__email="a3@@example.com")
    assert skipped.message_uid is None and skipped.skipped.startswith("recipient:")


def test_the_throttle_spreads_messages_over_minutes(campaign):
    services.update_campaign(campaign=campaign, throttle=2)
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    statuses = Counter(campaign_messages(campaign).values_list("status", flat=True))
    assert statuses == {Status.PENDING: 2, Status.SCHEDULED: 4}
    latest = campaign_messages(campaign).exclude(schedule_at=None).order_by("-schedule_at").first().schedule_at
    assert timedelta(minutes=1, seconds=50) < latest - timezone.now() <= timedelta(minutes=2)


def test_a_scheduled_campaign_is_started_by_the_sweep_when_due(campaign, audience):
    services.schedule_campaign(campaign=campaign, schedule_at=timezone.now() + timedelta(hours=1))
    assert sweeps.start_due() == 0
    assert sweeps.start_due(now=timezone.now() + timedelta(hours=2)) == 1
    jobs.fan_out_job(campaign.pk)
    assert recipients_of(campaign) == Counter(audience.expected)


def test_a_sending_campaign_whose_job_was_lost_is_queued_again(campaign, django_capture_on_commit_callbacks):
    services.start_campaign(campaign=campaign)  # its job is never run: lost
    later = timezone.now() + sweeps.STALE_AFTER + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweeps.requeue_lost(now=later) == 1
    run_low_queue()
    assert campaign_messages(campaign).count() == 6


def test_bobs_lists_tags_and_template_are_refused_in_alices_campaign(alice, bob, gateways, template):
    bobs_list = contacts.create_list(owner=bob.user, name="Bob's")
    bobs_tag = contacts.get_or_create_tag(owner=bob.user, name="bobtag")
    bobs_template = services.create_template(owner=bob.user, channel="email", name="B", subject="S", text="T")
    with pytest.raises(ValidationFailed) as refused:
        services.create_campaign(
            owner=alice.user,
            channel="email",
            name="Mix",
            template=bobs_template.public_id,
            include_lists=[bobs_list.public_id],
            include_tags=[bobs_tag.public_id],
        )
    assert {e["field"] for e in refused.value.errors} == {"template", "include_lists", "include_tags"}


def test_two_tenants_audiences_never_mix(campaign, bob, audience):
    contacts.create_contact(owner=bob.user, email="bob-contact@example.com", tags=["vip"])
    contacts.create_contact(owner=bob.user, email="a9@example.com")
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    assert set(campaign_messages(campaign).values_list("user_id", flat=True)) == {campaign.owner_id}
    assert recipients_of(campaign) == Counter(audience.expected)


def test_a_started_campaign_can_no_longer_be_changed(campaign):
    services.start_campaign(campaign=campaign)
    with pytest.raises(Conflict):
        services.update_campaign(campaign=campaign, name="Other")


def test_a_campaign_needs_an_audience_to_start(alice, gateways, template):
    empty = services.create_campaign(owner=alice.user, channel="email", name="Empty", template=template)
    with pytest.raises(ValidationFailed) as refused:
        services.start_campaign(campaign=empty)
    assert refused.value.errors[0]["field"] == "include_lists"


def test_credit_spent_elsewhere_mid_run_does_not_stop_the_campaign(campaign, audience):
    services.start_campaign(campaign=campaign)
    fanout.send_chunk(campaign_id=campaign.pk, size=2)
    accounts.adjust_credits(user=campaign.owner, channel="email", delta=-94)  # all but the reserved 4 taken away
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2) == 2  # paid from the reservation
    jobs.fan_out_job(campaign.pk)
    assert recipients_of(campaign) == Counter(audience.expected)
    assert accounts.balances(campaign.owner)["email"] == 0


def test_a_chunk_costs_the_same_queries_whatever_its_size(campaign):
    services.start_campaign(campaign=campaign)
    with CaptureQueriesContext(connection) as small:
        fanout.send_chunk(campaign_id=campaign.pk, size=2)
    with CaptureQueriesContext(connection) as large:
        fanout.send_chunk(campaign_id=campaign.pk, size=4)
    assert len(large) == len(small)


def test_a_due_campaign_without_credit_is_paused_and_resumes_once_topped_up(campaign, audience):
    services.schedule_campaign(campaign=campaign, schedule_at=timezone.now() + timedelta(hours=1))
    accounts.adjust_credits(user=campaign.owner, channel="email", delta=-100)
    sweeps.start_due(now=timezone.now() + timedelta(hours=2))
    campaign.refresh_from_db()
    assert (campaign.status, "short" in campaign.last_error) == (CampaignStatus.PAUSED, True)
    accounts.add_credits(user=campaign.owner, channel="email", amount=10)
    services.resume_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    assert recipients_of(campaign) == Counter(audience.expected)
