"""The inbound queue: the receiver answers once the events are stored, a drain per gateway applies them in batches,
an event that comes before its message's provider id waits for it, and the scheduler recovers lost wake-ups."""

from __future__ import annotations

import django_rq
import pytest
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from twilio.request_validator import RequestValidator

from gateways import services as gateways
from gateways.backends.base import ProviderEvent, SendResult
from messaging import transitions
from messaging.items import SmsItem
from messaging.models import Message, MessageEvent, Status, Suppression
from messaging.services import accept_messages
from tests.tracking.support import applying, esp_gateway, post, raw_body, run_drains, sample, sent_message
from tracking import services
from tracking.models import QueuedEvent
from tracking.sweeps import run_sweeps
from xsender.redis import get_redis

pytestmark = pytest.mark.django_db
ACCOUNT, TOKEN = "AC" + "1" * 32, "twilio-token"


@pytest.fixture
def twilio(alice):
    config = {"account_sid": ACCOUNT, "auth_token": TOKEN, "from_number": "+15550000000"}
    return gateways.add_gateway(owner=alice.user, channel="sms", provider="twilio", identifier="sms", config=config)


def callback(gateway, sid: str, status: str = "delivered", error: str = "", token: str = TOKEN) -> object:
    """Twilio's status callback for `sid`, signed with `token`; its wake-ups run, its drains do not."""
    path = f"/api/webhook/sms/twilio/{gateway.uid}"
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT, "ErrorCode": error}
    signature = RequestValidator(token).compute_signature("http://testserver" + path, params)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post(path, params, secure=True, HTTP_X_TWILIO_SIGNATURE=signature)


def sent_sms(gateway, count: int, principal=None) -> list[Message]:
    """`count` SMS of the gateway's owner (or `principal`), answered by Twilio (Sent, SID SM<id>)."""
    items = [SmsItem(recipient=f"+1555000{i:04d}", body="Hi", gateway=gateway.identifier) for i in range(count)]
    accept_messages(principal=principal or gateway.owner, channel="sms", items=items, max_items=count)
    claimed = transitions.claim_next(gateway_id=gateway.pk, limit=count)
    results = [SendResult(uid=m.uid, ok=True, provider_message_id=f"SM{m.pk:032x}") for m in claimed]
    transitions.record_send_results(gateway=gateway, messages=claimed, results=results)
    return list(Message.objects.filter(gateway=gateway).order_by("pk"))


def test_the_answer_comes_before_the_event_is_applied_and_its_drain_applies_it(twilio):
    message = sent_sms(twilio, 1)[0]
    answer = callback(twilio, message.provider_message_id)
    before = Message.objects.get(pk=message.pk).status
    run_drains()
    assert (answer.status_code, answer.json()["data"]["queued"], before) == (200, 1, Status.SENT)
    assert Message.objects.get(pk=message.pk).status == Status.DELIVERED


def test_many_requests_queue_one_drain_for_their_gateway(twilio):
    messages = sent_sms(twilio, 3)
    for message in messages:
        callback(twilio, message.provider_message_id)
    jobs = django_rq.get_queue("low").count
    run_drains()
    assert jobs == 1
    assert Message.objects.filter(status=Status.DELIVERED).count() == 3


def test_an_event_before_its_message_has_its_provider_id_is_applied_once_the_id_is_there(twilio):
    sid = "SM" + "a" * 32
    answer = callback(twilio, sid).json()["data"]
    run_drains()  # no message with that id yet: the event waits
    message = sent_message(twilio, "+15550009999", sid)
    QueuedEvent.objects.update(due_at=timezone.now())  # its next try has come
    with applying():
        run_sweeps()
    assert (answer["unmatched"], QueuedEvent.objects.count()) == (1, 0)
    assert Message.objects.get(pk=message.pk).status == Status.DELIVERED


