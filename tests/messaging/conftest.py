from __future__ import annotations

import django_rq
import pytest
from rq import SimpleWorker

from gateways.models import Gateway
from tests.conftest import Tenant

QUEUES = ("high", "low")


def make_gateway(owner, channel: str, identifier: str, provider: str = "console", **extra) -> Gateway:
    return Gateway.objects.create(owner=owner, channel=channel, provider=provider, identifier=identifier, **extra)


def smtp_gateway(owner, sink, from_email: str = "bounces@mail.example.net", identifier: str = "mail") -> Gateway:
    """`owner`'s default email gateway: SMTP into `sink` (tests.fakes.smtp.SmtpSink), plain, from `from_email`."""
    config = {"host": "127.0.0.1", "port": sink.port, "use_tls": False, "from_email": from_email}
    return make_gateway(owner, "email", identifier, provider="smtp", config=config, is_default=True)


@pytest.fixture
def console_gateways(alice: Tenant) -> dict[str, Gateway]:
    return {ch: make_gateway(alice.user, ch, f"{ch}-console", is_default=True) for ch in ("email", "sms", "whatsapp")}


def run_jobs() -> None:
    """Runs every queued delivery job in this process with a real RQ worker (burst mode)."""
    queues = [django_rq.get_queue(name) for name in QUEUES]
    SimpleWorker(queues, connection=queues[0].connection).work(burst=True)
