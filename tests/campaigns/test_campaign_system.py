"""A campaign through real processes: `xsender:worker` SIGKILLed in the middle of the fan-out, a new worker and
the scheduler pick it up, and a real SMTP server on loopback receives every recipient exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts
from campaigns import services
from campaigns.models import Campaign, CampaignRecipient, CampaignStatus
from contacts import services as contacts
from contacts.models import Contact
from messaging.models import Message, Status
from messaging.services import add_suppressions
from tests.campaigns.conftest import make_gateway
from tests.system.conftest import wait_until

pytestmark = pytest.mark.system

CONTACTS = 3000  # list A: 0..1999, list B: 1000..2999, the first 100 of the overlap suppressed


def audience(owner) -> tuple[set[str], list[str]]:
    Contact.objects.bulk_create(Contact(owner=owner, email=f"c{i}@example.com") for i in range(CONTACTS))
    ids = dict(Contact.objects.filter(owner=owner).values_list("email", "public_id"))
    first, second = contacts.create_list(owner=owner, name="A"), contacts.create_list(owner=owner, name="B")
    contacts.add_to_lists(
        owner=owner, contact_ids=[ids[f"c{i}@example.com"] for i in range(2000)], list_ids=[first.public_id]
    )
    contacts.add_to_lists(
        owner=owner, contact_ids=[ids[f"c{i}@example.com"] for i in range(1000, CONTACTS)], list_ids=[second.public_id]
    )
    add_suppressions(entries=[(owner.pk, "email", f"c{i}@example.com", "bounce") for i in range(1000, 1100)])
    return {f"c{i}@example.com" for i in range(CONTACTS) if not 1000 <= i < 1100}, [first.public_id, second.public_id]


def test_a_worker_killed_mid_fan_out_every_contact_gets_exactly_one_message(alice, processes, sink):
    make_gateway(
        alice.user,
        "email",
        "smtp-local",
        provider="smtp",
        is_default=True,
        config={"host": "127.0.0.1", "port": sink.port, "from_email": "noreply@example.com"},
    )
    expected, lists = audience(alice.user)
    accounts.add_credits(user=alice.user, channel="email", amount=CONTACTS)
    template = services.create_template(owner=alice.user, channel="email", name="T", subject="Hi", text="Hello")
    campaign = services.create_campaign(
        owner=alice.user, channel="email", name="Big", template=template, include_lists=lists
    )
    services.start_campaign(campaign=campaign)
    processes.manage("worker", "xsender:worker")
    wait_until(lambda: Message.objects.exists(), 60, interval=0.02, what="the first chunk")
    processes.kill("worker")  # SIGKILL, mid fan-out or mid delivery
    Campaign.objects.filter(pk=campaign.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))  # long silent
    processes.manage("worker2", "xsender:worker")
    processes.manage("scheduler", "xsender:scheduler", "--interval", "0.3")
    wait_until(
        lambda: not CampaignRecipient.objects.filter(message_uid=None, skipped="").exists(), 120, what="the fan-out"
    )
    wait_until(
        lambda: not Message.objects.filter(status__in=[Status.PENDING, Status.PROCESSING]).exists(),
        120,
        what="the messages to leave",
    )
    per_contact = Counter(Message.objects.values_list("recipient", flat=True))
    assert set(per_contact) == expected and set(per_contact.values()) == {1}
    received = Counter(sink.recipients)
    assert max(received.values()) == 1  # nothing arrived twice
    # Every message Sent arrived; only one a killed worker held mid-call may have an unknown outcome.
    assert set(Message.objects.filter(status=Status.SENT).values_list("recipient", flat=True)) <= set(received)
    wait_until(lambda: Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.SENT, 30, what="Sent")