def test_the_scheduler_wakes_a_gateway_whose_wake_up_was_lost(twilio):
    message = sent_sms(twilio, 1)[0]
    callback(twilio, message.provider_message_id)
    get_redis().flushdb()  # Redis lost the job and the flag
    with applying():
        woken = run_sweeps()["inbound_woken"]
    assert woken == 1
    assert Message.objects.get(pk=message.pk).status == Status.DELIVERED


def test_a_batch_is_applied_in_the_same_number_of_statements_for_one_event_or_three_hundred(admin):
    config = {"account_sid": ACCOUNT, "auth_token": TOKEN, "from_number": "+15550000000"}
    twilio = gateways.add_gateway(owner=None, channel="sms", provider="twilio", identifier="sms", config=config)
    messages = sent_sms(twilio, 301, admin.user)

    def applied(batch: list[Message]) -> int:
        events = [
            ProviderEvent(provider_message_id=m.provider_message_id, status="Failed", occurred_at=None, detail={},
                          event_id=f"{m.provider_message_id}:failed", kind="failed", suppress="opt_out", error="21610")
            for m in batch
        ]  # fmt: skip
        services.receive_events(scope=f"gateway:{twilio.uid}", home=twilio, gateways=[twilio], events=events)
        with CaptureQueriesContext(connection) as queries:
            services.apply_queued(gateway_id=twilio.pk)
        return len(queries.captured_queries)

    assert applied(messages[:1]) == applied(messages[1:])
    assert Message.objects.filter(status=Status.FAILED).count() == 301
    assert Suppression.objects.filter(user=None, reason="opt_out").count() == 301  # the admin's: global


def test_a_changed_webhook_secret_is_used_at_once(alice):
    data = sample("esp/postmark_delivered")
    gateway = esp_gateway(alice.user, "postmark", data)
    path = f"/api/webhook/email/postmark/{gateway.uid}"
    first = post(path, raw_body(data), data["content_type"], data["headers"]).status_code
    config = {**gateways.check_config_change(gateway=gateway, config=gateway.config), "webhook_secret": "new:secret"}
    gateways.update_gateway(gateway=gateway, config=config)
    assert (first, post(path, raw_body(data), data["content_type"], data["headers"]).status_code) == (200, 401)


def test_a_gateway_removed_with_events_queued_takes_them_along(twilio):
    callback(twilio, "SM" + "b" * 32)
    gateways.remove_gateway(gateway=twilio)
    assert not QueuedEvent.objects.exists()


def test_the_admin_lists_waiting_events_and_how_many_were_dropped(admin_client, twilio):
    callback(twilio, "SM" + "c" * 32)
    page = admin_client.get("/admin/tracking/queuedevent/", secure=True)
    assert page.status_code == 200
    assert b"dropped as unmatched" in page.content and b"SM" + b"c" * 32 in page.content


def test_a_reported_move_keeps_its_event_history_in_order(twilio):
    message = sent_sms(twilio, 1)[0]
    for status in ("delivered", "read"):
        callback(twilio, message.provider_message_id, status)
    run_drains()
    kinds = list(MessageEvent.objects.filter(message=message).values_list("kind", flat=True))
    assert kinds == ["delivered", "read"]
    assert Message.objects.get(pk=message.pk).status == Status.OPENED


def test_a_nul_character_in_what_the_provider_says_never_stops_the_event(twilio):
    message = sent_sms(twilio, 1)[0]
    event = ProviderEvent(provider_message_id=message.provider_message_id, status="Failed", occurred_at=None,
                          detail={"title": "bad\x00byte", "list": ["\x00"]}, event_id="e\x001", kind="failed",
                          error="Twilio\x00 30003")  # fmt: skip
    with applying():
        services.receive_events(scope=f"gateway:{twilio.uid}", home=twilio, gateways=[twilio], events=[event])
    failed = Message.objects.get(pk=message.pk)
    assert (failed.status, failed.error) == (Status.FAILED, "Twilio 30003")
    assert MessageEvent.objects.get(message=message, kind="failed").payload["detail"]["title"] == "badbyte"
