"""History: the tenant's messages newest first, filtered, in keyset pages; a message's detail; cancel; retry;
the CSV export of the filtered list."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import CreditAccount
from messaging.items import EmailItem, SmsItem
from messaging.models import Message, Status
from messaging.services import accept_messages
from tests.messaging.conftest import make_gateway
from tests.panel.conftest import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateways(alice):
    return {ch: make_gateway(alice.user, ch, f"{ch}-console", is_default=True) for ch in ("email", "sms", "whatsapp")}


def send_sms(user, *numbers: str, **extra) -> list[Message]:
    return accept_messages(
        principal=user, channel="sms", items=[SmsItem(recipient=n, body="Hi", **extra) for n in numbers]
    )


def send_email(user, *addresses: str) -> list[Message]:
    items = [EmailItem(recipient=a, subject="Hello", body="Hi") for a in addresses]
    return accept_messages(principal=user, channel="email", items=items)


def balance(user, channel: str) -> int:
    return CreditAccount.objects.get(user=user, channel=channel).balance


def uids(response) -> list[str]:
    html = response.content.decode()
    return [part.split('"')[0] for part in html.split('data-uid="')[1:]]


def test_history_lists_the_tenants_messages_newest_first(alice, gateways, panel):
    first = send_sms(alice.user, "+15555550101")
    second = send_email(alice.user, "carol@example.com")
    assert uids(panel.get("/history/", secure=True)) == [str(second[0].uid), str(first[0].uid)]


def test_history_shows_no_message_of_another_tenant(alice, bob, gateways, panel):
    make_gateway(bob.user, "sms", "bob-sms", is_default=True)
    send_sms(bob.user, "+15555550199")
    assert uids(panel.get("/history/", secure=True)) == []


def test_an_empty_history_invites_a_first_send(alice, panel):
    html = panel.get("/history/", secure=True).content.decode()
    assert "No messages yet — send your first one" in html and 'href="/send/"' in html


def test_history_pages_follow_each_other_without_gaps_or_repeats(alice, gateways, panel):
    sent = send_sms(alice.user, *[f"+1555555{n:04d}" for n in range(80)])  # one created_at: the id breaks ties
    seen, url = [], "/history/"
    while url:
        response = panel.get(url, secure=True)
        seen += uids(response)
        html = response.content.decode()
        url = (
            html.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
            if 'rel="next"' in html
            else ""
        )
    assert sorted(seen) == sorted(str(m.uid) for m in sent) and len(seen) == 80


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("channel=email", ["email"]),
        ("status=Failed", ["failed"]),
        ("search=%2B15555550102", ["sms2"]),
        ("source=panel", []),
    ],
)
def test_history_filters_by_channel_status_recipient_and_source(alice, gateways, panel, query, expected):
    sms = send_sms(alice.user, "+15555550101", "+15555550102")
    email = send_email(alice.user, "carol@example.com")
    failed = send_sms(alice.user, "+15555550103")
    Message.objects.filter(pk=failed[0].pk).update(status=Status.FAILED)
    names = {str(email[0].uid): "email", str(sms[1].uid): "sms2", str(failed[0].uid): "failed"}
    assert [names.get(u, u) for u in uids(panel.get(f"/history/?{query}", secure=True))] == expected


def test_history_filters_by_date_range_and_gateway(alice, gateways, panel):
    old, new = send_sms(alice.user, "+15555550101"), send_sms(alice.user, "+15555550102")
    Message.objects.filter(pk=old[0].pk).update(created_at=timezone.now() - timedelta(days=3))
    today = timezone.localdate().isoformat()
    assert uids(panel.get(f"/history/?since={today}", secure=True)) == [str(new[0].uid)]
    assert uids(panel.get(f"/history/?gateway={gateways['email'].uid}", secure=True)) == []


def test_a_reversed_date_range_is_shown_as_an_error(alice, panel):
    html = panel.get("/history/?since=2026-05-02&until=2026-05-01", secure=True).content.decode()
    assert "The end date is before the start date." in html


def test_the_detail_shows_every_field_and_the_event_timeline(alice, gateways, panel):
    (message,) = send_email(alice.user, "carol@example.com")
    accept = panel.get(f"/history/{message.uid}/", secure=True)
    html = accept.content.decode()
    assert accept.status_code == 200
    assert "carol@example.com" in html and "Hello" in html and "email-console" in html


def test_cancelling_a_scheduled_message_refunds_it(alice, gateways, panel):
    (message,) = send_sms(alice.user, "+15555550101", schedule_at=timezone.now() + timedelta(days=1))
    before = balance(alice.user, "sms")
    response = panel.post(f"/history/{message.uid}/cancel/", secure=True)
    message.refresh_from_db()
    assert response.status_code == 302
    assert (message.status, balance(alice.user, "sms")) == (Status.CANCELLED, before + 1)


def test_a_message_a_worker_took_cannot_be_cancelled(alice, gateways, panel):
    (message,) = send_sms(alice.user, "+15555550101")
    Message.objects.filter(pk=message.pk).update(status=Status.PROCESSING)
    before = balance(alice.user, "sms")
    response = panel.post(f"/history/{message.uid}/cancel/", secure=True, follow=True)
    assert "can no longer be cancelled" in response.content.decode()
    assert balance(alice.user, "sms") == before


def test_retrying_a_failed_message_sends_a_new_one_charged_again(alice, gateways, panel):
    (message,) = send_sms(alice.user, "+15555550101")
    Message.objects.filter(pk=message.pk).update(status=Status.FAILED)
    before = balance(alice.user, "sms")
    response = panel.post(f"/history/{message.uid}/retry/", secure=True)
    new = Message.objects.exclude(pk=message.pk).get()
    assert response["Location"] == f"/history/{new.uid}/"
    assert (new.recipient, new.source, balance(alice.user, "sms")) == ("+15555550101", "panel", before - 1)


def test_only_a_failed_message_is_retried(alice, gateways, panel):
    (message,) = send_sms(alice.user, "+15555550101")
    panel.post(f"/history/{message.uid}/retry/", secure=True)
    assert Message.objects.count() == 1


def test_another_tenants_message_is_a_404_everywhere(alice, bob, gateways):
    (message,) = send_sms(alice.user, "+15555550101", schedule_at=timezone.now() + timedelta(days=1))
    client = signed_in(bob.user)
    answers = [
        client.get(f"/history/{message.uid}/", secure=True).status_code,
        client.post(f"/history/{message.uid}/cancel/", secure=True).status_code,
        client.post(f"/history/{message.uid}/retry/", secure=True).status_code,
        client.get(f"/history/{uuid.uuid4()}/", secure=True).status_code,
    ]
    message.refresh_from_db()
    assert answers == [404] * 4 and message.status == Status.SCHEDULED


def test_the_csv_export_holds_exactly_the_filtered_list(alice, gateways, panel):
    send_sms(alice.user, "+15555550101", "+15555550102")
    send_email(alice.user, "carol@example.com")
    listed = uids(panel.get("/history/?channel=sms", secure=True))
    response = panel.get("/history/export.csv?channel=sms", secure=True)
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert response["Content-Type"].startswith("text/csv")
    assert [r["uid"] for r in rows] == listed and rows[0]["recipient"] == "+15555550102"


def test_a_formula_in_a_subject_is_exported_as_text(alice, gateways, panel):
    accept_messages(
        principal=alice.user, channel="email", items=[EmailItem(recipient="c@example.com", subject="=1+1", body="x")]
    )
    content = b"".join(panel.get("/history/export.csv", secure=True).streaming_content).decode()
    assert ",'=1+1," in content


def test_the_history_page_costs_the_same_queries_for_5_or_50_rows(alice, gateways, panel, django_assert_num_queries):
    send_sms(alice.user, *[f"+1555555{n:04d}" for n in range(5)])
    panel.get("/history/", secure=True)  # the session's first reads
    with django_assert_num_queries(5) as few:
        panel.get("/history/", secure=True)
    send_sms(alice.user, *[f"+1555556{n:04d}" for n in range(45)])
    with django_assert_num_queries(len(few.captured_queries)):
        panel.get("/history/", secure=True)


def test_the_detail_page_costs_the_same_queries_for_any_number_of_events(
    alice, gateways, panel, django_assert_num_queries
):
    from messaging.models import MessageEvent

    (message,) = send_sms(alice.user, "+15555550101")
    panel.get(f"/history/{message.uid}/", secure=True)
    with django_assert_num_queries(4):
        panel.get(f"/history/{message.uid}/", secure=True)
    MessageEvent.objects.bulk_create(MessageEvent(message=message, kind="retry") for _ in range(20))
    with django_assert_num_queries(4):
        panel.get(f"/history/{message.uid}/", secure=True)
