"""Accept's own rules for header-bound fields, NUL characters and internationalised addresses; the send path
through typed items from a caller that is not an API dialect."""

from __future__ import annotations

import pytest

from accounts.models import CreditAccount
from messaging.items import EmailItem, SmsItem
from messaging.models import Message
from messaging.services import accept_messages, add_suppression
from xsender.errors import Rejected, ValidationFailed

pytestmark = pytest.mark.django_db


def email(**fields) -> dict:
    return {"email": "carol@example.com", "subject": "Hi", "message": "Hello", **fields}


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"subject": "Hi\r\nBcc: victim@example.com"}, "contact.0.subject"),
        ({"sender_name": "Acme\nBcc: victim@example.com"}, "contact.0.sender_name"),
        ({"subject": "Hi\x00there"}, "contact.0.subject"),
        ({"message": "Hello\x00"}, "contact.0.message"),
        (
            {"attachments": [{"type": "file", "url": "https://cdn.example.com/a\r\nb.pdf"}]},
            "contact.0.attachments.0.url",
        ),
    ],
)
def test_a_line_break_or_nul_is_refused_naming_the_field_and_nothing_is_charged(
    api, alice, console_gateways, fields, named
):
    response = api.post("/api/email/send", {"contact": [email(), email(**fields)]}, format="json")
    assert response.status_code == 400
    assert named.replace("contact.0", "contact.1") in [e["field"] for e in response.json()["errors"]]
    assert (Message.objects.count(), CreditAccount.objects.get(user=alice.user, channel="email").balance) == (0, 100)


def test_a_nul_in_an_sms_body_is_a_400_not_a_server_error(api, console_gateways):
    response = api.post("/api/sms/send", {"contact": [{"number": "+15555550123", "body": "a\x00b"}]}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "contact.0.body"


def test_an_internationalised_domain_cannot_slip_past_its_suppression(api, alice, console_gateways):
    add_suppression(user=alice.user, channel="email", address="Fritz@Bücher.example", reason="bounce")
    response = api.post("/api/email/send", {"contact": [email(email="fritz@xn--bcher-kva.example")]}, format="json")
    assert response.status_code == 422
    assert response.json()["message"].startswith("contact.0")


def test_a_caller_with_typed_items_gets_neutral_field_names(alice, console_gateways):
    with pytest.raises(ValidationFailed) as failure:
        accept_messages(principal=alice.user, channel="sms", items=[SmsItem(recipient="+15555550123", body="")])
    assert failure.value.errors == [{"index": 0, "field": "body", "message": "This field is required."}]


def test_a_caller_with_typed_items_sends_through_the_same_path(alice, console_gateways):
    items = [EmailItem(recipient="Dora@Example.com", subject="Hi", body="Hello", gateway="email-console")]
    messages = accept_messages(principal=alice.user, channel="email", items=items, source="panel")
    assert [(m.recipient, m.source, m.status) for m in Message.objects.all()] == [
        ("dora@example.com", "panel", "Pending")
    ]
    assert len(messages) == 1


def test_a_suppressed_recipient_is_reported_with_its_item_index(alice, console_gateways):
    add_suppression(user=alice.user, channel="sms", address="+15555550124", reason="opt_out")
    items = [SmsItem(recipient="+15555550123", body="a"), SmsItem(recipient="+1 555 555 0124", body="b")]
    with pytest.raises(Rejected) as rejected:
        accept_messages(principal=alice.user, channel="sms", items=items)
    assert (rejected.value.index, rejected.value.field) == (1, "recipient")
