"""The XSender send API with a template instead of subject/message, and recipients named by contact id, list id
or tag (docs/api.md, "Templates and contacts"): what is stored and charged, and every refusal leaving nothing."""

from __future__ import annotations

import pytest

from accounts import services as accounts
from campaigns.services import create_template
from contacts import services as contacts
from contacts.models import Contact
from gateways.models import Gateway
from messaging.models import Message
from tests.conftest import Tenant

pytestmark = pytest.mark.django_db
EMAIL, SMS = "/api/email/send", "/api/sms/send"


@pytest.fixture
def receipt(alice: Tenant):
    return create_template(
        owner=alice.user, channel="email", name="Receipt", subject="Order {{ custom.order }} for {{ first_name }}",
        html="<p>Hi {{ first_name|default:\"there\" }}, total {{ custom.total }}</p>",
        text="Hi {{ first_name|default:\"there\" }}, total {{ custom.total }}", from_name="Shop",
    )  # fmt: skip


@pytest.fixture
def code(alice: Tenant):
    return create_template(
        owner=alice.user, channel="sms", name="Code", body="{{ first_name }}, your code is {{ custom.code }}"
    )


def send(alice: Tenant, path: str, *entries: dict):
    return alice.client().post(path, {"contact": list(entries)}, format="json")


def balance(tenant: Tenant, channel: str) -> int:
    return accounts.balances(tenant.user)[channel]


def nothing_happened(tenant: Tenant, before: dict[str, int]) -> None:
    assert not Message.objects.exists()
    assert accounts.balances(tenant.user) == before


def test_a_template_by_name_rendered_with_template_data(alice, gateways, receipt):
    answer = send(alice, EMAIL, {"email": "Reader@Example.com", "template": "Receipt",
                                 "template_data": {"first_name": "Ann", "order": "A-17", "total": "9.90 €"}})  # fmt: skip
    assert answer.status_code == 200, answer.json()
    message = Message.objects.get()
    assert message.recipient == "reader@example.com"
    assert message.subject == "Order A-17 for Ann"
    assert message.body == "<p>Hi Ann, total 9.90 €</p>"
    assert message.text_body == "Hi Ann, total 9.90 €"
    assert message.sender_name == "Shop"
    assert answer.json()["data"][0]["uid"] == str(message.uid)


def test_a_template_by_id_reads_the_contact_at_that_address(alice, gateways, receipt):
    contacts.create_contact(owner=alice.user, email="ann@example.com", first_name="Ann")
    answer = send(alice, EMAIL, {"email": "ANN@example.com", "template": receipt.public_id, "sender_name": "Mine",
                                 "template_data": {"order": 42, "total": 1.5}})  # fmt: skip
    assert answer.status_code == 200, answer.json()
    message = Message.objects.get()
    assert message.subject == "Order 42 for Ann"
    assert message.sender_name == "Mine"  # the request's own fields win over the template's


def test_a_contact_by_id_gets_its_own_data(alice, gateways, receipt):
    contact = contacts.create_contact(owner=alice.user, email="bo@example.com", first_name="Bo")
    answer = send(alice, EMAIL, {"contact_id": contact.public_id, "template": "Receipt"})
    assert answer.status_code == 200, answer.json()
    assert answer.json()["data"][0]["email"] == "bo@example.com"
    assert Message.objects.get().body == "<p>Hi Bo, total </p>"


def test_a_contact_by_id_with_literal_content(alice, gateways):
    contact = contacts.create_contact(owner=alice.user, phone="+14155550100")
    answer = send(alice, SMS, {"contact_id": contact.public_id, "body": "Your parcel is here"})
    assert answer.status_code == 200, answer.json()
    message = Message.objects.get()
    assert (message.recipient, message.body, message.cost) == ("+14155550100", "Your parcel is here", 1)


def test_a_list_sends_to_its_subscribed_members_once_each(alice, gateways, audience, receipt):
    before = balance(alice, "email")
    answer = send(alice, EMAIL, {"list_id": audience.second.public_id, "template": "Receipt"},
                  {"email": "other@example.com", "subject": "Hi", "message": "Plain"})  # fmt: skip
    assert answer.status_code == 200, answer.json()
    # second: a4..a9 — a6 unsubscribed, a7 suppressed, a8 has no email
    sent = [row["email"] for row in answer.json()["data"]]
    assert sent == ["a4@example.com", "a5@example.com", "a9@example.com", "other@example.com"]
    assert Message.objects.get(recipient="a9@example.com").subject == "Order  for A9"
    assert balance(alice, "email") == before - 4


