"""A campaign's credit: the whole audience reserved in one ledger entry at the start, each chunk paid from it, what
is left given back once when the fan-out completes or the campaign is cancelled (docs/campaigns.md, "Credits")."""

from __future__ import annotations

import re
import threading

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from accounts import services as accounts
from accounts.models import CreditAccount, CreditEntry
from campaigns import fanout, jobs, services, sweeps
from campaigns.models import Campaign, CampaignStatus
from contacts import services as contacts
from contacts.models import Contact
from messaging.items import EmailItem
from messaging.models import Message, Status
from messaging.services import accept_messages
from tests.campaigns.conftest import campaign_messages
from tests.panel.test_campaigns import signed_in, url
from xsender.errors import Conflict, CreditExhausted, DomainError

pytestmark = pytest.mark.django_db


def balance(campaign: Campaign) -> int:
    return accounts.balances(campaign.owner)[campaign.channel]


def entries(campaign: Campaign, **filters) -> list[CreditEntry]:
    """The owner's ledger on the campaign's channel, oldest first."""
    ledger = CreditEntry.objects.filter(account__user=campaign.owner, account__channel=campaign.channel, **filters)
    return list(ledger.order_by("pk"))


def since(campaign: Campaign, first: int) -> list[tuple[int, str]]:
    return [(e.delta, e.note) for e in entries(campaign) if e.pk > first]


def last_entry(campaign: Campaign) -> int:
    return entries(campaign)[-1].pk


def unused_returned(campaign: Campaign) -> list[int]:
    return [e.delta for e in entries(campaign, note__contains=f"Campaign {campaign.name}: ", reason="refund")]


def reload(campaign: Campaign) -> Campaign:
    return Campaign.objects.get(pk=campaign.pk)


def unsubscribe(email: str) -> None:
    contacts.update_contact(contact=Contact.objects.get(email=email), email_status="unsubscribed")


# ---------------------------------------------------------------- the start


def test_the_start_debits_the_whole_audience_once_in_one_ledger_entry(campaign):
    first = last_entry(campaign)
    services.start_campaign(campaign=campaign)
    with pytest.raises(Conflict):
        services.start_campaign(campaign=campaign)  # a second start debits nothing
    assert since(campaign, first) == [(-6, "Campaign Spring: 6 email credits reserved for 6 recipients")]
    assert (balance(campaign), reload(campaign).reserved) == (94, 6)


def test_chunks_are_paid_from_the_reservation_without_another_ledger_entry(campaign):
    services.start_campaign(campaign=campaign)
    first = last_entry(campaign)
    fanout.send_chunk(campaign_id=campaign.pk, size=2)
    assert reload(campaign).reserved == 4
    jobs.fan_out_job(campaign.pk)
    campaign = reload(campaign)
    assert since(campaign, first) == []
    assert (campaign.messages_count, campaign.cost, campaign.reserved, balance(campaign)) == (6, 6, 0, 94)


def test_a_shortfall_starts_nothing_debits_nothing_and_names_the_numbers(campaign):
    accounts.adjust_credits(user=campaign.owner, channel="email", delta=-96)  # 4 left, 6 needed
    first = last_entry(campaign)
    with pytest.raises(CreditExhausted) as refused:
        services.start_campaign(campaign=campaign)
    assert "6 needed for 6 recipients, 4 available — 2 short" in refused.value.message
    assert refused.value.field == "credits"
    assert (since(campaign, first), balance(campaign)) == ([], 4)
    assert (reload(campaign).status, reload(campaign).reserved) == (CampaignStatus.DRAFT, 0)


def test_an_unlimited_account_reserves_nothing_and_still_sends(alice, campaign, audience):
    unlimited = accounts.create_plan(data=accounts.PlanInput(slug="unlimited", name="Unlimited", email_credits=-1))
    accounts.assign_plan(user=alice.user, plan=unlimited)
    first = last_entry(campaign)
    services.start_campaign(campaign=campaign)
    jobs.fan_out_job(campaign.pk)
    assert (since(campaign, first), reload(campaign).reserved) == ([], 0)
    assert set(campaign_messages(campaign).values_list("recipient", flat=True)) == audience.expected


# ---------------------------------------------------------------- while it runs


