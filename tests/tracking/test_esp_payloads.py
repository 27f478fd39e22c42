"""Every ESP sample of ../shared/payloads posted as its provider sent it, to a tenant's gateway URL and to the
site-wide URL: the documented status, event and suppression; one changed byte or no credentials: refused and
nothing changed."""

from __future__ import annotations

import json

import pytest

from gateways.backends.sns import _certificates
from messaging.models import Message, MessageEvent, Status, Suppression
from tests.tracking.support import (
    BASIC_AUTH,
    esp_gateway,
    esp_of,
    esp_samples,
    post,
    raw_body,
    sample,
    sent_message,
    signed_headers,
    signing_key,
)

pytestmark = pytest.mark.django_db

# anymail's event type → (the message's status after it, the suppression it adds).
EXPECTED = {
    "delivered": (Status.DELIVERED, None), "opened": (Status.OPENED, None), "sent": (Status.SENT, None),
    "bounced": (Status.BOUNCED, "bounce"), "complained": (Status.COMPLAINED, "complaint"),
    "failed": (Status.FAILED, None), "rejected": (Status.FAILED, "bounce"), "deferred": (Status.SENT, None),
}  # fmt: skip
SAMPLES = [s for s in esp_samples() if not s.endswith("subscription_confirmation")]


@pytest.fixture(autouse=True)
def _fresh_certificates():
    _certificates.clear()


def prepare(name: str, sns) -> tuple[dict, bytes]:
    data = sample(name)
    if esp_of(data) == "amazon_ses":  # SNS signs the message: re-signed with the loopback certificate
        data["body"] = sns.sign(data["body"])
    return data, raw_body(data)


def deliver(data: dict, body: bytes, path: str, *, drop_auth: bool = False, tamper: bool = False) -> object:
    headers = signed_headers(esp_of(data), data, body, "http://testserver" + path)
    if drop_auth:
        headers.pop("Authorization", None)
    if tamper and signs_body(data):
        body = _tampered(body)
    elif tamper:  # the ESP signs nothing (or not the body, Mailgun): its credentials are what it sends
        headers["Authorization"] = headers["Authorization"][:-3] + "x" + headers["Authorization"][-2:]
    return post(path, body, data["content_type"], headers)


def signs_body(data: dict) -> bool:
    return esp_of(data) in ("mailersend", "resend", "postal", "mandrill", "amazon_ses") or bool(
        data.get("signing", {}).get("public_key")
    )


def expected_message(data: dict, gateway, principal=None) -> Message:
    event = data["expect"]["anymail_events"][0]
    recipient = event["recipient"].lower()
    if "." not in recipient.partition("@")[2]:  # invalid@invalid: an address the send path would refuse
        recipient = "someone@example.com"
    return sent_message(gateway, recipient, str(event["message_id"]), principal)


@pytest.mark.parametrize("name", SAMPLES)
def test_a_sample_at_the_gateways_url_moves_its_message_as_documented(name, alice, sns):
    data, body = prepare(name, sns)
    gateway = esp_gateway(alice.user, esp_of(data), data)
    message = expected_message(data, gateway)
    response = deliver(data, body, f"/api/webhook/email/{esp_of(data)}/{gateway.uid}")
    event = data["expect"]["anymail_events"][0]
    status, suppression = EXPECTED[event["event_type"]]
    assert response.status_code == 200, response.content
    assert Message.objects.get(pk=message.pk).status == status
    assert MessageEvent.objects.filter(message=message, kind=event["event_type"]).count() == 1
    assert list(Suppression.objects.filter(user=alice.user).values_list("reason", flat=True)) == (
        [suppression] if suppression else []
    )


@pytest.mark.parametrize("name", SAMPLES)
def test_a_sample_at_the_site_wide_url_moves_the_admins_message(name, admin, sns, settings):
    data, body = prepare(name, sns)
    esp = esp_of(data)
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": BASIC_AUTH,
        "MANDRILL_WEBHOOK_URL": "http://testserver/api/webhook/email/mandrill",
    }
    if signing_key(esp, data):
        setting = {"mailgun": "WEBHOOK_SIGNING_KEY", "mailersend": "SIGNING_SECRET", "resend": "SIGNING_SECRET",
                   "mandrill": "WEBHOOK_KEY", "postal": "WEBHOOK_KEY", "sendgrid": "TRACKING_WEBHOOK_VERIFICATION_KEY"}[esp]  # fmt: skip
        settings.ANYMAIL[f"{esp.upper()}_{setting}"] = signing_key(esp, data)
    message = expected_message(data, esp_gateway(None, esp, data, webhook_secret="other:secret"), admin.user)
    response = deliver(data, body, f"/api/webhook/email/{esp}")
    assert response.status_code == 200, response.content
    assert Message.objects.get(pk=message.pk).status == EXPECTED[data["expect"]["anymail_events"][0]["event_type"]][0]


