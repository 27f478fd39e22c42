"""Removing a gateway settles its queued messages first: refused while they wait, failed and refunded when forced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accounts.models import CreditAccount
from gateways.models import Gateway
from gateways.services import remove_gateway
from messaging.models import Message, Status
from tests.messaging.conftest import make_gateway
from xsender.errors import Conflict

pytestmark = pytest.mark.django_db


def queue(client, n: int = 2, **extra) -> None:
    items = [{"email": f"u{i}@example.com", "subject": "Hi", "message": "Hello", **extra} for i in range(n)]
    assert client.post("/api/email/send", {"contact": items}, format="json").status_code == 200


def test_a_gateway_with_queued_messages_is_not_removed(api, alice):
    gateway = make_gateway(alice.user, "email", "mail", is_default=True)
    queue(api)
    with pytest.raises(Conflict, match="2 message"):
        remove_gateway(gateway=gateway)
    assert Gateway.objects.filter(pk=gateway.pk).exists()
    assert set(Message.objects.values_list("status", flat=True)) == {Status.PENDING}


def test_forced_removal_fails_queued_messages_with_the_reason_and_refunds_them(api, alice):
    gateway = make_gateway(alice.user, "email", "mail", is_default=True)
    queue(api)
    queue(api, 1, schedule_at=(timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S"))
    remove_gateway(gateway=gateway, force=True)
    rows = list(Message.objects.values_list("status", "error"))
    assert {status for status, _ in rows} == {Status.FAILED}
    assert all("mail was removed" in error for _, error in rows)
    assert CreditAccount.objects.get(user=alice.user, channel="email").balance == 100


def test_a_gateway_whose_messages_are_all_sent_is_removed_and_their_history_stays(api, alice):
    gateway = make_gateway(alice.user, "email", "mail", is_default=True)
    queue(api)
    Message.objects.update(status=Status.SENT)
    remove_gateway(gateway=gateway)
    assert Message.objects.filter(gateway__isnull=True, status=Status.SENT).count() == 2


def test_the_remove_command_refuses_then_forces(api, alice):
    make_gateway(alice.user, "email", "mail", is_default=True)
    queue(api)
    with pytest.raises(CommandError, match="still queued"):
        call_command("xsender:gateway:remove", "mail", "--owner", alice.user.email)
    call_command("xsender:gateway:remove", "mail", "--owner", alice.user.email, "--force")
    assert not Gateway.objects.exists()
