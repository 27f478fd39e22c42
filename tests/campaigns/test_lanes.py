"""A campaign fanned out in lanes (campaigns.jobs, campaigns.fanout "lanes and drafts"): each lane drafts its
chunks without a lock and commits them under the campaign's lock, taking only recipients that still have no
message — so lanes running at once, replayed jobs and drafts overtaken by the tenant still give every contact
exactly one message, as the contact and the template are when the chunk commits."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection
from django_rq import get_queue

from accounts import services as accounts
from campaigns import fanout, jobs, services
from campaigns.models import Campaign, CampaignRecipient, Template
from contacts import services as contacts
from contacts.models import Contact
from tests.campaigns.conftest import campaign_messages

pytestmark = pytest.mark.django_db


def big_campaign(alice, count: int) -> Campaign:
    owner = alice.user
    accounts.add_credits(user=owner, channel="email", amount=count)
    Contact.objects.bulk_create(
        Contact(owner=owner, email=f"p{i}@example.com", first_name=f"P{i}") for i in range(count)
    )
    listed = contacts.create_list(owner=owner, name="Many")
    ids = list(Contact.objects.filter(owner=owner, email__startswith="p").values_list("public_id", flat=True))
    contacts.add_to_lists(owner=owner, contact_ids=ids, list_ids=[listed.public_id])
    template = services.create_template(
        owner=owner, channel="email", name="Many", subject="Hi {{ first_name }}", text="Hello {{ first_name }}"
    )
    campaign = services.create_campaign(
        owner=owner, channel="email", name="Many", template=template.public_id, include_lists=[listed.public_id]
    )
    services.start_campaign(campaign=campaign)
    return campaign


def positions_with_messages(campaign: Campaign) -> list[int]:
    settled = CampaignRecipient.objects.filter(campaign=campaign).exclude(message_uid=None)
    return sorted(settled.values_list("position", flat=True))


@pytest.mark.django_db(transaction=True)
def test_lanes_on_threads_with_a_replayed_job_give_every_contact_exactly_one_message(alice, gateways):
    count = 300
    campaign = big_campaign(alice, count)
    before = accounts.balances(alice.user)["email"]
    barrier, errors = threading.Barrier(3), []

    def lane(number: int) -> None:
        try:
            barrier.wait()
            while fanout.send_chunk(campaign_id=campaign.pk, size=20, lane=number, lanes=2):
                pass
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=lane, args=(n,)) for n in (0, 1, 0)]  # lane 0 twice: a replayed job
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []

    sent = Counter(campaign_messages(campaign).values_list("recipient", flat=True))
    assert sent == Counter({f"p{i}@example.com": 1 for i in range(count)})
    recipients = CampaignRecipient.objects.filter(campaign=campaign)
    assert not recipients.filter(message_uid=None).exists()
    assert len(set(recipients.values_list("message_uid", flat=True))) == count
    campaign.refresh_from_db()
    assert (campaign.messages_count, campaign.skipped_count, campaign.cost, campaign.reserved) == (count, 0, count, 0)
    assert campaign.fanned_out_at is not None
    # The start reserved the whole audience; each message was paid from it once: nothing more taken or given back.
    assert accounts.balances(alice.user)["email"] == before


def test_lanes_take_alternate_blocks_and_a_lane_done_with_its_own_helps_from_the_end(alice, gateways):
    campaign = big_campaign(alice, 10)
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2, lane=1, lanes=2) == 2
    assert positions_with_messages(campaign) == [3, 4]
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2, lane=0, lanes=2) == 2
    assert positions_with_messages(campaign) == [1, 2, 3, 4]
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2, lane=1, lanes=2) == 2
    assert positions_with_messages(campaign) == [1, 2, 3, 4, 7, 8]
    # Lane 1's blocks are done: it takes the last recipients left, away from where lane 0 goes on.
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2, lane=1, lanes=2) == 2
    assert positions_with_messages(campaign) == [1, 2, 3, 4, 7, 8, 9, 10]
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2, lane=0, lanes=2) == 2
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2, lane=0, lanes=2) == 0
    assert positions_with_messages(campaign) == list(range(1, 11))


def fan_outs() -> list[tuple]:
    return [(job.args, job.kwargs) for job in get_queue("low").get_jobs() if job.func_name.endswith("fan_out_job")]


def test_enqueue_queues_one_job_per_lane_and_each_continues_its_own_lane(
    alice, gateways, settings, django_capture_on_commit_callbacks
):
    settings.XSENDER_CAMPAIGN_LANES = 2
    get_queue("low").empty()
    with django_capture_on_commit_callbacks(execute=True):
        campaign = big_campaign(alice, 5)  # start_campaign queues its lanes once committed

    assert fan_outs() == [((campaign.pk,), {"lane": 0, "lanes": 2}), ((campaign.pk,), {"lane": 1, "lanes": 2})]
    get_queue("low").empty()
    with django_capture_on_commit_callbacks(execute=True):  # django-rq queues a job once the caller commits
        assert jobs.fan_out_job(campaign.pk, slice_seconds=0, lane=1, lanes=2) == 5  # one lane finishes it all
    assert fan_outs() == [((campaign.pk,), {"lane": 1, "lanes": 2})]  # its continuation, then nothing left
    assert jobs.fan_out_job(campaign.pk, lane=1, lanes=2) == 0


def test_a_draft_overtaken_by_the_tenant_commits_what_the_contact_and_template_are_then(alice, gateways, monkeypatch):
    campaign = big_campaign(alice, 4)
    real = fanout.draft_chunk

    def overtaken(**kwargs):
        drafted = real(**kwargs)
        # Between the draft and the chunk's lock: one contact renamed, one unsubscribed.
        contacts.update_contact(contact=Contact.objects.get(email="p0@example.com"), first_name="Renamed")
        contacts.update_contact(contact=Contact.objects.get(email="p1@example.com"), email_status="unsubscribed")
        return drafted

    monkeypatch.setattr(fanout, "draft_chunk", overtaken)
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2) == 2
    subjects = dict(campaign_messages(campaign).values_list("recipient", "subject"))
    assert subjects == {"p0@example.com": "Hi Renamed"}
    skipped = CampaignRecipient.objects.filter(campaign=campaign).exclude(skipped="")
    assert list(skipped.values_list("contact__email", flat=True)) == ["p1@example.com"]

    def edited(**kwargs):
        drafted = real(**kwargs)
        Template.objects.filter(pk=campaign.template_id).update(subject="New {{ first_name }}")
        return drafted

    monkeypatch.setattr(fanout, "draft_chunk", edited)
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2) == 2
    subjects = dict(campaign_messages(campaign).values_list("recipient", "subject"))
    assert subjects == {"p0@example.com": "Hi Renamed", "p2@example.com": "New P2", "p3@example.com": "New P3"}


def test_a_draft_whose_recipients_another_job_settled_meanwhile_sends_none_of_them_again(alice, gateways, monkeypatch):
    campaign = big_campaign(alice, 6)
    real, raced = fanout.draft_chunk, []

    def overtaken(**kwargs):
        drafted = real(**kwargs)
        if not raced:  # another job drafts and commits the same recipients first
            raced.append(None)
            raced[0] = fanout.send_chunk(campaign_id=campaign.pk, size=2)
        return drafted

    monkeypatch.setattr(fanout, "draft_chunk", overtaken)
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2) == 2  # the next two instead, rendered under the lock
    assert raced == [2]
    assert positions_with_messages(campaign) == [1, 2, 3, 4]
    while fanout.send_chunk(campaign_id=campaign.pk, size=2):
        pass
    sent = Counter(campaign_messages(campaign).values_list("recipient", flat=True))
    assert sent == Counter({f"p{i}@example.com": 1 for i in range(6)})


def test_a_draft_overtaken_by_a_custom_value_or_a_renamed_field_commits_what_they_are_then(
    alice, gateways, monkeypatch
):
    owner = alice.user
    city = contacts.create_custom_field(owner=owner, name="city", type="text")
    campaign = big_campaign(alice, 4)
    for i, contact in enumerate(Contact.objects.filter(owner=owner).order_by("email")):
        contacts.update_contact(contact=contact, custom={"city": f"Town{i}"})
    Template.objects.filter(pk=campaign.template_id).update(subject="{{ custom.city }}|{{ custom.town }}")
    real = fanout.draft_chunk

    def value_changed(**kwargs):
        drafted = real(**kwargs)
        contacts.update_contact(contact=Contact.objects.get(email="p0@example.com"), custom={"city": "Moved"})
        return drafted

    monkeypatch.setattr(fanout, "draft_chunk", value_changed)
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2) == 2
    subjects = dict(campaign_messages(campaign).values_list("recipient", "subject"))
    assert subjects == {"p0@example.com": "Moved|", "p1@example.com": "Town1|"}

    def renamed(**kwargs):
        drafted = real(**kwargs)
        contacts.update_custom_field(field=city, name="town")  # no contact changes: the field's name does
        return drafted

    monkeypatch.setattr(fanout, "draft_chunk", renamed)
    assert fanout.send_chunk(campaign_id=campaign.pk, size=2) == 2
    subjects = dict(campaign_messages(campaign).values_list("recipient", "subject"))
    assert subjects["p2@example.com"] == "|Town2" and subjects["p3@example.com"] == "|Town3"
