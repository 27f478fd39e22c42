"""The XSender send API, as an integrator sees it: accept, validation, errors, GET forms, status reads."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services as accounts
from accounts.models import CreditAccount
from messaging.models import Message, Priority, Status, Suppression
from tests.messaging.conftest import make_gateway, run_jobs

pytestmark = pytest.mark.django_db


def email(n: int = 0, **extra):
    return {"email": f"user{n}@example.com", "subject": "Hi", "message": "Hello", **extra}


def balance(user, channel: str) -> int:
    return CreditAccount.objects.get(user=user, channel=channel).balance


def post(client, channel: str, *items, **headers):
    return client.post(f"/api/{channel}/send", {"contact": list(items)}, format="json", **headers)


# ---------------------------------------------------------------- happy paths


def test_email_response_matches_the_spec(api, console_gateways):
    body = post(api, "email", email(1)).json()
    assert body["success"] is True
    assert body["message"] == "New Email Request Sent, Please Check The Email History For Final Status"
    assert set(body["data"][0]) == {"uid", "email", "status", "created_at"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d (AM|PM)", body["data"][0]["created_at"])


def test_every_email_field_is_stored(api, console_gateways, alice):
    make_gateway(alice.user, "email", "smtp-primary")
    item = email(
        1,
        sender_name="Acme Support",
        reply_to="Help@Bücher.example",
        gateway_identifier="smtp-primary",
        attachments=[{"type": "image", "url": "https://cdn.example.com/logo.png"}],
    )
    uid = post(api, "email", item).json()["data"][0]["uid"]
    message = Message.objects.get(uid=uid)
    assert (message.sender_name, message.gateway.identifier) == ("Acme Support", "smtp-primary")
    assert message.reply_to == "help@xn--bcher-kva.example"
    assert api.get(f"/api/get/email/{uid}").json()["data"]["reply_to"] == "help@xn--bcher-kva.example"
    assert message.attachments == [{"type": "image", "url": "https://cdn.example.com/logo.png"}]


def test_sms_number_is_normalised_to_e164_and_otp_is_high_priority(api, console_gateways):
    item = {"number": "+1 (555) 555-0123", "body": "Code 482915", "sms_type": "otp"}
    data = post(api, "sms", item).json()["data"][0]
    message = Message.objects.get(uid=data["uid"])
    assert data["number"] == "+15555550123"
    assert message.priority == Priority.HIGH


def test_sms_message_costs_one_credit_per_segment(api, console_gateways, alice):
    post(api, "sms", {"number": "+15555550123", "body": "a" * 161}, {"number": "+15555550124", "body": "😀" * 36})
    assert balance(alice.user, "sms") == 100 - 2 - 2


def test_whatsapp_media_by_link_with_session_name(api, console_gateways, alice):
    make_gateway(alice.user, "whatsapp", "store-main")
    item = {"number": "+15555550123", "message": "Order", "media": "image", "url": "https://cdn.example.com/a.png"}
    body = post(api, "whatsapp", {**item, "session_name": "store-main"}).json()
    message = Message.objects.get(uid=body["data"][0]["uid"])
    assert body["message"] == "New WhatsApp Request Sent, Please Check The WhatsApp History For Final Status"
    assert (message.media, message.media_url, message.gateway.identifier) == ("image", item["url"], "store-main")


def test_bulk_request_creates_one_message_per_recipient(api, console_gateways, alice):
    response = post(api, "email", *[email(n) for n in range(3)])
    assert len(response.json()["data"]) == 3
    assert Message.objects.filter(user=alice.user).count() == 3
    assert balance(alice.user, "email") == 97


@pytest.mark.parametrize(
    ("channel", "query", "key", "value"),
    [
        ("email", "email=alice@example.com&subject=Hi&message=Hello", "email", "alice@example.com"),
        ("sms", "number=+15555550123&body=Code+482915", "number", "+15555550123"),
        ("whatsapp", "number=+15555550123&message=Hello", "number", "+15555550123"),
    ],
)
def test_get_form_sends_to_one_recipient(api, console_gateways, channel, query, key, value):
    response = api.get(f"/api/{channel}/send?{query}")
    assert response.status_code == 200, response.json()
    assert response.json()["data"][0][key] == value


def test_status_shows_sent_message_with_gateway_and_timestamps(
    api, console_gateways, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        uid = post(api, "email", email(1)).json()["data"][0]["uid"]
    run_jobs()
    data = api.get(f"/api/get/email/{uid}").json()["data"]
    assert (data["status"], data["gateway_identifier"], data["attempts"]) == ("Sent", "email-console", 1)
    assert data["sent_at"] is not None and data["processing_at"] is not None


# ---------------------------------------------------------------- validation (400)


@pytest.mark.parametrize(
    ("channel", "item", "field"),
    [
        ("email", {"subject": "Hi", "message": "x"}, "contact.1.email"),
        ("email", {"email": "not-an-email", "subject": "Hi", "message": "x"}, "contact.1.email"),
        ("email", {"email": "a@example.com", "message": "x"}, "contact.1.subject"),
        ("email", {"email": "a@example.com", "subject": "x"}, "contact.1.message"),
        ("email", email(2, schedule_at="2026-06-01T09:00"), "contact.1.schedule_at"),
        ("email", email(2, attachments=[{"type": "movie", "url": "https://x.test/a"}]), "contact.1.attachments.0.type"),
        ("email", email(2, attachments=[{"type": "file", "url": "ftp://x.test/a"}]), "contact.1.attachments.0.url"),
        ("email", email(2, sender_name="x" * 151), "contact.1.sender_name"),
        ("email", email(2, reply_to="support"), "contact.1.reply_to"),
        ("email", email(2, reply_to="help@example.com\r\nBcc: victim@example.com"), "contact.1.reply_to"),
        ("sms", {"number": "12", "body": "x"}, "contact.1.number"),
        ("sms", {"number": "+15555550123"}, "contact.1.body"),
        ("sms", {"number": "+15555550123", "body": "x", "sms_type": "flash"}, "contact.1.sms_type"),
        ("whatsapp", {"number": "+15555550123", "message": "x", "media": "sticker"}, "contact.1.media"),
        ("whatsapp", {"number": "+15555550123", "media": "image"}, "contact.1.url"),
        ("whatsapp", {"number": "+15555550123", "media": "image", "url": "javascript:x"}, "contact.1.url"),
    ],
)
def test_invalid_item_is_a_400_naming_the_field_and_changes_nothing(api, console_gateways, alice, channel, item, field):
    valid = {"email": email(1), "sms": {"number": "+15555550123", "body": "x"}}
    first = valid.get(channel, {"number": "+15555550123", "message": "x"})
    response = post(api, channel, first, item)
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]
    assert Message.objects.count() == 0
    assert balance(alice.user, channel) == 100


def test_missing_contact_is_a_400(api, console_gateways):
    response = api.post("/api/email/send", {"to": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "contact"


def test_too_many_recipients_is_a_400(api, console_gateways, settings):
    settings.XSENDER_MAX_RECIPIENTS = 2
    response = post(api, "email", email(1), email(2), email(3))
    assert response.status_code == 400
    assert Message.objects.count() == 0


def test_malformed_json_is_a_400_in_the_envelope(api, console_gateways):
    response = api.post("/api/email/send", data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["success"] is False


# ---------------------------------------------------------------- 401 / 402 / 404 / 422


def test_missing_key_is_a_401(anonymous):
    assert post(anonymous, "email", email(1)).status_code == 401


def test_not_enough_credit_is_a_402_and_charges_nothing(api, console_gateways, alice):
    accounts.debit_credits(user=alice.user, channel="email", amount=99)
    response = post(api, "email", email(1), email(2))
    assert response.status_code == 402
    assert Message.objects.count() == 0
    assert balance(alice.user, "email") == 1


def test_channel_outside_the_plan_is_a_402(api, console_gateways, alice):
    alice.user.plan.allowed_channels = ["email"]
    alice.user.plan.save()
    assert post(api, "sms", {"number": "+15555550123", "body": "x"}).status_code == 402


def test_unknown_gateway_identifier_is_a_404(api, console_gateways, alice):
    response = post(api, "email", email(1), email(2, gateway_identifier="nope"))
    assert response.status_code == 404
    assert "nope" in response.json()["message"]
    assert balance(alice.user, "email") == 100


def test_gateway_of_another_channel_is_a_404(api, console_gateways):
    response = post(api, "email", email(1, gateway_identifier="sms-console"))
    assert response.status_code == 404


def test_unknown_whatsapp_session_is_a_404(api, console_gateways):
    response = post(api, "whatsapp", {"number": "+15555550123", "message": "x", "session_name": "ghost"})
    assert response.status_code == 404


def test_no_default_gateway_is_a_404(api):
    assert post(api, "email", email(1)).status_code == 404


def test_suppressed_recipient_is_a_422_naming_it(api, console_gateways, alice):
    Suppression.objects.create(user=alice.user, channel="email", address="user2@example.com", reason="bounce")
    response = post(api, "email", email(1), email(2))
    assert response.status_code == 422
    assert "user2@example.com" in response.json()["message"]
    assert Message.objects.count() == 0


def test_another_tenants_suppression_does_not_apply(api, console_gateways, bob):
    Suppression.objects.create(user=bob.user, channel="email", address="user1@example.com")
    assert post(api, "email", email(1)).status_code == 200


# ---------------------------------------------------------------- tenants, sharing, admin


def test_another_tenants_uid_is_a_404(api, console_gateways, bob):
    uid = post(api, "email", email(1)).json()["data"][0]["uid"]
    assert bob.client().get(f"/api/get/email/{uid}").status_code == 404
    assert api.get(f"/api/get/sms/{uid}").status_code == 404


def test_bob_cannot_send_through_alices_gateway(console_gateways, bob):
    assert post(bob.client(), "email", email(1, gateway_identifier="email-console")).status_code == 404


def test_admin_gateway_shared_with_alice_is_usable_by_her_only(api, console_gateways, alice, bob):
    shared = make_gateway(None, "email", "admin-smtp")
    shared.shared_with.add(alice.user)
    assert post(api, "email", email(1, gateway_identifier="admin-smtp")).status_code == 200
    assert post(bob.client(), "email", email(1, gateway_identifier="admin-smtp")).status_code == 404


def test_admin_key_bypasses_credit_and_is_recorded_by_admin(admin):
    make_gateway(None, "sms", "admin-sms", is_default=True)
    response = post(admin.client(), "sms", {"number": "+15555550123", "body": "x"})
    message = Message.objects.get(uid=response.json()["data"][0]["uid"])
    assert response.status_code == 200
    assert (message.by_admin, message.cost) == (True, 0)


def test_admin_key_does_not_see_tenant_gateways(admin, console_gateways):
    assert post(admin.client(), "email", email(1, gateway_identifier="email-console")).status_code == 404


# ---------------------------------------------------------------- scheduling


def test_future_schedule_at_is_scheduled_in_server_time_zone(api, console_gateways, settings):
    data = post(api, "email", email(1, schedule_at="2099-06-01 09:00:00")).json()["data"][0]
    message = Message.objects.get(uid=data["uid"])
    assert data["status"] == "Scheduled"
    assert message.schedule_at.isoformat() == "2099-06-01T09:00:00+00:00"


# ---------------------------------------------------------------- query counts


def _queries(client, n: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = post(client, "email", *[email(i) for i in range(n)])
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_recipients(api, console_gateways, alice):
    accounts.add_credits(user=alice.user, channel="email", amount=3000)
    _queries(api, 1)  # the first request of the minute also stamps the key's last_used_at
    assert _queries(api, 1) == _queries(api, 100) == 3  # key, gateways, then checked, charged and stored at once
    assert _queries(api, 101) == _queries(api, 1000)  # a bulk request: one transaction, COPY
    assert Message.objects.filter(status=Status.PENDING).count() == 1 + 1 + 100 + 101 + 1000


def _statements(client, n: int) -> list[tuple[str, int]]:
    """(SQL, number of parameters) of each statement a send of `n` recipients runs."""
    seen: list[tuple[str, int]] = []

    def record(execute, sql, params, many, context):
        seen.append((sql, len(params or ())))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        assert post(client, "email", *[email(i) for i in range(n)]).status_code == 200
    return seen


def test_a_small_send_runs_statements_psycopg_keeps_parsed(api, console_gateways, alice):
    """psycopg keeps the parsed form of a statement of at most 50 parameters and 4,096 bytes (else it parses it
    again on every request, ~0.2 ms of a single send): the single send's statements stay within both, and the
    insert's text is the same whatever the number of recipients (one prepared statement)."""
    from psycopg import _queries  # the limits themselves, should psycopg change them

    accounts.add_credits(user=alice.user, channel="email", amount=100)
    _statements(api, 1)
    one, many = _statements(api, 1), _statements(api, 50)
    for sql, count in one + many:
        assert count <= _queries.MAX_CACHED_STATEMENT_PARAMS, sql[:80]
        assert len(sql.encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH, sql[:80]
    assert [sql for sql, _ in one] == [sql for sql, _ in many]
