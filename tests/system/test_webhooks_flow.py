"""Outbound webhooks through real processes (gunicorn, `xsender:worker`, the scheduler) to a receiver on loopback
that verifies every request with the standardwebhooks library: an email's delivery reported by its ESP reaches
the tenant's endpoint, and an event whose worker was killed mid-delivery still arrives, with the same webhook-id.
"""

from __future__ import annotations

import json

import pytest
import requests
from standardwebhooks import Webhook

from gateways.models import Gateway
from messaging.models import Message
from tests.conftest import Tenant
from tests.fakes import providers
from tests.fakes.http import FakeServer, Reply, Request
from tests.messaging.conftest import make_gateway
from tests.system.conftest import Processes, start_web, wait_until
from webhooks import services

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]
LOOPBACK = {"XSENDER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "XSENDER_ALLOW_INSECURE_HTTP": "true"}


@pytest.fixture
def loopback_allowed(settings) -> None:
    settings.XSENDER_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.XSENDER_ALLOW_INSECURE_HTTP = True


def events_of(server: FakeServer, secret: str, event_type: str) -> list[tuple[str, dict]]:
    """(webhook-id, body) of each request of `event_type` whose signature `secret` verifies."""
    found = []
    for request in list(server.requests):
        body = Webhook(secret).verify(request.raw, request.headers)
        if body["type"] == event_type:
            found.append((request.headers["webhook-id"], body))
    return found


def send_email(web, tenant: Tenant, to: str) -> str:
    item = {"email": to, "subject": "Hi", "message": "Hello"}
    answer = web.call("POST", "/api/email/send", tenant.key, json={"contact": [item]})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"][0]["uid"]


def test_an_email_delivered_at_its_esp_reaches_the_tenants_endpoint(alice, processes: Processes, loopback_allowed):
    with FakeServer(providers.postmark()) as postmark, FakeServer(lambda r: Reply(200)) as receiver:
        config = {"esp": "postmark", "api_key": "pm-key", "from_email": "sender@example.com",
                  "base_url": f"{postmark.url}/", "webhook_secret": "hooks:pm-secret"}  # fmt: skip
        gateway = Gateway.objects.create(owner=alice.user, channel="email", provider="esp", identifier="postmark",
                                         config=config, is_default=True)  # fmt: skip
        _, secret = services.add_endpoint(
            owner=alice.user, url=receiver.url + "/hooks", event_types=["message.delivered"]
        )
        web = start_web(processes, **LOOPBACK)
        processes.manage("worker", "xsender:worker", **LOOPBACK)
        uid = send_email(web, alice, "carol@example.com")
        sent = wait_until(lambda: Message.objects.filter(uid=uid).exclude(provider_message_id="").first(), what="Sent")
        delivered = {"RecordType": "Delivery", "MessageID": sent.provider_message_id, "Recipient": "carol@example.com",
                     "DeliveredAt": "2026-11-23T12:00:00Z", "Details": "250 OK", "ServerId": 1}  # fmt: skip
        answer = requests.post(
            f"{web.url}/api/webhook/email/postmark/{gateway.uid}", data=json.dumps(delivered), auth=("hooks", "pm-secret"),
            headers={"Content-Type": "application/json", "X-Forwarded-Proto": "https"}, timeout=10,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        arrived = wait_until(lambda: events_of(receiver, secret, "message.delivered"), what="message.delivered")
    data = arrived[0][1]["data"]
    assert (data["uid"], data["status"], data["user_id"], data["by_admin"]) == (uid, "Delivered", alice.user.pk, False)


def test_an_event_whose_worker_was_killed_mid_delivery_still_arrives(alice, processes: Processes, loopback_allowed):
    make_gateway(alice.user, "email", "console", is_default=True)
    answers = [Reply(200, delay=30)]  # the first POST hangs: the worker is killed while it waits

    def handle(request: Request) -> Reply:
        return answers.pop(0) if answers else Reply(200)

    quick = {**LOOPBACK, "XSENDER_WEBHOOK_LEASE_SECONDS": "5", "XSENDER_WEBHOOK_TIMEOUT": "3", "XSENDER_WAKE_TTL": "3"}
    with FakeServer(handle) as receiver:
        _, secret = services.add_endpoint(owner=alice.user, url=receiver.url + "/hooks", event_types=["message.sent"])
        web = start_web(processes, **quick)
        processes.manage("worker", "xsender:worker", **quick)
        uid = send_email(web, alice, "carol@example.com")
        wait_until(lambda: receiver.requests, what="the first delivery attempt")
        processes.kill("worker")
        processes.manage("worker-2", "xsender:worker", **quick)
        processes.manage("scheduler", "xsender:scheduler", "--interval", "0.3", **quick)
        wait_until(lambda: len(receiver.requests) >= 2, timeout=30, what="the event to arrive after the kill")
        arrived = events_of(receiver, secret, "message.sent")
    assert [body["data"]["uid"] for _, body in arrived] == [uid, uid]
    assert len({webhook_id for webhook_id, _ in arrived}) == 1