def test_a_tag_by_name_or_id(alice, gateways, audience, code):
    contacts.create_contact(owner=alice.user, phone="+14155550111", first_name="Cy", tags=["night"])
    tag = contacts.create_contact(owner=alice.user, phone="+14155550112", tags=["night"]).tags.get()
    for value in ("night", tag.public_id):
        answer = send(alice, SMS, {"tag": value, "template": "Code", "template_data": {"code": "123456"}})
        assert answer.status_code == 200, answer.json()
        assert [row["number"] for row in answer.json()["data"]] == ["+14155550111", "+14155550112"]
    assert (
        sorted(Message.objects.values_list("body", flat=True))
        == [", your code is 123456"] * 2 + ["Cy, your code is 123456"] * 2
    )


def test_a_whole_request_is_refused_when_one_reference_is_unknown(alice, bob, gateways, audience, receipt):
    other = contacts.create_contact(owner=bob.user, email="bob-contact@example.com")
    before = accounts.balances(alice.user)
    cases = [
        ({"email": "x@example.com", "template": "Nope"}, 404, "contact.1.template: Template 'Nope' not found."),
        ({"contact_id": other.public_id, "subject": "s", "message": "m"}, 404, "contact.1.contact_id: Contact not found."),
        ({"contact_id": "contact_bad", "subject": "s", "message": "m"}, 404, "contact.1.contact_id: Contact not found."),
        ({"list_id": "list_" + "A" * 22, "template": "Receipt"}, 404, "contact.1.list_id: List not found."),
        ({"tag": "unknown", "template": "Receipt"}, 404, "contact.1.tag: Tag not found."),
    ]  # fmt: skip
    for entry, status, message in cases:
        answer = send(alice, EMAIL, {"email": "fine@example.com", "subject": "s", "message": "m"}, entry)
        assert (answer.status_code, answer.json()["message"]) == (status, message), entry
        nothing_happened(alice, before)


def test_unreachable_contacts_and_empty_groups_are_422(alice, gateways, audience, receipt):
    before = accounts.balances(alice.user)
    unsubscribed = Contact.objects.get(email="a6@example.com")
    no_email = Contact.objects.get(phone="+14155550108")
    empty = contacts.create_list(owner=alice.user, name="Empty")
    cases = [
        ({"contact_id": unsubscribed.public_id, "template": "Receipt"}, f"{unsubscribed.public_id} is unsubscribed"),
        ({"contact_id": no_email.public_id, "template": "Receipt"}, f"{no_email.public_id} has no email address."),
        ({"list_id": empty.public_id, "template": "Receipt"}, "No subscribed contact with a email address"),
    ]
    for entry, message in cases:
        answer = send(alice, EMAIL, entry)
        assert answer.status_code == 422, answer.json()
        assert answer.json()["message"].startswith(f"contact.0.{next(iter(k for k in entry if k != 'template'))}: ")
        assert message in answer.json()["message"]
        nothing_happened(alice, before)


def test_shape_errors_name_their_field(alice, gateways, receipt, code):
    before = accounts.balances(alice.user)
    cases = [
        (EMAIL, {"email": "a@example.com", "template": "Receipt", "subject": "x"}, "contact.0.subject",
         "Give either a template or the content, not both."),
        (EMAIL, {"email": "a@example.com", "contact_id": "contact_x", "template": "Receipt"}, "contact.0.contact_id",
         "Name one recipient: email, contact_id, list_id or tag — not email and contact_id."),
        (EMAIL, {"template": "Receipt"}, "contact.0.email", "This field is required (or contact_id, list_id or tag)."),
        (EMAIL, {"contact_id": "", "subject": "s", "message": "m"}, "contact.0.contact_id", "Must be a non-empty string."),
        (EMAIL, {"email": "a@example.com", "template": "Receipt", "template_data": {"x": {"y": 1}}},
         "contact.0.template_data.x", "Must be a string, number, boolean or null."),
        (EMAIL, {"email": "a@example.com", "template": "Receipt", "template_data": [1]}, "contact.0.template_data",
         "Must be an object of names and values."),
        (EMAIL, {"email": "a@example.com", "subject": "s", "message": "m", "template_data": {"a": 1}},
         "contact.0.template_data", "Only with a template."),
        (SMS, {"number": "+14155550100", "template": "Receipt"}, "contact.0.template",
         "'Receipt' is a email template; this endpoint sends sms."),
    ]  # fmt: skip
    for path, entry, field, message in cases:
        answer = send(alice, path, entry)
        assert answer.status_code == 400, (entry, answer.json())
        assert {"field": field, "message": message} in answer.json()["errors"], answer.json()
        nothing_happened(alice, before)


