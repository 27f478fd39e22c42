"""Campaigns at size through real processes (`xsender:worker`, `xsender:scheduler`) and real SMTP servers on
loopback: 20,000 contacts in two overlapping lists with 500 of them suppressed reach exactly 19,500 recipients once
each while the two workers fanning it out in two lanes are SIGKILLed and the scheduler is killed and started again, beside another
tenant's campaign to the same addresses; a pause (in the middle of the fan-out and the sending, or while a throttle
holds the rest) lets nothing more leave and a resume sends the rest once; a cancel refunds what did not leave; template tags are refused on save and names outside the contact's data reach no
recipient (the server's SECRET_KEY least of all)."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts import services as accounts
from campaigns import services
from campaigns.models import Campaign, CampaignRecipient, CampaignStatus, Template
from campaigns.reports import campaign_report
from contacts import services as contacts
from contacts.models import Contact, ContactStatus
from messaging.models import Message, Status
from messaging.services import add_suppressions
from tests.campaigns.conftest import make_gateway
from tests.fakes.smtp import SmtpSink
from tests.panel.conftest import signed_in
from tests.system.conftest import Processes, wait_until
from xsender.errors import ValidationFailed

pytestmark = pytest.mark.system

TOTAL = 20_000  # alice's contacts c0..c19999: list First holds 0..13,999, list Second 6,000..19,999
SUPPRESSED = range(0, TOTAL, 40)  # 500 of them, every 40th, in five kinds of 100 (see alices_audience)
BOBS = 3_000  # bob's own contacts c0..c2999: the same addresses as alice's first 3,000, her suppressed included
QUEUED = (Status.SCHEDULED, Status.PENDING, Status.PROCESSING)


def email(i: int) -> str:
    return f"c{i}@example.com"


def sink_gateway(owner, sink: SmtpSink, sender: str) -> None:
    make_gateway(
        owner,
        "email",
        "smtp-local",
        provider="smtp",
        is_default=True,
        config={"host": "127.0.0.1", "port": sink.port, "from_email": sender},
    )


def contacts_in_list(owner, indices: range, name: str) -> str:
    """`owner`'s contacts c<i> for `indices` (one bulk insert), all in a new list `name`; returns its public id."""
    Contact.objects.bulk_create((Contact(owner=owner, email=email(i)) for i in indices), batch_size=2000)
    ids = dict(Contact.objects.filter(owner=owner).values_list("email", "public_id"))
    listed = contacts.create_list(owner=owner, name=name)
    contacts.add_to_lists(owner=owner, contact_ids=[ids[email(i)] for i in indices], list_ids=[listed.public_id])
    return listed.public_id