def _tampered(body: bytes) -> bytes:
    """One byte changed inside the event (a digit of the payload), the JSON or form still readable."""
    for index in [*range(len(body) // 2, len(body)), *range(len(body) // 2)]:
        if chr(body[index]).isdigit():
            return body[:index] + str((int(chr(body[index])) + 1) % 10).encode() + body[index + 1 :]
    raise AssertionError("no digit to change")


@pytest.mark.parametrize("name", SAMPLES)
def test_a_sample_with_one_changed_byte_of_what_is_signed_or_without_credentials_is_refused(name, alice, sns):
    data, body = prepare(name, sns)
    gateway = esp_gateway(alice.user, esp_of(data), data)
    message = expected_message(data, gateway)
    path = f"/api/webhook/email/{esp_of(data)}/{gateway.uid}"
    answers = [
        deliver(data, body, path, tamper=True).status_code,
        deliver(data, body, path, drop_auth=True).status_code,
    ]
    assert answers == [401, 401]
    assert Message.objects.get(pk=message.pk).status == Status.SENT
    assert not MessageEvent.objects.filter(message=message).exclude(kind="sent").exists()


def test_an_sns_message_signed_by_another_key_is_refused(alice, sns):
    data, body = prepare("esp/ses_sns_delivery", sns)
    gateway = esp_gateway(alice.user, "amazon_ses", data)
    message = expected_message(data, gateway)
    forged = json.loads(body)
    forged["Signature"] = sns.sign({**forged, "MessageId": "other"})["Signature"]
    response = deliver(data, json.dumps(forged).encode(), f"/api/webhook/email/amazon_ses/{gateway.uid}")
    assert response.status_code == 401
    assert Message.objects.get(pk=message.pk).status == Status.SENT


def test_an_sns_subscription_is_confirmed_through_its_subscribe_url(alice, sns):
    data = sample("esp/ses_sns_subscription_confirmation")
    data["body"]["SubscribeURL"] = f"{sns.server.url}/?Action=ConfirmSubscription&Token=EXAMPLE_TOKEN"
    data["body"] = sns.sign(data["body"])
    gateway = esp_gateway(alice.user, "amazon_ses", data)
    response = deliver(data, raw_body(data), f"/api/webhook/email/amazon_ses/{gateway.uid}")
    assert response.status_code == 200
    assert [r.query.get("Action") for r in sns.server.requests if not r.path.endswith(".pem")] == [
        ["ConfirmSubscription"]
    ]


def test_a_credential_no_verifier_can_read_is_a_401_not_a_500(alice):
    """Mailgun's signature fields carrying a lone surrogate: anymail's check raised (a 500 anyone could cause)."""
    data = sample("esp/mailgun_delivered")
    gateway = esp_gateway(alice.user, "mailgun", data)
    message = expected_message(data, gateway)
    data["body"]["signature"]["token"] = "\ud800" + data["body"]["signature"]["token"]
    data.pop("raw_body", None)
    response = deliver(data, json.dumps(data["body"]).encode(), f"/api/webhook/email/mailgun/{gateway.uid}")
    assert response.status_code == 401
    assert Message.objects.get(pk=message.pk).status == Status.SENT and not MessageEvent.objects.exists()


def test_an_event_time_no_calendar_holds_is_a_400_not_a_500(alice):
    """SendGrid signs nothing here (basic auth): its event with an impossible epoch failed in the parse."""
    data = sample("esp/sendgrid_delivered")
    gateway = esp_gateway(alice.user, "sendgrid", data)
    message = expected_message(data, gateway)
    data["body"][0]["timestamp"] = 10**30
    data.pop("raw_body", None)
    response = deliver(data, json.dumps(data["body"]).encode(), f"/api/webhook/email/sendgrid/{gateway.uid}")
    assert response.status_code == 400
    assert "cannot be read" in response.json()["message"]
    assert Message.objects.get(pk=message.pk).status == Status.SENT
