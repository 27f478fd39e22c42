"""Twilio status callbacks and WhatsApp Cloud API webhooks from ../shared/payloads, posted as sent."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from gateways import services as gateways
from messaging.models import Message, MessageEvent, Status, Suppression
from tests.fakes.http import FakeServer
from tests.fakes.providers import twilio as twilio_api
from tests.tracking.support import applying, post, raw_body, sample, sent_message

pytestmark = pytest.mark.django_db
ACCOUNT = "AC03c2fcd60e144e7cbeee413fcbf812a3"


def twilio_gateway(owner, **extra):
    config = {"account_sid": ACCOUNT, "auth_token": "12345", "from_number": "+15017122661", **extra}
    return gateways.add_gateway(owner=owner, channel="sms", provider="twilio", identifier="sms", config=config)


def twilio_post(data: dict, path: str, params: dict | None = None) -> object:
    params = params or data["params"]
    signature = RequestValidator("12345").compute_signature("http://testserver" + path, params)
    with applying():
        return Client().post(path, params, secure=True, HTTP_X_TWILIO_SIGNATURE=signature)


def test_a_twilio_delivered_callback_at_the_site_wide_url_delivers_the_admins_message(admin):
    data = sample("twilio/status_callback")
    message = sent_message(twilio_gateway(None), "+15558675310", data["params"]["MessageSid"], admin.user)
    headers = {k: v for k, v in data["headers"].items()}
    response = post("/api/webhook/sms/twilio", raw_body(data), data["content_type"], headers)
    assert response.status_code == 200
    assert Message.objects.get(pk=message.pk).status == Status.DELIVERED


def test_a_twilio_undelivered_callback_fails_the_message_with_its_error_code(alice):
    data = sample("twilio/status_callback_undelivered")
    gateway = twilio_gateway(alice.user)
    message = sent_message(gateway, "+15558675310", data["params"]["MessageSid"])
    assert twilio_post(data, f"/api/webhook/sms/twilio/{gateway.uid}").status_code == 200
    message.refresh_from_db()
    assert (message.status, message.error) == (Status.FAILED, "Twilio 30003")


def test_a_stop_reply_error_suppresses_the_number_for_that_tenant(alice):
    data = sample("twilio/status_callback_undelivered")
    gateway = twilio_gateway(alice.user)
    sent_message(gateway, "+15558675310", data["params"]["MessageSid"])
    twilio_post(data, f"/api/webhook/sms/twilio/{gateway.uid}", {**data["params"], "ErrorCode": "21610"})
    assert list(Suppression.objects.values_list("user", "channel", "address", "reason")) == [
        (alice.user.pk, "sms", "+15558675310", "opt_out")
    ]


def test_a_twilio_callback_with_one_changed_byte_or_no_signature_is_refused(alice):
    data = sample("twilio/status_callback")
    gateway = twilio_gateway(alice.user)
    message = sent_message(gateway, "+15558675310", data["params"]["MessageSid"])
    path = f"/api/webhook/sms/twilio/{gateway.uid}"
    signature = RequestValidator("12345").compute_signature("http://testserver" + path, data["params"])
    tampered = {**data["params"], "MessageStatus": "delivereD"}
    answers = [
        Client().post(path, tampered, secure=True, HTTP_X_TWILIO_SIGNATURE=signature).status_code,
        Client().post(path, data["params"], secure=True).status_code,
    ]
    assert answers == [401, 401]
    assert Message.objects.get(pk=message.pk).status == Status.SENT


def test_twilios_known_answer_vector_verifies():
    vector = sample("twilio/signature_test_vector")
    validator = RequestValidator(vector["signing"]["auth_token"])
    assert validator.validate(
        vector["signing"]["signed_url"], vector["params"], vector["signing"]["expected_signature"]
    )


def test_every_twilio_message_asks_for_status_callbacks_at_its_gateways_url(alice):
    with FakeServer(twilio_api()) as api:
        gateway = twilio_gateway(alice.user, base_url=api.url)
        gateways.send_test_message(gateway=gateway, to="+15558675310")
    assert api.requests[0].body["StatusCallback"] == f"http://testserver/api/webhook/sms/twilio/{gateway.uid}"


# ---------------------------------------------------------------- WhatsApp Cloud API


def cloud_gateway(owner, **extra):
    config = {"phone_number_id": "1122334455667", "access_token": "t", "app_secret": "test_app_secret",
              "verify_token": "meatyhamhock", **extra}  # fmt: skip
    return gateways.add_gateway(owner=owner, channel="whatsapp", provider="whatsapp_cloud", identifier="wa",
                                config=config)  # fmt: skip


@pytest.mark.parametrize(
    ("name", "status"),
    [("sent", Status.SENT), ("delivered", Status.DELIVERED), ("read", Status.OPENED), ("failed", Status.FAILED)],
)
def test_a_whatsapp_status_moves_its_message(name, status, alice):
    data = sample(f"whatsapp/status_{name}")
    gateway = cloud_gateway(alice.user)
    wamid = data["body"]["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
    message = sent_message(gateway, "+972987654321", wamid)
    response = post(f"/api/webhook/whatsapp/cloud/{gateway.uid}", raw_body(data), data["content_type"], data["headers"])
    assert response.status_code == 200
    assert Message.objects.get(pk=message.pk).status == status
    assert MessageEvent.objects.filter(message=message, kind=name).count() == 1


def test_a_failed_whatsapp_status_keeps_the_error_code_and_title(alice):
    data = sample("whatsapp/status_failed")
    gateway = cloud_gateway(alice.user)
    message = sent_message(gateway, "+972987654321", "wamid.xyzxyz")
    post(f"/api/webhook/whatsapp/cloud/{gateway.uid}", raw_body(data), data["content_type"], data["headers"])
    assert Message.objects.get(pk=message.pk).error == "130472: User's number is part of an experiment"


def test_a_whatsapp_webhook_with_one_changed_byte_or_no_signature_is_refused(alice):
    data = sample("whatsapp/status_delivered")
    gateway = cloud_gateway(alice.user)
    wamid = data["body"]["entry"][0]["changes"][0]["value"]["statuses"][0]["id"]
    message = sent_message(gateway, "+972987654321", wamid)
    body, path = raw_body(data), f"/api/webhook/whatsapp/cloud/{gateway.uid}"
    unsigned = {k: v for k, v in data["headers"].items() if not k.startswith("X-Hub")}
    answers = [
        post(path, body.replace(b"delivered", b"delivereD"), data["content_type"], data["headers"]).status_code,
        post(path, body, data["content_type"], unsigned).status_code,
    ]
    assert answers == [401, 401]
    assert Message.objects.get(pk=message.pk).status == Status.SENT


def test_the_verify_challenge_is_answered_with_the_right_token_only(alice, admin):
    data = sample("whatsapp/verify_challenge")
    gateway = cloud_gateway(alice.user)
    right = Client().get(f"/api/webhook/whatsapp/cloud/{gateway.uid}?{data['query_string']}", secure=True)
    wrong = Client().get(
        f"/api/webhook/whatsapp/cloud/{gateway.uid}?{data['query_string'].replace('meaty', 'lean')}", secure=True
    )
    assert (right.status_code, right.content, right["Content-Type"]) == (200, b"1158201444", "text/plain")
    assert wrong.status_code == 403


def _cloud_post(gateway, value: dict) -> object:
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": value}]}]}).encode()  # fmt: skip
    signature = "sha256=" + hmac.new(b"test_app_secret", body, hashlib.sha256).hexdigest()
    with applying():
        return post(
            f"/api/webhook/whatsapp/cloud/{gateway.uid}", body, "application/json", {"X-Hub-Signature-256": signature}
        )


def test_a_nul_or_lone_surrogate_in_a_signed_batch_is_replaced_and_every_status_applies(alice):
    """Neither fits a text column or jsonb: the request was a 500 and Meta retried the whole batch for ever."""
    gateway = cloud_gateway(alice.user)
    first, second = (sent_message(gateway, "+972987654321", f"wamid.odd{i}") for i in (1, 2))
    statuses = [
        {"id": "wamid.odd1", "status": "failed", "timestamp": "1689380458", "recipient_id": "972987654321",
         "errors": [{"code": 131026, "title": "Bad\u0000 \ud800title"}]},
        {"id": "wamid.odd2", "status": "delivered", "timestamp": "1689380458", "recipient_id": "972987654321"},
    ]  # fmt: skip
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1122334455667"}, "statuses": statuses}
    response = _cloud_post(gateway, value)
    assert response.status_code == 200, response.content
    assert Message.objects.get(pk=second.pk).status == Status.DELIVERED
    failed = Message.objects.get(pk=first.pk)
    assert failed.status == Status.FAILED and failed.error == "131026: Bad \ufffdtitle"


def test_a_customers_message_with_a_nul_or_lone_surrogate_is_stored_with_them_replaced(alice):
    from tracking.models import InboundMessage

    gateway = cloud_gateway(alice.user)
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1122334455667"},
             "messages": [{"from": "972987654321", "id": "wamid.in2", "timestamp": "1689380458", "type": "text",
                           "text": {"body": "Hi\x00 there \udc00!"}}]}  # fmt: skip
    assert _cloud_post(gateway, value).status_code == 200
    assert InboundMessage.objects.for_tenant(alice.user).get().body == "Hi there \ufffd!"


def test_a_customers_whatsapp_message_is_stored_and_published(alice):
    from tracking.models import InboundMessage
    from xsender import events

    seen = []
    events.subscribe(seen.extend)
    gateway = cloud_gateway(alice.user)
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1122334455667"},
             "messages": [{"from": "972987654321", "id": "wamid.in1", "timestamp": "1689380458", "type": "text",
                           "text": {"body": "Hello there"}}]}  # fmt: skip
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": value}]}]}).encode()  # fmt: skip
    signature = "sha256=" + hmac.new(b"test_app_secret", body, hashlib.sha256).hexdigest()
    try:
        post(f"/api/webhook/whatsapp/cloud/{gateway.uid}", body, "application/json", {"X-Hub-Signature-256": signature})
    finally:
        events.unsubscribe(seen.extend)
    row = InboundMessage.objects.for_tenant(alice.user).get()
    assert (row.sender, row.body, row.gateway_id) == ("+972987654321", "Hello there", gateway.pk)
    assert [(e.type, e.user_id, e.data["from"]) for e in seen] == [("message.received", alice.user.pk, "+972987654321")]
