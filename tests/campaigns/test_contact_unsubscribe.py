"""`{{ unsubscribe_url }}` in the send API's templated messages to a tenant's contacts (campaigns.addressing,
campaigns.engagement.unsubscribe_contact): the contact's own link, also List-Unsubscribe for email; GET asks,
POST (the page's button or RFC 8058 one-click) unsubscribes the contact on that channel, once."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from campaigns.services import create_template
from contacts import services as contacts
from contacts.models import Contact
from messaging.models import Message, Suppression
from tests.conftest import Tenant
from xsender import events as platform

pytestmark = pytest.mark.django_db
EMAIL, SMS = "/api/email/send", "/api/sms/send"


@pytest.fixture
def news(alice: Tenant):
    return create_template(
        owner=alice.user, channel="email", name="News", subject="News for {{ first_name|default:'you' }}",
        html='<p>Hi</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>', text="Leave: {{ unsubscribe_url }}",
    )  # fmt: skip


@pytest.fixture
def ann(alice: Tenant) -> Contact:
    return contacts.create_contact(owner=alice.user, email="ann@example.com", phone="+14155550100", first_name="Ann")


def send(alice: Tenant, path: str, *entries: dict):
    return alice.client().post(path, {"contact": list(entries)}, format="json")


def link(message: Message) -> str:
    found = re.search(r'href="([^"]+)"', message.body)
    assert found, message.body
    return found.group(1)


def test_a_contact_gets_its_own_link_in_the_body_the_text_and_list_unsubscribe(alice, gateways, news, ann, settings):
    assert send(alice, EMAIL, {"contact_id": ann.public_id, "template": "News"}).status_code == 200
    message = Message.objects.get()
    url = link(message)
    assert url.startswith(settings.XSENDER_BASE_URL.rstrip("/") + "/u/")
    assert message.text_body == f"Leave: {url}"
    assert message.list_unsubscribe == url  # sent as List-Unsubscribe with List-Unsubscribe-Post


def test_an_address_that_is_a_contact_gets_the_link_and_one_that_is_not_gets_nothing(alice, gateways, news, ann):
    answer = send(alice, EMAIL, {"email": "ANN@example.com", "template": "News"},
                  {"email": "stranger@example.com", "template": "News"})  # fmt: skip
    assert answer.status_code == 200, answer.json()
    known, stranger = (
        Message.objects.get(recipient="ann@example.com"),
        Message.objects.get(recipient="stranger@example.com"),
    )
    assert "/u/" in link(known)
    assert 'href=""' in stranger.body and stranger.list_unsubscribe == "" and stranger.text_body == "Leave: "


def test_get_asks_and_changes_nothing(alice, gateways, news, ann):
    send(alice, EMAIL, {"contact_id": ann.public_id, "template": "News"})
    answer = Client().get(urlsplit(link(Message.objects.get())).path, secure=True)
    page = answer.content.decode()
    assert answer.status_code == 200 and "a***@example.com" in page and "ann@example.com" not in page
    assert Contact.objects.get(pk=ann.pk).email_status == "subscribed"
    assert not Suppression.objects.exists()


def test_one_click_post_unsubscribes_once_and_the_next_send_is_refused(alice, gateways, news, ann):
    send(alice, EMAIL, {"contact_id": ann.public_id, "template": "News"})
    message = Message.objects.get()
    published: list = []
    platform.subscribe(published.extend)
    try:
        client = Client(enforce_csrf_checks=True)  # a mail provider's one-click POST carries no CSRF token
        answers = [client.post(urlsplit(link(message)).path, {"List-Unsubscribe": "One-Click"}, secure=True)
                   for _ in range(2)]  # fmt: skip
    finally:
        platform._subscribers.remove(published.extend)
    assert [a.status_code for a in answers] == [200, 200]
    assert "Unsubscribed" in answers[1].content.decode()
    ann.refresh_from_db()
    assert (ann.email_status, ann.sms_status) == ("unsubscribed", "subscribed")  # that channel only
    assert Suppression.objects.get().address == "ann@example.com"
    assert Suppression.objects.get().reason == "opt_out" and Suppression.objects.get().user == alice.user
    assert message.events.filter(kind="unsubscribed").count() == 1
    assert [e.data["uid"] for e in published if e.type == "message.unsubscribed"] == [str(message.uid)]
    refused = send(alice, EMAIL, {"contact_id": ann.public_id, "template": "News"})
    assert refused.status_code == 422
    assert Message.objects.count() == 1


def test_an_sms_link_unsubscribes_from_sms_only(alice, gateways, ann):
    create_template(owner=alice.user, channel="sms", name="Promo", body="Sale! Stop: {{ unsubscribe_url }}")
    assert send(alice, SMS, {"contact_id": ann.public_id, "template": "Promo"}).status_code == 200
    url = Message.objects.get().body.removeprefix("Sale! Stop: ")
    assert Client().post(urlsplit(url).path, secure=True).status_code == 200
    ann.refresh_from_db()
    assert (ann.sms_status, ann.email_status) == ("unsubscribed", "subscribed")
    assert Suppression.objects.get().channel == "sms"


def test_a_tampered_or_gone_contact_link_is_a_404_and_changes_nothing(alice, gateways, news, ann):
    send(alice, EMAIL, {"contact_id": ann.public_id, "template": "News"})
    path = urlsplit(link(Message.objects.get())).path
    value = path.removeprefix("/u/").rstrip("/")
    other = value.replace(f"{ann.pk}.email", f"{ann.pk + 1}.email", 1)  # another contact, the same signature
    answers = [Client().post(f"/u/{v}/", secure=True).status_code for v in (other, value[:-2] + "xx")]
    assert answers == [404, 404]
    assert Contact.objects.get(pk=ann.pk).email_status == "subscribed" and not Suppression.objects.exists()
    contacts.delete_contact(contact=Contact.objects.get(pk=ann.pk))
    assert Client().post(path, secure=True).status_code == 404
    assert not Suppression.objects.exists()