def test_api_sends_during_the_campaign_cannot_take_the_reserved_credit(alice, campaign, audience):
    accounts.adjust_credits(user=campaign.owner, channel="email", delta=-92)  # 8: 6 for the campaign, 2 spare
    services.start_campaign(campaign=campaign)
    assert balance(campaign) == 2  # the reservation is gone from the balance at once
    items = [{"email": f"api{i}@example.com", "subject": "Hi", "message": "Hello"} for i in range(3)]
    refused = alice.client().post("/api/email/send", {"contact": items}, format="json")
    accepted = alice.client().post("/api/email/send", {"contact": items[:2]}, format="json")
    assert (refused.status_code, accepted.status_code) == (402, 200)
    jobs.fan_out_job(campaign.pk)
    assert set(campaign_messages(campaign).values_list("recipient", flat=True)) == audience.expected
    assert (balance(campaign), reload(campaign).status) == (0, CampaignStatus.SENDING)


def test_the_campaign_page_shows_the_reserved_credits_while_it_runs(alice, campaign):
    services.start_campaign(campaign=campaign)
    fanout.send_chunk(campaign_id=campaign.pk, size=2)
    page = signed_in(alice).get(url("campaign", campaign)).content.decode()
    assert re.search(r"<dt>Reserved</dt><dd id=\"campaign-reserved\">4 ", page)


# ---------------------------------------------------------------- giving back


def test_cancel_mid_way_gives_back_everything_but_what_was_sent(campaign):
    services.start_campaign(campaign=campaign)
    fanout.send_chunk(campaign_id=campaign.pk, size=4)  # 4 created, 2 still reserved
    sent = campaign_messages(campaign).order_by("pk")[:2]
    Message.objects.filter(pk__in=[m.pk for m in sent]).update(status=Status.PROCESSING)  # a worker has them
    first = last_entry(campaign)
    services.cancel_campaign(campaign=campaign)
    with pytest.raises(Conflict):
        services.cancel_campaign(campaign=campaign)
    refunds = sorted(delta for delta, _ in since(campaign, first))
    assert refunds == [1, 1, 2]  # the two withdrawn messages, then the unused reservation in one entry
    assert (balance(campaign), reload(campaign).reserved) == (98, 0)


def test_the_unused_part_of_skipped_recipients_goes_back_once_however_often_finish_runs(
    campaign, django_capture_on_commit_callbacks
):
    services.start_campaign(campaign=campaign)
    stale = reload(campaign)  # as a retried job or a slow sweep may still hold it: 6 reserved
    unsubscribe("a9@example.com")
    jobs.fan_out_job(campaign.pk)
    jobs.fan_out_job(campaign.pk)  # a replayed job
    with django_capture_on_commit_callbacks(execute=True):
        Message.objects.filter(pk__in=campaign_messages(campaign)).update(status=Status.SENT)
    assert (sweeps.finish_sent(), sweeps.finish_sent()) == (1, 0)
    with transaction.atomic():
        assert fanout.release_reservation(stale) == 0
    assert unused_returned(campaign) == [1]
    assert (balance(campaign), reload(campaign).reserved, reload(campaign).status) == (95, 0, CampaignStatus.SENT)


def test_pause_keeps_the_reservation_and_resume_reserves_only_what_the_pause_gave_back(campaign, audience):
    services.start_campaign(campaign=campaign)
    fanout.send_chunk(campaign_id=campaign.pk, size=2)
    services.pause_campaign(campaign=campaign)  # the 2 messages withdrawn and refunded, 4 stay reserved
    first = last_entry(campaign)
    services.resume_campaign(campaign=campaign)
    assert since(campaign, first) == [(-2, "Campaign Spring: 2 email credits reserved for 6 recipients")]
    jobs.fan_out_job(campaign.pk)
    assert (balance(campaign), reload(campaign).reserved) == (94, 0)


def test_a_resume_short_of_what_the_pause_gave_back_names_the_shortfall_and_keeps_the_reservation(campaign):
    services.start_campaign(campaign=campaign)
    fanout.send_chunk(campaign_id=campaign.pk, size=2)
    services.pause_campaign(campaign=campaign)
    accounts.adjust_credits(user=campaign.owner, channel="email", delta=-95)  # 1 left; 2 more needed
    with pytest.raises(CreditExhausted, match="6 needed for 6 recipients, 4 already reserved, 1 available — 1 short"):
        services.resume_campaign(campaign=campaign)
    assert (reload(campaign).status, reload(campaign).reserved, balance(campaign)) == (CampaignStatus.PAUSED, 4, 1)


# ---------------------------------------------------------------- SMS rendered longer than its template


