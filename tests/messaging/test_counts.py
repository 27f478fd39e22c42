"""Daily counts move with the messages, so the dashboard never counts the messages table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts.services import add_credits
from messaging.models import DailyCount, Message
from messaging.services import cancel_messages
from tests.messaging.conftest import make_gateway, run_jobs

pytestmark = pytest.mark.django_db


def counted(user, kind: str, channel: str = "email") -> int:
    rows = DailyCount.objects.for_tenant(user).filter(day=timezone.localdate(), channel=channel, kind=kind)
    return rows.aggregate(n=Sum("count"))["n"] or 0


def send(client, n: int, **extra) -> None:
    items = [{"email": f"u{i}@example.com", "subject": "Hi", "message": "Hello", **extra} for i in range(n)]
    assert client.post("/api/email/send", {"contact": items}, format="json").status_code == 200


def test_accepted_and_sent_are_counted_for_today(api, alice, django_capture_on_commit_callbacks):
    add_credits(user=alice.user, channel="email", amount=100)
    make_gateway(alice.user, "email", "mail", is_default=True)
    with django_capture_on_commit_callbacks(execute=True):
        send(api, 1)
        send(api, 150)  # a bulk request takes the other path
    run_jobs()
    assert (counted(alice.user, "accepted"), counted(alice.user, "sent")) == (151, 151)


def test_failures_and_cancellations_are_counted_and_nothing_for_a_refused_request(
    api, alice, bob, django_capture_on_commit_callbacks
):
    make_gateway(alice.user, "email", "broken", is_default=True, config={"fail": True})
    with django_capture_on_commit_callbacks(execute=True):
        send(api, 2)
    run_jobs()
    send(api, 1, schedule_at=(timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"))
    cancel_messages(messages=Message.objects.filter(status="Scheduled"))
    api.post("/api/email/send", {"contact": [{"email": "bad"}]}, format="json")
    assert (counted(alice.user, "failed"), counted(alice.user, "cancelled"), counted(alice.user, "accepted")) == (
        2,
        1,
        3,
    )
    assert counted(bob.user, "accepted") == 0
