"""Delivery to a loopback receiver: Standard Webhooks signatures, retries with the same webhook-id, the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.fakes.http import FakeServer, Reply
from tests.webhooks.conftest import drain, sent_message
from webhooks import services
from webhooks.models import Attempt, Delivery, Endpoint
from webhooks.selectors import disabled_endpoints
from webhooks.signing import new_secret

pytestmark = pytest.mark.django_db


@pytest.fixture
def quick_retries(settings) -> None:
    settings.XSENDER_WEBHOOK_RETRY_SCHEDULE = [0] * 7


def test_the_receiver_verifies_the_signature_with_the_standardwebhooks_library(alice, endpoint_for, receiver):
    endpoint, secret = endpoint_for(alice.user)
    sent_message(alice)
    drain(endpoint)
    assert [event["type"] for event in receiver.verified(secret)] == ["message.sent"]


def test_a_signature_under_another_secret_does_not_verify(alice, endpoint_for, receiver):
    endpoint, _ = endpoint_for(alice.user)
    sent_message(alice)
    drain(endpoint)
    assert receiver.verified(new_secret()) == []


def test_failing_three_times_then_succeeding_delivers_once_more_with_the_same_webhook_id(
    alice, endpoint_for, receiver, quick_retries
):
    endpoint, secret = endpoint_for(alice.user)
    receiver.answers = [Reply(500), Reply(503), Reply(404)]
    sent_message(alice)
    drain(endpoint)
    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert len(ids) == 4 and len(set(ids)) == 1
    assert len(receiver.verified(secret)) == 4
    assert Delivery.objects.get().status == Delivery.Status.DELIVERED


def test_a_failed_attempt_waits_for_the_first_step_of_the_schedule(alice, endpoint_for, receiver):
    endpoint, _ = endpoint_for(alice.user)
    receiver.answers = [Reply(500)]
    sent_message(alice)
    drain(endpoint)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("pending", 1, 1)
    assert timedelta(seconds=3) < delivery.next_attempt_at - timezone.now() <= timedelta(seconds=5)


def test_a_delivery_fails_once_the_schedule_is_spent(alice, endpoint_for, receiver, quick_retries):
    endpoint, _ = endpoint_for(alice.user)
    receiver.answers = [Reply(500)] * 20
    sent_message(alice)
    drain(endpoint)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, len(receiver.requests)) == ("failed", 8, 8)


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(alice, endpoint_for, receiver):
    with FakeServer(lambda request: Reply(200)) as elsewhere:
        receiver.answers = [Reply(302, b"", headers={"Location": elsewhere.url + "/stolen"})]
        endpoint, _ = endpoint_for(alice.user)
        sent_message(alice)
        drain(endpoint)
        assert elsewhere.requests == []
    assert Delivery.objects.get().last_status_code == 302


def test_no_answer_within_the_timeout_is_retried(alice, endpoint_for, receiver, settings):
    settings.XSENDER_WEBHOOK_TIMEOUT = 0.3
    endpoint, _ = endpoint_for(alice.user)
    receiver.answers = [Reply(200, delay=1.0)]
    sent_message(alice)
    drain(endpoint)
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("pending", "No answer within 0.3 s.")


def test_every_attempt_is_logged_with_its_status_time_and_the_first_kilobyte(alice, endpoint_for, receiver):
    endpoint, _ = endpoint_for(alice.user)
    receiver.answers = [Reply(400, b"x" * 5000, headers={"Content-Type": "text/plain"})]
    sent_message(alice)
    drain(endpoint)
    attempt = Attempt.objects.get()
    assert (attempt.status_code, len(attempt.response), attempt.error) == (400, 1024, "HTTP 400")
    assert attempt.at is not None and attempt.duration_ms >= 0


def test_a_rotated_secret_keeps_signing_beside_the_new_one(alice, endpoint_for, receiver):
    endpoint, old = endpoint_for(alice.user)
    new = services.rotate_secret(endpoint=endpoint)
    sent_message(alice)
    drain(endpoint)
    assert len(receiver.verified(old)) == 1 and len(receiver.verified(new)) == 1


def test_a_rotated_secret_stops_signing_after_24_hours(alice, endpoint_for, receiver):
    endpoint, old = endpoint_for(alice.user)
    services.rotate_secret(endpoint=endpoint)
    stored = Endpoint.objects.get(pk=endpoint.pk).secrets
    stored[1]["expires_at"] = (timezone.now() - timedelta(seconds=1)).isoformat()
    Endpoint.objects.filter(pk=endpoint.pk).update(secrets=stored)
    sent_message(alice)
    drain(endpoint)
    assert receiver.verified(old) == []


def test_resend_delivers_the_same_event_again_with_the_same_webhook_id(alice, endpoint_for, receiver):
    endpoint, _ = endpoint_for(alice.user)
    sent_message(alice)
    drain(endpoint)
    services.resend_delivery(delivery=Delivery.objects.get())
    drain(endpoint)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] and first.raw == second.raw


def test_a_test_event_is_sent_whatever_types_the_endpoint_asked_for(alice, endpoint_for, receiver):
    endpoint, secret = endpoint_for(alice.user, event_types=["credit.low"])
    services.send_test_event(endpoint=endpoint)
    drain(endpoint)
    assert [event["type"] for event in receiver.verified(secret)] == ["webhook.test"]


def test_an_endpoint_failing_for_three_days_is_disabled_and_its_owner_told_why(alice, endpoint_for, receiver):
    endpoint, _ = endpoint_for(alice.user)
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=3, minutes=1))
    receiver.answers = [Reply(500)]
    sent_message(alice)
    drain(endpoint)
    assert Endpoint.objects.get(pk=endpoint.pk).enabled is False
    assert "failed for 3 days" in disabled_endpoints(alice.user).get().disabled_reason


def test_a_success_ends_the_failing_streak(alice, endpoint_for, receiver):
    endpoint, _ = endpoint_for(alice.user)
    Endpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(days=2))
    sent_message(alice)
    drain(endpoint)
    assert Endpoint.objects.get(pk=endpoint.pk).failing_since is None


def test_a_disabled_endpoint_is_not_posted_to(alice, endpoint_for, receiver):
    endpoint, _ = endpoint_for(alice.user)
    sent_message(alice)
    Endpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    drain(endpoint)
    assert receiver.requests == []


def test_an_event_whose_wake_up_was_lost_is_delivered_after_the_schedulers_pass(
    alice, endpoint_for, receiver, django_capture_on_commit_callbacks
):
    import django_rq
    from rq import SimpleWorker

    from webhooks.sweeps import run_sweeps

    endpoint_for(alice.user)
    sent_message(alice)  # its wake-up (after commit) never ran: as if Redis had lost it
    with django_capture_on_commit_callbacks(execute=True):  # the job is queued once the pass commits
        assert run_sweeps()["webhooks_woken"] == 1
    queue = django_rq.get_queue("webhooks")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert [event["type"] for event in receiver.events()] == ["message.sent"]


def test_finished_deliveries_past_the_retention_are_deleted_with_their_log(alice, endpoint_for, receiver):
    from webhooks.sweeps import purge_old_deliveries

    endpoint, _ = endpoint_for(alice.user)
    sent_message(alice)
    drain(endpoint)
    services.send_test_event(endpoint=endpoint)  # pending: kept whatever its age
    Delivery.objects.update(created_at=timezone.now() - timedelta(days=31))
    assert purge_old_deliveries() == 1
    assert (Delivery.objects.count(), Attempt.objects.count()) == (1, 0)