def test_a_rendered_message_the_send_path_refuses_names_its_entry(alice, gateways, code):
    contact = contacts.create_contact(owner=alice.user, phone="+14155550100")
    before = accounts.balances(alice.user)
    answer = send(alice, SMS, {"number": "+14155550199", "body": "fine"},
                  {"contact_id": contact.public_id, "template": "Code", "template_data": {"code": "9" * 1700}})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["field"] == "contact.1.body"
    nothing_happened(alice, before)


def test_a_list_larger_than_a_request_is_refused(alice, gateways, settings, audience, receipt):
    settings.XSENDER_MAX_RECIPIENTS = 3
    answer = send(alice, EMAIL, {"email": "x@example.com", "subject": "s", "message": "m"},
                  {"list_id": audience.first.public_id, "template": "Receipt"})  # fmt: skip
    assert answer.status_code == 400
    assert answer.json()["errors"] == [{"field": "contact.1.list_id", "message": "More subscribed contacts than this "
                                        "request has room for (2): send to this audience with a campaign."}]  # fmt: skip
    assert not Message.objects.exists()


def test_a_placeholder_cannot_reach_settings(alice, gateways):
    create_template(owner=alice.user, channel="sms", name="Sneaky", body="k={{ settings.SECRET_KEY }}{{ custom.x }}")
    answer = send(alice, SMS, {"number": "+14155550100", "template": "Sneaky", "template_data": {"settings": "v"}})
    assert answer.status_code == 200, answer.json()
    assert Message.objects.get().body == "k="


def test_query_count_does_not_grow_with_the_list(alice, gateways, audience, receipt, django_assert_max_num_queries):
    owner = alice.user
    accounts.add_credits(user=owner, channel="email", amount=200)
    big = contacts.create_list(owner=owner, name="Big")
    Contact.objects.bulk_create(Contact(owner=owner, email=f"m{i}@example.com", public_id=f"contact_{i:022d}")
                                for i in range(200))  # fmt: skip
    contacts.add_to_lists(owner=owner, contact_ids=[f"contact_{i:022d}" for i in range(200)], list_ids=[big.public_id])
    with django_assert_max_num_queries(20):
        answer = send(alice, EMAIL, {"list_id": big.public_id, "template": "Receipt"})
    assert answer.status_code == 200
    assert Message.objects.count() == 200


def test_an_approved_whatsapp_template_by_api(alice, gateways):
    approved = {"name": "order_update", "language": "en_US", "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "{{ custom.order }}"}]}]}  # fmt: skip
    create_template(owner=alice.user, channel="whatsapp", name="Order", whatsapp_template=approved)
    bridge = {"base_url": "http://127.0.0.1:9"}
    Gateway.objects.create(
        owner=alice.user, channel="whatsapp", provider="whatsapp_web", identifier="waha", config=bridge
    )
    entry = {"number": "+14155550100", "template": "Order", "template_data": {"order": "A-17"}}
    refused = send(alice, "/api/whatsapp/send", {**entry, "session_name": "waha"})
    assert refused.status_code == 404
    assert refused.json()["message"].startswith("contact.0.session_name: Gateway 'waha' (whatsapp_web) cannot send")
    assert not Message.objects.exists()
    answer = send(alice, "/api/whatsapp/send", entry)
    assert answer.status_code == 200, answer.json()
    message = Message.objects.get()
    assert message.body == "" and message.whatsapp_template["components"][0]["parameters"][0]["text"] == "A-17"
    record = alice.client().get(f"/api/get/whatsapp/{message.uid}").json()["data"]
    assert record["template"]["name"] == "order_update"