def kind(i: int) -> int:
    """Which of the five kinds of suppression the contact c<i> (one of SUPPRESSED) has."""
    return (i // 40) % 5


def alices_audience(owner) -> list[str]:
    """Her 20,000 contacts in First (0..13,999) and Second (6,000..19,999: 8,000 in both). Of SUPPRESSED, kind 1
    opted out and kind 2 complained on the suppression list, kind 3 unsubscribed and kind 4 bounced as their
    own status; kind 0 is suppressed only after the campaign has started (they become skipped recipients)."""
    own = {3: ContactStatus.UNSUBSCRIBED, 4: ContactStatus.BOUNCED}
    statuses = {i: own[kind(i)] for i in SUPPRESSED if kind(i) in own}
    Contact.objects.bulk_create(
        (
            Contact(owner=owner, email=email(i), email_status=statuses.get(i, ContactStatus.SUBSCRIBED))
            for i in range(TOTAL)
        ),
        batch_size=2000,
    )
    ids = dict(Contact.objects.filter(owner=owner).values_list("email", "public_id"))
    first, second = contacts.create_list(owner=owner, name="First"), contacts.create_list(owner=owner, name="Second")
    contacts.add_to_lists(owner=owner, contact_ids=[ids[email(i)] for i in range(14_000)], list_ids=[first.public_id])
    contacts.add_to_lists(
        owner=owner, contact_ids=[ids[email(i)] for i in range(6_000, TOTAL)], list_ids=[second.public_id]
    )
    reasons = {1: "opt_out", 2: "complaint"}
    add_suppressions(
        entries=[(owner.pk, "email", email(i), reasons[kind(i)]) for i in SUPPRESSED if kind(i) in reasons]
    )
    return [first.public_id, second.public_id]


def received_once(sink: SmtpSink) -> set[str]:
    """The sink's recipients, asserting that none arrived twice."""
    counts = Counter(sink.recipients)
    assert not counts or max(counts.values()) == 1, [r for r, n in counts.items() if n > 1][:5]
    return set(counts)


def text_of(received) -> str:
    part = next(p for p in received.email.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()


def messages_of(campaign: Campaign):
    uids = CampaignRecipient.objects.filter(campaign=campaign).exclude(message_uid=None).values("message_uid")
    return Message.objects.filter(uid__in=uids)


def settled(campaign: Campaign) -> int:
    return CampaignRecipient.objects.filter(campaign=campaign).exclude(message_uid=None).count()


def status_of(campaign: Campaign) -> str:
    return Campaign.objects.get(pk=campaign.pk).status


def email_balance(user) -> int:
    return accounts.balances(user)["email"]


# ---------------------------------------------------------------- 20,000 contacts, two tenants, processes killed


def test_20000_contacts_reach_19500_recipients_once_each_through_killed_processes_beside_another_tenant(
    alice, bob, processes: Processes
):
    assert len(settings.SECRET_KEY) >= 20  # the secret a placeholder must never reveal
    with SmtpSink() as sink_a, SmtpSink() as sink_b:
        sink_gateway(alice.user, sink_a, "news@alice.example")
        sink_gateway(bob.user, sink_b, "news@bob.example")
        lists = alices_audience(alice.user)
        bobs_list = contacts_in_list(bob.user, range(BOBS), "Bob's")
        accounts.add_credits(user=alice.user, channel="email", amount=TOTAL)
        accounts.add_credits(user=bob.user, channel="email", amount=BOBS)
        alice_before, bob_before = email_balance(alice.user), email_balance(bob.user)

        # alice writes her template in the panel, with names that are not placeholders: they render as nothing.
        panel = signed_in(alice.user)
        form = {
            "name": "News",
            "subject": "News for you{{ settings.SECRET_KEY }}",
            "text": "Hello {{ email }}[{{ settings.SECRET_KEY }}{{ request.user }}{{ user.password }}]",
            "html": "",
            "from_name": "",
            "reply_to": "",
        }
        assert panel.post("/templates/new/?channel=email", form, secure=True).status_code == 302
        template_a = Template.objects.get(owner=alice.user)
        template_b = services.create_template(
            owner=bob.user, channel="email", name="Bob", subject="From Bob", text="Bob writes to {{ email }}"
        )
        campaign_a = services.create_campaign(
            owner=alice.user, channel="email", name="Big", template=template_a, include_lists=lists
        )
        campaign_b = services.create_campaign(
            owner=bob.user, channel="email", name="Bob's", template=template_b, include_lists=[bobs_list]
        )
        services.start_campaign(campaign=campaign_a)
        services.start_campaign(campaign=campaign_b)
        # Kind 0 is suppressed once the audience is resolved: those recipients are skipped when their turn comes.
        add_suppressions(entries=[(alice.user.pk, "email", email(i), "bounce") for i in SUPPRESSED if kind(i) == 0])
        expected_a = {email(i) for i in range(TOTAL)} - {email(i) for i in SUPPRESSED}
        expected_b = {email(i) for i in range(BOBS)}
        assert len(expected_a) == 19_500 and expected_b & {email(i) for i in SUPPRESSED}

        # Two workers take alice's two fan-out lanes (queued first), one each, and render her chunks at once.
        processes.manage("worker", "xsender:worker")
        processes.manage("worker1b", "xsender:worker")
        processes.manage("scheduler", "xsender:scheduler", "--interval", "0.3")
        wait_until(lambda: settled(campaign_a) > 0, 60, interval=0.02, what="alice's first chunk")
        # A worker runs one job at a time: while both fan out, no message is in an SMTP call.
        processes.kill("worker")  # SIGKILL in the middle of the fan-out, both lanes
        processes.kill("worker1b")
        processes.kill("scheduler")  # SIGKILL too
        at_kill = settled(campaign_a)
        assert 0 < at_kill < 19_600 and not sink_a.recipients
        # The killed lanes' jobs are gone; to the scheduler, a campaign silent this long has lost them.
        Campaign.objects.filter(pk=campaign_a.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
        processes.manage("worker2", "xsender:worker")
        # The new worker runs what was still queued (bob's fan-out, his messages); without a scheduler nobody
        # queues alice's lost lanes again, so she gets no new message meanwhile.
        wait_until(lambda: len(sink_b.recipients) == BOBS, 60, what="bob's 3,000 through the new worker")
        assert settled(campaign_a) == at_kill
        processes.manage("scheduler2", "xsender:scheduler", "--interval", "0.3")
        wait_until(lambda: status_of(campaign_a) == status_of(campaign_b) == CampaignStatus.SENT, 150, what="both Sent")

        # alice: exactly 19,500 distinct recipients, once each, from her gateway, each with its own text.
        assert received_once(sink_a) == expected_a
        assert {m.sender for m in sink_a.messages} == {"news@alice.example"}
        secret = settings.SECRET_KEY
        for received in sink_a.messages:
            assert secret not in received.email.as_string()
            assert received.email["Subject"] == "News for you"
            assert text_of(received).rstrip() == f"Hello {received.recipients[0]}[]"
        # bob: his 3,000, alice's suppressions notwithstanding, with his own text; nothing of his reached alice's.
        assert received_once(sink_b) == expected_b
        assert {m.sender for m in sink_b.messages} == {"news@bob.example"}
        assert all(text_of(r).rstrip() == f"Bob writes to {r.recipients[0]}" for r in sink_b.messages)

        # Every recipient has one message or a reason it got none; every message is its campaign owner's.
        for campaign, owner, targeted, skipped in ((campaign_a, alice, 19_600, 100), (campaign_b, bob, BOBS, 0)):
            recipients = CampaignRecipient.objects.filter(campaign=campaign)
            assert recipients.count() == targeted
            assert not recipients.filter(message_uid=None, skipped="").exists()
            assert not recipients.exclude(message_uid=None).exclude(skipped="").exists()
            uids = recipients.exclude(message_uid=None).values_list("message_uid", flat=True)
            assert len(set(uids)) == targeted - skipped
            messages = messages_of(campaign)
            assert messages.count() == targeted - skipped
            assert set(messages.values_list("user_id", flat=True)) == {owner.user.pk}
            assert set(messages.values_list("status", flat=True)) == {Status.SENT}
            counts = campaign_report(owner=owner.user, campaign=Campaign.objects.get(pk=campaign.pk)).counts
            assert {k: counts[k] for k in ("targeted", "skipped", "messages", "queued", "sent", "failed", "cancelled")} == {
                "targeted": targeted, "skipped": skipped, "messages": targeted - skipped, "queued": 0,
                "sent": targeted - skipped, "failed": 0, "cancelled": 0,
            }  # fmt: skip
        skipped_a = CampaignRecipient.objects.filter(campaign=campaign_a).exclude(skipped="")
        assert set(skipped_a.values_list("contact__email", flat=True)) == {email(i) for i in SUPPRESSED if kind(i) == 0}
        assert Message.objects.count() == 19_500 + BOBS  # nothing else was created, by either tenant
        a = Campaign.objects.get(pk=campaign_a.pk)
        assert (a.recipients_count, a.messages_count, a.skipped_count, a.cost) == (19_600, 19_500, 100, 19_500)
        assert email_balance(alice.user) == alice_before - 19_500
        assert email_balance(bob.user) == bob_before - BOBS


# ---------------------------------------------------------------- pause, resume, cancel


PACED = 2_000  # a campaign throttled to 1,000 a minute: the first 1,000 leave now, the other 1,000 a minute later


def paced_campaign(tenant, name: str, sink: SmtpSink) -> tuple[Campaign, set[str]]:
    sink_gateway(tenant.user, sink, "news@alice.example")
    listed = contacts_in_list(tenant.user, range(PACED), "Paced")
    accounts.add_credits(user=tenant.user, channel="email", amount=2 * PACED)
    template = services.create_template(owner=tenant.user, channel="email", name="T", subject="Hi", text="Hello")
    campaign = services.create_campaign(
        owner=tenant.user, channel="email", name=name, template=template, include_lists=[listed], throttle=1_000
    )
    return campaign, {email(i) for i in range(PACED)}


def run_first_minute(processes: Processes, campaign: Campaign, sink: SmtpSink) -> None:
    """Starts the worker and the scheduler; returns once the first 1,000 arrived and the other 1,000 wait as
    Scheduled messages."""
    processes.manage("worker", "xsender:worker")
    processes.manage("scheduler", "xsender:scheduler", "--interval", "0.3")
    wait_until(lambda: settled(campaign) == PACED, 40, what="the fan-out")
    wait_until(lambda: len(sink.recipients) >= 1_000, 40, what="the first 1,000")
    wait_until(
        lambda: not messages_of(campaign).filter(status__in=[Status.PENDING, Status.PROCESSING]).exists(),
        20,
        what="them to leave",
    )
    assert messages_of(campaign).filter(status=Status.SCHEDULED).count() == 1_000
    assert len(received_once(sink)) == 1_000


def test_a_paused_campaign_sends_nothing_more_and_its_resume_sends_the_rest_once(alice, processes: Processes):
    with SmtpSink() as sink:
        campaign, expected = paced_campaign(alice, "Paced", sink)
        before = email_balance(alice.user)
        services.start_campaign(campaign=campaign)
        run_first_minute(processes, campaign, sink)

        services.pause_campaign(campaign=campaign)
        created = Message.objects.count()
        time.sleep(3)  # the worker and the scheduler keep running
        assert len(sink.recipients) == 1_000 and Message.objects.count() == created
        assert not Message.objects.filter(status__in=QUEUED).exists()
        assert status_of(campaign) == CampaignStatus.PAUSED
        assert email_balance(alice.user) == before - 1_000  # the withdrawn 1,000 were given back

        services.resume_campaign(campaign=Campaign.objects.get(pk=campaign.pk))  # the rest go now: a new minute
        wait_until(lambda: status_of(campaign) == CampaignStatus.SENT, 60, what="Sent")
        assert received_once(sink) == expected
        assert messages_of(campaign).count() == PACED
        assert set(messages_of(campaign).values_list("status", flat=True)) == {Status.SENT}
        assert email_balance(alice.user) == before - PACED


def test_a_campaign_paused_in_the_middle_of_its_fan_out_creates_and_sends_nothing_more_until_resumed(
    alice, processes: Processes, settings
):
    settings.XSENDER_CAMPAIGN_LANES = 1  # one worker fans out while the other sends (two lanes would take both)
    size = 10_000
    with SmtpSink() as sink:
        sink_gateway(alice.user, sink, "news@alice.example")
        listed = contacts_in_list(alice.user, range(size), "All")
        accounts.add_credits(user=alice.user, channel="email", amount=size)
        before = email_balance(alice.user)
        template = services.create_template(owner=alice.user, channel="email", name="T", subject="Hi", text="Hello")
        campaign = services.create_campaign(
            owner=alice.user, channel="email", name="Now", template=template, include_lists=[listed]
        )
        services.start_campaign(campaign=campaign)
        # Two workers: one fans out while the other sends the first chunks.
        processes.manage("worker", "xsender:worker")
        processes.manage("worker2", "xsender:worker")
        processes.manage("scheduler", "xsender:scheduler", "--interval", "0.3")
        wait_until(lambda: len(sink.recipients) >= 200, 60, interval=0.02, what="the first 200 to arrive")
        services.pause_campaign(campaign=campaign)  # waits for a chunk in progress, then no other one runs
        # What a worker had already claimed finishes its SMTP call; the rest of what was created was withdrawn.
        wait_until(lambda: not Message.objects.filter(status__in=QUEUED).exists(), 30, what="the claimed ones")
        arrived, created, fanned = len(sink.recipients), Message.objects.count(), settled(campaign)
        assert arrived >= 200 and created < size  # paused in the middle of both the sending and the fan-out
        time.sleep(3)  # the worker and the scheduler keep running
        assert (len(sink.recipients), Message.objects.count(), settled(campaign)) == (arrived, created, fanned)
        assert set(messages_of(campaign).values_list("status", flat=True)) <= {Status.SENT}
        assert status_of(campaign) == CampaignStatus.PAUSED

        services.resume_campaign(campaign=Campaign.objects.get(pk=campaign.pk))
        wait_until(lambda: status_of(campaign) == CampaignStatus.SENT, 90, what="Sent")
        assert received_once(sink) == {email(i) for i in range(size)}
        assert set(messages_of(campaign).values_list("status", flat=True)) == {Status.SENT}
        assert email_balance(alice.user) == before - size  # the withdrawn messages were refunded, their new ones paid


def test_a_cancelled_campaign_refunds_everything_that_did_not_leave(alice, processes: Processes):
    with SmtpSink() as sink:
        campaign, expected = paced_campaign(alice, "Paced", sink)
        before = email_balance(alice.user)
        # Cancelled before any worker ran its fan-out: nothing is charged, and its queued job creates nothing.
        early = services.create_campaign(
            owner=alice.user, channel="email", name="Early", template=campaign.template,
            include_lists=[campaign.include_lists.get().public_id],
        )  # fmt: skip
        services.start_campaign(campaign=early)
        services.cancel_campaign(campaign=early)
        assert email_balance(alice.user) == before

        services.start_campaign(campaign=campaign)
        run_first_minute(processes, campaign, sink)
        services.cancel_campaign(campaign=campaign)
        time.sleep(3)  # the worker and the scheduler keep running
        arrived = received_once(sink)
        assert len(arrived) == 1_000 and arrived < expected
        assert not Message.objects.filter(status__in=QUEUED).exists()
        assert email_balance(alice.user) == before - len(arrived)  # only what left is paid for
        counts = campaign_report(owner=alice.user, campaign=Campaign.objects.get(pk=campaign.pk)).counts
        assert (counts["sent"], counts["cancelled"], counts["queued"]) == (1_000, 1_000, 0)
        assert status_of(campaign) == status_of(early) == CampaignStatus.CANCELLED
        assert not messages_of(early).exists()


# ---------------------------------------------------------------- template tags refused on save


@pytest.mark.parametrize(
    "source", ["{% load static %}", '{% include "panel/base.html" %}', "{% include settings.SECRET_KEY %}"]
)
def test_template_tags_are_refused_on_save_with_a_clear_message_and_nothing_is_saved(alice, source):
    with pytest.raises(ValidationFailed) as refused:
        services.create_template(owner=alice.user, channel="email", name="T", subject="Hi", text=f"Hello {source}")
    assert refused.value.errors[0]["field"] == "text"
    assert refused.value.errors[0]["message"].startswith("Template tags are not allowed (line 1: {% ")
    form = {"name": "T", "subject": "Hi", "html": f"<p>Hello</p>{source}", "text": "", "from_name": "", "reply_to": ""}
    response = signed_in(alice.user).post("/templates/new/?channel=email", form, secure=True)
    assert response.status_code == 400
    assert "Template tags are not allowed" in response.content.decode()
    assert not Template.objects.exists()
