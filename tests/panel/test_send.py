"""Send: the Email, SMS and WhatsApp forms go through the send path; a refusal is shown on its field and
nothing is stored; the SMS counter counts as the server charges."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import CreditAccount
from messaging.models import Message, Status
from messaging.services import add_suppression
from tests.messaging.conftest import make_gateway

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateways(alice):
    return {ch: make_gateway(alice.user, ch, f"{ch}-console", is_default=True) for ch in ("email", "sms", "whatsapp")}


def balance(user, channel: str) -> int:
    return CreditAccount.objects.get(user=user, channel=channel).balance


def test_an_email_from_the_form_is_accepted_charged_and_listed(alice, gateways, panel):
    form = {"recipients": "carol@example.com, dave@example.com", "subject": "Hi", "message": "<p>Hello</p>"}
    response = panel.post("/send/email/", {**form, "gateway": "email-console"}, secure=True, follow=True)
    sent = Message.objects.filter(user=alice.user, channel="email", source="panel")
    assert sorted(m.recipient for m in sent) == ["carol@example.com", "dave@example.com"]
    assert "2 email messages accepted" in response.content.decode() and balance(alice.user, "email") == 98


def test_an_email_from_the_form_keeps_its_reply_to_and_a_bad_one_is_shown_on_its_field(alice, gateways, panel):
    form = {"recipients": "carol@example.com", "subject": "Hi", "message": "x", "gateway": "email-console"}
    html = panel.post("/send/email/", {**form, "reply_to": "help desk"}, secure=True).content.decode()
    assert 'id="id_reply_to_error"' in html and Message.objects.count() == 0
    panel.post("/send/email/", {**form, "reply_to": "Help@Example.com"}, secure=True)
    assert Message.objects.get(user=alice.user).reply_to == "help@example.com"


def test_the_default_gateway_is_preselected_among_own_and_shared(alice, gateways, panel):
    html = panel.get("/send/sms/", secure=True).content.decode()
    assert '<option value="sms-console" selected>' in html


def test_a_bad_recipient_is_shown_on_the_recipients_field_and_nothing_is_stored(alice, gateways, panel):
    form = {"recipients": "+15555550101\nnot-a-number", "body": "Hi", "sms_type": "plain", "gateway": "sms-console"}
    html = panel.post("/send/sms/", form, secure=True).content.decode()
    assert "not-a-number: &#x27;not-a-number&#x27; is not a valid phone number" in html
    assert 'id="id_recipients_error"' in html
    assert Message.objects.count() == 0 and balance(alice.user, "sms") == 100


def test_a_suppressed_recipient_is_refused_in_place(alice, gateways, panel):
    add_suppression(user=alice.user, channel="email", address="carol@example.com")
    form = {"recipients": "carol@example.com", "subject": "Hi", "message": "x", "gateway": "email-console"}
    html = panel.post("/send/email/", form, secure=True).content.decode()
    assert "is on the suppression list" in html and Message.objects.count() == 0


def test_not_enough_credit_is_said_and_nothing_is_stored(alice, gateways, panel):
    numbers = "\n".join(f"+1555555{n:04d}" for n in range(101))
    form = {"recipients": numbers, "body": "Hi", "sms_type": "plain", "gateway": "sms-console"}
    html = panel.post("/send/sms/", form, secure=True).content.decode()
    assert "Not enough sms credit" in html and Message.objects.count() == 0


def test_a_scheduled_whatsapp_media_message_is_read_in_the_servers_time_zone(alice, gateways, panel, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    when = (timezone.localtime() + timedelta(days=2)).replace(second=0, microsecond=0, tzinfo=None)
    form = {
        "recipients": "+15555550101", "message": "Look", "media": "image", "media_url": "https://example.com/a.png",
        "gateway": "whatsapp-console", "schedule_at": when.strftime("%Y-%m-%dT%H:%M"),
    }  # fmt: skip
    panel.post("/send/whatsapp/", form, secure=True)
    message = Message.objects.get()
    assert message.status == Status.SCHEDULED and (message.media, message.body) == ("image", "Look")
    assert timezone.localtime(message.schedule_at).replace(tzinfo=None) == when


def test_an_unknown_gateway_is_refused_on_the_gateway_field(alice, gateways, panel):
    form = {"recipients": "+15555550101", "body": "Hi", "sms_type": "plain", "gateway": "nope"}
    html = panel.post("/send/sms/", form, secure=True).content.decode()
    assert 'id="id_gateway_error"' in html and Message.objects.count() == 0


def test_the_sms_counter_counts_gsm_and_unicode_as_the_server_charges(alice, panel):
    gsm = panel.post("/send/sms/count/", {"body": "a" * 161, "recipients": "+15555550101"}, secure=True)
    ucs = panel.post("/send/sms/count/", {"body": "Hi 😀", "recipients": "+15555550101\n+15555550102"}, secure=True)
    assert "161 characters, GSM-7, 2 segments — costs 2 credits" in gsm.content.decode()
    assert "UCS-2, 1 segment — costs 2 credits for 2 recipients" in ucs.content.decode()


def test_the_counter_is_right_without_javascript_after_submit(alice, gateways, panel):
    form = {"recipients": "+15555550101", "body": "€" * 100, "sms_type": "plain", "action": "count"}
    html = panel.post("/send/sms/", form, secure=True).content.decode()
    assert "100 characters, GSM-7, 2 segments" in html and Message.objects.count() == 0