@pytest.fixture
def sms_campaign(alice, gateways) -> Campaign:
    """Three contacts; one first name long enough that "Hi <name>" takes two segments. The template's own text
    takes one: 3 reserved, 4 charged."""
    owner = alice.user
    people = contacts.create_list(owner=owner, name="Phones")
    for i, name in enumerate(["Ann", "Bo", "L" * 170]):
        contacts.create_contact(owner=owner, phone=f"+1415555010{i}", first_name=name, lists=[people.public_id])
    template = services.create_template(owner=owner, channel="sms", name="Hello", body="Hi {{ first_name }}")
    return services.create_campaign(
        owner=owner, channel="sms", name="Texts", template=template.public_id, include_lists=[people.public_id]
    )


def test_an_sms_rendered_longer_than_its_template_debits_only_the_excess(sms_campaign):
    services.start_campaign(campaign=sms_campaign)
    first = last_entry(sms_campaign)
    jobs.fan_out_job(sms_campaign.pk)
    campaign = reload(sms_campaign)
    assert since(campaign, first) == [(-1, "Campaign Texts: 1 sms credits beyond its reservation for 3 messages")]
    assert (campaign.cost, campaign.reserved, balance(campaign)) == (4, 0, 96)


def test_an_sms_excess_the_balance_cannot_cover_pauses_naming_it_until_a_top_up(sms_campaign):
    accounts.adjust_credits(user=sms_campaign.owner, channel="sms", delta=-97)  # exactly the 3 reserved
    services.start_campaign(campaign=sms_campaign)
    jobs.fan_out_job(sms_campaign.pk)
    campaign = reload(sms_campaign)
    assert (campaign.status, campaign.reserved, campaign_messages(campaign).count()) == (CampaignStatus.PAUSED, 3, 0)
    assert "4 needed, 3 reserved, 0 available — 1 short" in campaign.last_error
    accounts.add_credits(user=campaign.owner, channel="sms", amount=1)
    services.resume_campaign(campaign=campaign)  # the reservation still covers the estimate: nothing more held
    jobs.fan_out_job(campaign.pk)
    campaign = reload(campaign)
    assert (campaign.messages_count, campaign.reserved, balance(campaign)) == (3, 0, 0)


# ---------------------------------------------------------------- real threads against PostgreSQL


def _race(jobs_to_run: list) -> list[Exception]:
    barrier, errors = threading.Barrier(len(jobs_to_run)), []

    def run(job) -> None:
        try:
            barrier.wait()
            job()
        except DomainError:
            pass  # a refusal (credit, a second cancel) is an expected answer
        except Exception as error:  # noqa: BLE001 — anything else fails the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs_to_run]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_campaigns_and_api_sends_racing_for_a_limited_balance_never_overdraw_nor_refund_twice(
    alice, campaign, audience, template
):
    owner = alice.user
    other = services.create_campaign(
        owner=owner, channel="email", name="Autumn", template=template.public_id,
        include_lists=[audience.first.public_id, audience.second.public_id], exclude_tags=["vip"],
    )  # fmt: skip
    accounts.adjust_credits(user=owner, channel="email", delta=-80)  # 20: 6 + 6 reserved, 8 left for the API
    services.start_campaign(campaign=campaign)
    services.start_campaign(campaign=other)
    unsubscribe("a9@example.com")  # one of each campaign's reservations will be left unused

    def api_send(i: int):
        return lambda: accept_messages(
            principal=owner, channel="email", items=[EmailItem(f"api{i}@example.com", "Hi", "x")]
        )

    def cancel_other() -> None:
        services.cancel_campaign(campaign=Campaign.objects.get(pk=other.pk))

    work = [lambda: jobs.fan_out_job(campaign.pk)] * 2 + [lambda: jobs.fan_out_job(other.pk), cancel_other]
    work += [cancel_other, sweeps.finish_sent, sweeps.finish_sent] + [api_send(i) for i in range(16)]
    assert _race(work) == []
    jobs.fan_out_job(campaign.pk)  # whatever the race left of the first campaign's fan-out

    account = CreditAccount.objects.get(user=owner, channel="email")
    live = Message.objects.filter(user=owner).exclude(status=Status.CANCELLED).count()  # 1 credit each
    held = sum(Campaign.objects.filter(owner=owner).values_list("reserved", flat=True))
    assert account.balance >= 0 and held == 0
    assert account.balance == 20 - live  # every credit is in a live message or back on the balance, once
    assert CreditEntry.objects.filter(account=account).aggregate(total=Sum("delta"))["total"] == account.balance
    assert (len(unused_returned(campaign)), len(unused_returned(other))) == (1, 1)
    assert campaign_messages(campaign).count() == 5
