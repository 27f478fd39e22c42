"""The backend contract: what a backend reads of a message, what it answers, and the inbound side's defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import RequestFactory

from gateways.backends import PROVIDERS
from gateways.backends.base import SECRET_MASK, OutgoingMessage, ProviderEvent
from gateways.services import ProbeMessage, add_gateway
from messaging.models import Message
from tests.fakes.http import FakeServer, Reply

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def test_a_message_row_and_a_probe_both_satisfy_the_outgoing_message_contract():
    row = Message(channel="email", recipient="a@example.com", subject="S", body="B", attachments=[])
    assert isinstance(row, OutgoingMessage)
    assert isinstance(ProbeMessage(recipient="a@example.com", channel="email"), OutgoingMessage)


def test_a_gateway_wide_failure_part_way_keeps_what_was_sent_and_fails_the_rest_with_it():
    answers = iter([Reply(201, {"id": "one"}), Reply(401, {"message": "Unauthorized"})])
    with FakeServer(lambda request: next(answers)) as bridge:
        backend = add_gateway(
            owner=None, channel="whatsapp", provider="whatsapp_web", identifier="web", config={"base_url": bridge.url}
        ).backend()
        messages = [ProbeMessage(recipient=f"+1555555012{i}", channel="whatsapp", body="Hi") for i in range(3)]
        sent, refused, never = backend.send(messages)
    assert (sent.ok, sent.provider_message_id) == (True, "one")
    assert [(r.ok, r.transient, r.unknown) for r in (refused, never)] == [(False, False, False)] * 2
    assert len(bridge.requests) == 2


def test_every_backend_refuses_inbound_events_until_it_can_verify_them():
    request = RequestFactory().post("/webhooks/x", data=b"{}", content_type="application/json")
    gateway = add_gateway(owner=None, channel="sms", provider="console", identifier="c")
    backend = gateway.backend()
    assert (backend.verify(request), backend.parse_events(request)) == (False, [])


def test_a_provider_event_carries_only_a_message_status():
    event = ProviderEvent("wamid.1", "Delivered", datetime(2026, 1, 1, tzinfo=UTC), {"raw": 1}, "evt-1")
    assert event.status == "Delivered"
    with pytest.raises(ValueError, match="Unknown event status"):
        ProviderEvent("wamid.1", "Pending", None, {}, "evt-2")  # type: ignore[arg-type]


def test_secrets_of_every_provider_are_shown_as_the_one_mask():
    gateway = add_gateway(
        owner=None, channel="whatsapp", provider="whatsapp_cloud", identifier="cloud",
        config={"phone_number_id": "1", "access_token": "EAA-secret"},
    )  # fmt: skip
    assert gateway.backend().public_config(gateway.config)["access_token"] == SECRET_MASK


def test_backends_load_without_the_gateway_model():
    """The registry and every backend import without Django's app registry: no cycle with gateways.models."""
    modules = ", ".join(path.rpartition(".")[0] for path in PROVIDERS.values())
    code = (
        f"import sys, importlib; [importlib.import_module(m) for m in ({modules!r}).split(', ')]; "
        "sys.exit('gateways.models' in sys.modules)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "xsender.settings_test"}
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, timeout=60).returncode == 0
