"""`Idempotency-Key`: a retried send is answered with the first response and creates nothing new."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import CreditAccount
from messaging.idempotency import fingerprint
from messaging.models import IdempotencyRecord, Message
from tests.messaging.conftest import make_gateway

pytestmark = pytest.mark.django_db

BODY = {"contact": [{"email": "carol@example.com", "subject": "Hi", "message": "Hello"}]}


def post(client, key: str, body=BODY):
    return client.post("/api/email/send", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_and_body_replays_the_first_response(api, console_gateways):
    first = post(api, "order-1")
    second = post(api, "order-1")
    assert second.status_code == 200
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Message.objects.count() == 1


def test_replay_charges_nothing_more(api, console_gateways, alice):
    post(api, "order-1")
    post(api, "order-1")
    assert CreditAccount.objects.get(user=alice.user, channel="email").balance == 99


def test_same_key_with_another_body_is_a_422(api, console_gateways):
    post(api, "order-1")
    other = {"contact": [{"email": "dave@example.com", "subject": "Hi", "message": "Hello"}]}
    response = post(api, "order-1", other)
    assert response.status_code == 422
    assert Message.objects.count() == 1


def test_key_still_in_flight_is_a_409(api, console_gateways, alice):
    contact = BODY["contact"]
    IdempotencyRecord.objects.create(
        user=alice.user, key="order-1", fingerprint=fingerprint("POST", "/api/email/send", contact)
    )
    response = post(api, "order-1")
    assert response.status_code == 409
    assert Message.objects.count() == 0


def test_keys_are_per_tenant(api, console_gateways, bob):
    make_gateway(bob.user, "email", "bob-console", is_default=True)
    first = post(api, "order-1").json()["data"][0]["uid"]
    assert post(bob.client(), "order-1").json()["data"][0]["uid"] != first
    assert Message.objects.count() == 2


def test_key_expires_after_24_hours(api, console_gateways):
    post(api, "order-1")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    post(api, "order-1")
    assert Message.objects.count() == 2


def test_abandoned_request_is_settled_from_the_messages_it_created(api, console_gateways):
    first = post(api, "order-1")
    IdempotencyRecord.objects.update(status_code=None, response=None, created_at=timezone.now() - timedelta(minutes=10))
    second = post(api, "order-1")
    assert second.json()["data"] == first.json()["data"]
    assert Message.objects.count() == 1


def test_rejected_request_leaves_the_key_free(api, console_gateways):
    bad = {"contact": [{"email": "nope", "subject": "Hi", "message": "Hello"}]}
    assert post(api, "order-1", bad).status_code == 400
    assert IdempotencyRecord.objects.count() == 0


def test_get_form_honours_the_key(api, console_gateways):
    url = "/api/email/send?email=carol@example.com&subject=Hi&message=Hello"
    api.get(url, HTTP_IDEMPOTENCY_KEY="g-1")
    api.get(url, HTTP_IDEMPOTENCY_KEY="g-1")
    assert Message.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_with_one_key_create_one_set_of_messages(alice, console_gateways):
    import threading

    from django.db import connection

    codes: list[int] = []

    def attempt() -> None:
        codes.append(post(alice.client(), "race-1").status_code)
        connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert set(codes) <= {200, 409}
    assert Message.objects.count() == 1
