"""The fan-out's lean read of a chunk's contacts (contacts.selectors.reachable_data) keeps exactly the contacts the
full status annotation (with_statuses) calls subscribed with an address, on every channel, with the same data."""

from __future__ import annotations

import pytest

from contacts import services as contacts
from contacts.models import Contact, ContactStatus
from contacts.selectors import contact_data, custom_field_names, reachable_data, with_statuses
from messaging.services import add_suppression

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alice, bob):
    owner = alice.user
    contacts.create_custom_field(owner=owner, name="city", type="text")
    made = [
        contacts.create_contact(owner=owner, email="ok@example.com", phone="+14155550100", first_name="Ok",
                                custom={"city": "Oslo"}),
        contacts.create_contact(owner=owner, email="unsub@example.com", phone="+14155550101", email_status="unsubscribed"),
        contacts.create_contact(owner=owner, email="mine@example.com", phone="+14155550102"),
        contacts.create_contact(owner=owner, email="everyone@example.com", phone="+14155550103"),
        contacts.create_contact(owner=owner, email="bobs@example.com", phone="+14155550104"),
        contacts.create_contact(owner=owner, phone="+14155550105", sms_status="blocked"),
        contacts.create_contact(owner=owner, email="nophone@example.com", whatsapp_status="complained"),
    ]  # fmt: skip
    add_suppression(user=owner, channel="email", address="mine@example.com", reason="bounce")
    add_suppression(user=owner, channel="sms", address="+14155550102", reason="opt_out")
    add_suppression(user=None, channel="email", address="everyone@example.com", reason="complaint")
    add_suppression(user=None, channel="whatsapp", address="+14155550103", reason="manual")
    add_suppression(user=bob.user, channel="email", address="bobs@example.com", reason="bounce")  # bob's: not hers
    return made


@pytest.mark.parametrize("channel", ["email", "sms", "whatsapp"])
def test_the_lean_read_keeps_what_the_full_statuses_keep(alice, people, channel):
    owner = alice.user
    address = "email" if channel == "email" else "phone"
    full = with_statuses(Contact.objects.filter(pk__in=[c.pk for c in people]), owner)
    names = custom_field_names(owner=owner)
    expected = {c.pk: contact_data(c, names) for c in full
                if getattr(c, address) and c.status_for(channel) == ContactStatus.SUBSCRIBED}  # fmt: skip
    found = {
        pk: reached.data
        for pk, reached in reachable_data(owner=owner, channel=channel, ids=[c.pk for c in people], names=names).items()
    }
    assert found == expected
    assert 0 < len(found) < len(people)  # some kept, some not: the comparison means something


def test_another_tenants_contact_is_never_read(alice, bob, people):
    theirs = contacts.create_contact(owner=bob.user, email="theirs@example.com")
    names = custom_field_names(owner=alice.user)
    assert reachable_data(owner=alice.user, channel="email", ids=[theirs.pk], names=names) == {}
