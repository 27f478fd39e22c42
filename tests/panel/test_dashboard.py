"""Dashboard: credits, counts from the daily counts, the 30-day chart, failures, devices and gateways."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from devices import services as devices
from gateways.services import record_gateway_error
from messaging import counts
from messaging.items import SmsItem
from messaging.models import Message, Status
from messaging.services import accept_messages
from tests.messaging.conftest import make_gateway

pytestmark = pytest.mark.django_db


def cells(html: str, channel: str, kind: str) -> list[int]:
    table = html.split(f'id="counts-{channel}"')[1].split("</table>")[0]
    row = table.split(f'data-kind="{kind}"')[1].split("</tr>")[0]
    return [int(v) for v in re.findall(r'<td class="num">(\d+)</td>', row)]


def test_the_dashboard_counts_today_7_and_30_days_from_the_daily_counts(alice, panel):
    now = timezone.now()
    counts.add([(alice.user.pk, now, "sms", "sent")] * 3)
    counts.add([(alice.user.pk, now - timedelta(days=3), "sms", "sent")] * 2)
    counts.add([(alice.user.pk, now - timedelta(days=20), "sms", "sent")])
    counts.add([(alice.user.pk, now - timedelta(days=40), "sms", "sent")])
    html = panel.get("/", secure=True).content.decode()
    assert cells(html, "sms", "sent") == [3, 5, 6]


def test_the_dashboard_shows_credits_plan_and_an_svg_chart_per_channel(alice, panel):
    html = panel.get("/", secure=True).content.decode()
    credits = html.split('id="credits-email"')[1].split("</div>")[0]
    assert "100" in credits and "Starter" in html
    assert html.count('<svg class="chart"') == 3 and "<script>" not in html


def test_the_latest_failures_show_their_reason(alice, panel):
    make_gateway(alice.user, "sms", "sms-console", is_default=True)
    (message,) = accept_messages(
        principal=alice.user, channel="sms", items=[SmsItem(recipient="+15555550101", body="x")]
    )
    Message.objects.filter(pk=message.pk).update(status=Status.FAILED, error="21211 invalid number")
    html = panel.get("/", secure=True).content.decode()
    assert "21211 invalid number" in html and f"/history/{message.uid}/" in html


def test_devices_online_and_gateways_with_their_last_error(alice, panel):
    gateway = make_gateway(alice.user, "email", "smtp-main", provider="console")
    record_gateway_error(gateway_id=gateway.pk, error="Connection refused by smtp.example.com:25")
    token = devices.create_pairing_token(user=alice.user)[1]
    devices.register_session(pairing_token=token, device_uuid="pixel")
    html = panel.get("/", secure=True).content.decode()
    assert "Connection refused by smtp.example.com:25" in html
    assert re.search(r"(\d+) online</strong>, <strong class=\"offline\">(\d+) offline", html)


def test_another_tenants_counts_are_not_shown(alice, bob, panel):
    counts.add([(bob.user.pk, timezone.now(), "email", "sent")] * 7)
    assert cells(panel.get("/", secure=True).content.decode(), "email", "sent") == [0, 0, 0]


def test_the_dashboard_costs_the_same_queries_whatever_was_sent(alice, panel, django_assert_num_queries):
    panel.get("/", secure=True)
    with django_assert_num_queries(8) as before:
        panel.get("/", secure=True)
    counts.add([(alice.user.pk, timezone.now() - timedelta(days=d), "sms", "sent") for d in range(30)] * 5)
    with django_assert_num_queries(len(before.captured_queries)):
        panel.get("/", secure=True)


def test_a_gateway_wide_failure_that_stops_a_run_is_kept_on_the_gateway(alice):
    from gateways.services import add_gateway
    from messaging.delivery import drain_gateway
    from messaging.items import EmailItem
    from tests.system.conftest import free_port

    config = {"host": "127.0.0.1", "port": free_port(), "from_email": "noreply@example.com", "timeout": 2}
    gateway = add_gateway(owner=alice.user, channel="email", provider="smtp", identifier="smtp", config=config)
    accept_messages(
        principal=alice.user,
        channel="email",
        items=[EmailItem(recipient="c@example.com", subject="s", body="b", gateway="smtp")],
    )
    drain_gateway(gateway_id=gateway.pk)
    gateway.refresh_from_db()
    assert gateway.last_error and gateway.last_error_at is not None


def test_a_tenant_with_no_recent_message_is_invited_to_send_one(alice, panel):
    html = panel.get("/", secure=True).content.decode()
    assert "No messages in the last 30 days." in html and 'href="/send/"' in html
