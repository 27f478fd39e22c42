"""WAHA (a WhatsApp Web bridge) webhooks: message acks, session states and customers' messages."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from gateways import services as gateways
from gateways.models import Gateway
from messaging.models import Message, Status
from tests.tracking.support import post, sent_message
from tracking.models import InboundMessage
from xsender import events

pytestmark = pytest.mark.django_db
KEY = "waha-hook-key"


@pytest.fixture
def bridge(alice) -> Gateway:
    config = {"base_url": "http://127.0.0.1:9", "session": "default", "webhook_key": KEY}
    return gateways.add_gateway(owner=alice.user, channel="whatsapp", provider="whatsapp_web", identifier="web",
                                config=config)  # fmt: skip


@pytest.fixture
def published():
    seen: list = []
    events.subscribe(seen.extend)
    yield seen
    events.unsubscribe(seen.extend)


def waha(gateway: Gateway, event: str, payload: dict, key: str = KEY, event_id: str = "evt_1") -> object:
    body = json.dumps({"id": event_id, "timestamp": 1700000000000, "event": event, "session": "default",
                       "payload": payload}).encode()  # fmt: skip
    headers = {"X-Webhook-Hmac": hmac.new(key.encode(), body, hashlib.sha512).hexdigest(),
               "X-Webhook-Hmac-Algorithm": "sha512"}  # fmt: skip
    return post(f"/api/webhook/whatsapp/web/{gateway.uid}", body, "application/json", headers)


def test_acks_move_the_message_up_to_read(bridge):
    message = sent_message(bridge, "+15555550123", "true_15555550123@c.us_AAA")
    for ack, event_id in ((2, "evt_a"), (3, "evt_b")):
        waha(bridge, "message.ack", {"id": "true_15555550123@c.us_AAA", "ack": ack}, event_id=event_id)
    assert Message.objects.get(pk=message.pk).status == Status.OPENED


def test_an_ack_signed_with_another_key_is_refused(bridge):
    message = sent_message(bridge, "+15555550123", "true_15555550123@c.us_AAA")
    response = waha(bridge, "message.ack", {"id": "true_15555550123@c.us_AAA", "ack": 2}, key="guess")
    assert response.status_code == 401
    assert Message.objects.get(pk=message.pk).status == Status.SENT


def test_a_session_that_stops_working_is_shown_and_published_as_disconnected(bridge, published):
    waha(bridge, "session.status", {"status": "WORKING"}, event_id="evt_1")
    waha(bridge, "session.status", {"status": "STOPPED"}, event_id="evt_2")
    assert Gateway.objects.get(pk=bridge.pk).connection_state == "STOPPED"
    assert [(e.type, e.data["state"]) for e in published] == [("gateway.disconnected", "STOPPED")]


def test_a_customers_message_is_stored_and_published(bridge, published):
    waha(bridge, "message", {"id": "false_15555550199@c.us_B", "from": "15555550199@c.us", "fromMe": False,
                             "body": "Hi!", "timestamp": 1700000000})  # fmt: skip
    row = InboundMessage.objects.get()
    assert (row.sender, row.body, row.user_id) == ("+15555550199", "Hi!", bridge.owner_id)
    assert [e.type for e in published] == ["message.received"]
