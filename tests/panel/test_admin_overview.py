"""The admin overview on the Django admin index: queues, workers, traffic of the last hour, failures per gateway,
top tenants today, devices online — read without counting the messages table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.models import Message
from panel.overview import admin_overview, first_message_id_since
from tests.messaging.conftest import make_gateway, run_jobs

pytestmark = pytest.mark.django_db


def send_sms(tenant, count: int = 1, gateway: str = "") -> None:
    contact = [{"number": f"+1555555{i:04d}", "body": "Hi", **({"gateway_identifier": gateway} if gateway else {})}
               for i in range(count)]  # fmt: skip
    assert tenant.client().post("/api/sms/send", {"contact": contact}, format="json").status_code == 200


def test_the_admin_index_shows_the_overview_to_staff(admin_client):
    page = admin_client.get("/admin/", secure=True).content.decode()
    assert 'id="overview"' in page
    assert "No worker is running" in page


def test_a_tenant_never_reaches_the_overview(alice):
    client = Client()
    client.force_login(alice.user)
    response = client.get("/admin/", secure=True)
    assert response.status_code == 302 and 'id="overview"' not in response.content.decode()


def test_the_first_message_of_the_hour_is_found_by_bisecting_ids(alice):
    make_gateway(alice.user, "sms", "sms-console", is_default=True)
    send_sms(alice, 10)
    ids = list(Message.objects.order_by("id").values_list("id", flat=True))
    now = timezone.now()
    for age, pk in zip([180, 170, 150, 120, 90, 61, 59, 30, 10, 1], ids, strict=True):
        Message.objects.filter(pk=pk).update(created_at=now - timedelta(minutes=age))  # an older history, in id order
    assert first_message_id_since(now - timedelta(hours=1)) == ids[6]


def test_an_empty_table_has_no_first_message():
    assert first_message_id_since(timezone.now()) is None


def test_messages_per_minute_count_the_last_hour(alice):
    make_gateway(alice.user, "sms", "sms-console", is_default=True)
    send_sms(alice, 3)
    send_sms(alice, 2)
    Message.objects.filter(pk=Message.objects.order_by("id").first().pk).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    assert admin_overview().hour_total == 4


def test_failure_rate_per_gateway(alice, django_capture_on_commit_callbacks):
    make_gateway(alice.user, "sms", "sms-ok", is_default=True)
    make_gateway(alice.user, "sms", "sms-broken", config={"fail": True})
    with django_capture_on_commit_callbacks(execute=True):  # the send's wake-ups, as after a real commit
        send_sms(alice, 3)
        send_sms(alice, 1, gateway="sms-broken")
    run_jobs()
    rates = {g.gateway.identifier: (g.failed, g.delivered, g.rate) for g in admin_overview().gateways}
    assert rates == {"sms-broken": (1, 0, 100.0), "sms-ok": (0, 3, 0.0)}


def test_top_tenants_by_volume_today(alice, bob):
    make_gateway(alice.user, "sms", "sms-a", is_default=True)
    make_gateway(bob.user, "sms", "sms-b", is_default=True)
    send_sms(alice, 3)
    send_sms(bob, 1)
    assert [(user.email, total) for user, total in admin_overview().top_tenants] == [
        ("alice@example.com", 3),
        ("bob@example.com", 1),
    ]


def test_the_overview_reads_the_same_number_of_queries_for_more_messages(alice):
    make_gateway(alice.user, "sms", "sms-console", is_default=True)
    send_sms(alice, 2)
    with CaptureQueriesContext(connection) as few:
        admin_overview()
    send_sms(alice, 40)
    with CaptureQueriesContext(connection) as many:
        admin_overview()
    assert len(many) == len(few)
