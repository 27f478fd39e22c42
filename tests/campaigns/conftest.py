"""An audience for campaigns: alice's two overlapping lists, an excluded tag, unsubscribed and suppressed
contacts; two segments (an included and an excluded one); her console gateways; a template per channel."""

from __future__ import annotations

from dataclasses import dataclass

import django_rq
import pytest
from rq import SimpleWorker

from campaigns.models import Campaign, Template
from campaigns.services import create_campaign, create_template
from contacts import services as contacts
from contacts.models import Contact, ContactList, Segment
from gateways.models import Gateway
from messaging.models import Message
from messaging.services import add_suppression
from tests.conftest import Tenant
from tests.system.conftest import processes  # noqa: F401  (real processes, for the system test)


def make_gateway(owner, channel: str, identifier: str, provider: str = "console", **extra) -> Gateway:
    return Gateway.objects.create(owner=owner, channel=channel, provider=provider, identifier=identifier, **extra)


@pytest.fixture
def gateways(alice: Tenant) -> dict[str, Gateway]:
    return {ch: make_gateway(alice.user, ch, f"{ch}-console", is_default=True) for ch in ("email", "sms", "whatsapp")}


@dataclass
class Audience:
    first: ContactList
    second: ContactList
    expected: set[str]  # the email addresses the campaign must reach, once each


@pytest.fixture
def audience(alice: Tenant) -> Audience:
    """first: a0..a5, second: a4..a9 (a4, a5 in both); a2 tagged vip (excluded); a6 unsubscribed; a7 on the
    suppression list (a bounce); a8 has no email; a9 fine; z0 in no list."""
    owner = alice.user
    first = contacts.create_list(owner=owner, name="First")
    second = contacts.create_list(owner=owner, name="Second")
    for i in range(10):
        fields = {"email": f"a{i}@example.com"} if i != 8 else {"phone": "+14155550108"}
        lists = [first.public_id] if i < 4 else [second.public_id] if i > 5 else [first.public_id, second.public_id]
        contacts.create_contact(owner=owner, first_name=f"A{i}", lists=lists, tags=["vip"] if i == 2 else [], **fields)
    contacts.update_contact(contact=Contact.objects.get(email="a6@example.com"), email_status="unsubscribed")
    add_suppression(user=owner, channel="email", address="a7@example.com", reason="bounce")
    contacts.create_contact(owner=owner, email="z0@example.com")
    expected = {f"a{i}@example.com" for i in (0, 1, 3, 4, 5, 9)}
    return Audience(first=first, second=second, expected=expected)


@pytest.fixture
def template(alice: Tenant) -> Template:
    return create_template(
        owner=alice.user, channel="email", name="News", subject="Hi {{ first_name }}", text="Hello {{ first_name }}"
    )


@pytest.fixture
def campaign(alice: Tenant, gateways, audience: Audience, template: Template) -> Campaign:
    return create_campaign(
        owner=alice.user,
        channel="email",
        name="Spring",
        template=template.public_id,
        include_lists=[audience.first.public_id, audience.second.public_id],
        exclude_tags=["vip"],
    )


ACME = [{"field": "company", "op": "equals", "value": "Acme"}]


@pytest.fixture
def segments(alice: Tenant, audience: Audience) -> tuple[Segment, Segment]:
    """acme: a0 (also in the first list), b1 and b3 (unsubscribed), none in a list; not_a1: a1 only."""
    owner = alice.user
    contacts.update_contact(contact=Contact.objects.get(email="a0@example.com"), company="Acme")
    contacts.create_contact(owner=owner, email="b1@example.com", company="Acme")
    contacts.create_contact(owner=owner, email="b3@example.com", company="Acme", email_status="unsubscribed")
    acme = contacts.create_segment(owner=owner, name="Acme", rules=ACME)
    a1 = contacts.create_segment(
        owner=owner, name="A1", rules=[{"field": "email", "op": "starts_with", "value": "a1@"}]
    )
    return acme, a1


def campaign_messages(campaign: Campaign):
    uids = campaign.recipients.exclude(message_uid=None).values("message_uid")
    return Message.objects.filter(uid__in=uids)


def run_low_queue() -> None:
    """Runs every job of the `low` queue with a real RQ worker, in this process (burst mode)."""
    queue = django_rq.get_queue("low")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
