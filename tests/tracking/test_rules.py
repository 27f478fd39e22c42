"""Rules every provider's webhook follows: once per event, forward only, within the gateway that signed it,
unknown messages counted, and bounded requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from messaging.models import Message, MessageEvent, Status
from tests.tracking.support import applying, esp_gateway, post, raw_body, sample, sent_message, signed_headers
from tracking.models import QueuedEvent
from tracking.services import unmatched_counts
from tracking.sweeps import run_sweeps

pytestmark = pytest.mark.django_db


def postmark(gateway, name: str) -> object:
    data = sample(f"esp/{name}")
    path = f"/api/webhook/email/postmark/{gateway.uid}"
    return post(path, raw_body(data), data["content_type"], signed_headers("postmark", data, raw_body(data), path))


@pytest.fixture
def gateway(alice):
    return esp_gateway(alice.user, "postmark", sample("esp/postmark_delivered"))


def test_the_same_event_twice_is_applied_once(gateway):
    message = sent_message(gateway, "recipient@example.com", "883953f4-6105-42a2-a16a-77a8eac79483")
    answers = [postmark(gateway, "postmark_delivered").json()["data"] for _ in range(2)]
    assert [a["duplicates"] for a in answers] == [0, 1]
    assert MessageEvent.objects.filter(message=message, kind="delivered").count() == 1


def test_a_bounce_after_delivery_is_kept_as_an_event_and_does_not_rewind(gateway):
    message = sent_message(gateway, "bounce@example.com", "2706ee8a-737c-4285-b032-ccd317af53ed")
    Message.objects.filter(pk=message.pk).update(status=Status.DELIVERED)
    postmark(gateway, "postmark_bounce")
    assert Message.objects.get(pk=message.pk).status == Status.DELIVERED
    assert MessageEvent.objects.get(message=message, kind="bounced").payload["not_applied"]


def test_events_out_of_order_end_at_the_furthest_status(gateway):
    message = sent_message(gateway, "recipient@example.com", "f4830d10-9c35-4f0c-bca3-3d9b459821f8")
    postmark(gateway, "postmark_open")
    data = sample("esp/postmark_delivered")
    late = raw_body(data).replace(b"883953f4-6105-42a2-a16a-77a8eac79483", b"f4830d10-9c35-4f0c-bca3-3d9b459821f8")
    post(f"/api/webhook/email/postmark/{gateway.uid}", late, data["content_type"], data["headers"])
    assert Message.objects.get(pk=message.pk).status == Status.OPENED


def test_a_tenants_signed_event_cannot_touch_another_tenants_message(alice, bob, gateway):
    bobs = esp_gateway(bob.user, "postmark", sample("esp/postmark_delivered"), webhook_secret="bob:secret")
    message = sent_message(bobs, "recipient@example.com", "883953f4-6105-42a2-a16a-77a8eac79483")
    answer = postmark(gateway, "postmark_delivered").json()["data"]
    assert answer["unmatched"] == 1
    assert Message.objects.get(pk=message.pk).status == Status.SENT


def test_an_event_for_an_unknown_message_is_answered_200_kept_a_while_then_counted(gateway, settings):
    assert postmark(gateway, "postmark_delivered").status_code == 200
    kept = QueuedEvent.objects.count()
    past = timezone.now() - timedelta(seconds=settings.XSENDER_INBOUND_MATCH_SECONDS + 1)
    QueuedEvent.objects.update(received_at=past, due_at=past)  # its time to find a message is over
    with applying():
        run_sweeps()  # the scheduler wakes the gateway's drain
    assert (kept, QueuedEvent.objects.count()) == (1, 0)
    assert unmatched_counts() == {f"gateway:{gateway.uid}": 1}


def test_an_unknown_gateway_is_a_404():
    response = Client().post("/api/webhook/email/postmark/8c0f3c1e-4c38-4b38-9a39-0d4a0f0d2a11", b"{}",
                             content_type="application/json", secure=True)  # fmt: skip
    assert response.status_code == 404


def test_a_body_over_the_limit_is_refused_before_anything_is_read(gateway, settings):
    settings.XSENDER_WEBHOOK_MAX_BODY_BYTES = 100
    response = postmark(gateway, "postmark_delivered")
    assert (response.status_code, response.json()["success"]) == (413, False)


def test_a_body_nested_too_deep_is_refused(gateway):
    body = b"[" * 100 + b"]" * 100
    response = post(f"/api/webhook/email/postmark/{gateway.uid}", body, "application/json", {})
    assert response.status_code == 400


def test_one_address_past_its_rate_gets_429(gateway, settings):
    settings.XSENDER_WEBHOOK_IP_RATE_LIMIT = 2
    answers = [postmark(gateway, "postmark_delivered").status_code for _ in range(3)]
    assert answers == [200, 200, 429]
