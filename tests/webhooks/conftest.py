"""Outbound webhooks: a receiver on loopback that verifies signatures with the standardwebhooks library, and
endpoints registered through the service with loopback allowed (XSENDER_WEBHOOK_ALLOWED_HOSTS)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from gateways.backends.base import SendResult
from messaging import transitions
from messaging.models import Message, Status
from tests.conftest import Tenant
from tests.fakes.http import FakeServer, Reply, Request
from tests.messaging.conftest import make_gateway
from webhooks import services
from webhooks.delivery import drain_endpoint
from webhooks.models import Endpoint


@dataclass
class Receiver:
    """A loopback endpoint: records every request; `answers` are popped in order (then 200)."""

    server: FakeServer
    answers: list[Reply] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url + "/hooks"

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    def events(self) -> list[dict]:
        return [json.loads(r.raw) for r in self.requests]

    def verified(self, secret: str) -> list[dict]:
        """The bodies whose signature `secret` verifies (standardwebhooks, as any receiver would)."""
        found = []
        for request in self.requests:
            try:
                found.append(Webhook(secret).verify(request.raw, request.headers))
            except WebhookVerificationError:
                continue
        return found


@pytest.fixture
def loopback_allowed(settings) -> None:
    settings.XSENDER_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.XSENDER_ALLOW_INSECURE_HTTP = True  # the loopback receiver speaks plain http


@pytest.fixture
def receiver(loopback_allowed) -> Iterator[Receiver]:
    holder: list[Receiver] = []

    def handler(request: Request) -> Reply:
        answers = holder[0].answers
        return answers.pop(0) if answers else Reply(200, {"ok": True})

    with FakeServer(handler) as server:
        holder.append(Receiver(server))
        yield holder[0]


@pytest.fixture
def endpoint_for(receiver: Receiver) -> Callable[..., tuple[Endpoint, str]]:
    def _make(owner, **extra) -> tuple[Endpoint, str]:
        extra.setdefault("event_types", ["message.sent", "message.delivered", "message.failed", "credit.low"])
        return services.add_endpoint(owner=owner, url=receiver.url, **extra)

    return _make


def drain(endpoint: Endpoint) -> int:
    """Runs the endpoint's drain in this process, as the worker would; returns how many it delivered."""
    return drain_endpoint(endpoint_id=endpoint.pk, seconds=5).delivered


def sent_message(owner: Tenant, *, by_admin: bool = False) -> Message:
    """A message of `owner`'s moved to Sent through the transitions, as delivery moves it."""
    gateway = make_gateway(owner.user if not by_admin else None, "email", f"esp-{owner.user.pk}", is_default=True)
    response = owner.client().post(
        "/api/email/send",
        {"contact": [{"email": "to@example.com", "subject": "Hi", "message": "Hello"}]},
        format="json",
    )
    message = Message.objects.get(uid=response.json()["data"][0]["uid"])
    assert message.gateway_id == gateway.pk
    claimed = transitions.claim_next(gateway_id=gateway.pk, limit=1)
    transitions.record_send_results(
        gateway=gateway, messages=claimed, results=[SendResult(uid=message.uid, ok=True, provider_message_id="p-1")]
    )
    message.refresh_from_db()
    assert message.status == Status.SENT
    return message
