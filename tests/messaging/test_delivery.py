"""Delivery and the scheduler: claims, retries, refunds, lost wake-ups, expired leases, scheduled sends."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import CreditAccount, CreditEntry
from accounts.services import add_credits
from gateways.backends.base import SendResult
from gateways.models import Gateway
from messaging import delivery, transitions
from messaging.models import Message, Status
from messaging.sweeps import recover_expired_leases, release_scheduled, run_sweeps
from tests.fakes.smtp import SmtpSink
from tests.messaging.conftest import make_gateway, run_jobs
from xsender.redis import get_redis

pytestmark = pytest.mark.django_db


def send(client, n: int = 1, **extra) -> list[str]:
    items = [{"email": f"u{i}@example.com", "subject": "Hi", "message": "Hello", **extra} for i in range(n)]
    response = client.post("/api/email/send", {"contact": items}, format="json")
    assert response.status_code == 200, response.json()
    return [d["uid"] for d in response.json()["data"]]


def statuses() -> list[str]:
    return list(Message.objects.order_by("pk").values_list("status", flat=True))


def email_balance(user) -> int:
    return CreditAccount.objects.get(user=user, channel="email").balance


@pytest.fixture
def sending(django_capture_on_commit_callbacks):
    """Runs on-commit callbacks (the enqueue) inside the test transaction."""

    def _send(client, n: int = 1, **extra) -> list[str]:
        with django_capture_on_commit_callbacks(execute=True):
            return send(client, n, **extra)

    return _send


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """Runs the scheduler's sweeps, with their enqueues (on commit) executed."""

    def _sweep(fn=run_sweeps):
        with django_capture_on_commit_callbacks(execute=True):
            return fn()

    return _sweep


def test_worker_sends_every_message_of_a_bulk_request(api, console_gateways, sending):
    sending(api, 90)
    run_jobs()
    assert set(statuses()) == {Status.SENT}


def test_permanent_failure_fails_and_refunds_the_credit(api, alice, sending):
    make_gateway(alice.user, "email", "broken", is_default=True, config={"fail": True})
    sending(api, 2)
    run_jobs()
    assert statuses() == [Status.FAILED, Status.FAILED]
    assert email_balance(alice.user) == 100
    assert CreditEntry.objects.filter(reason="refund").count() == 2


def test_transient_failure_is_retried_later_with_attempts_recorded(api, alice, sending):
    make_gateway(alice.user, "email", "flaky", is_default=True, config={"fail_transient": True})
    sending(api)
    run_jobs()
    message = Message.objects.get()
    assert (message.status, message.attempts) == (Status.PENDING, 1)
    assert message.next_attempt_at > timezone.now()
    assert email_balance(alice.user) == 99


def test_transient_failures_end_failed_after_the_last_attempt(api, alice, settings, sending, sweep):
    settings.XSENDER_MAX_ATTEMPTS = 3
    make_gateway(alice.user, "email", "flaky", is_default=True, config={"fail_transient": True})
    sending(api)
    for _ in range(3):
        Message.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        sweep()
        run_jobs()
    message = Message.objects.get()
    assert (message.status, message.attempts) == (Status.FAILED, 3)
    assert email_balance(alice.user) == 100


def test_a_second_run_on_the_same_gateway_sends_nothing(api, console_gateways, sending):
    sending(api, 3)
    gateway_id = console_gateways["email"].pk
    assert delivery.drain_gateway(gateway_id=gateway_id).sent == 3
    assert delivery.drain_gateway(gateway_id=gateway_id).sent == 0


def test_scheduled_message_waits_for_its_time(api, console_gateways, sending, sweep):
    sending(api, schedule_at=(timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"))
    run_jobs()
    assert release_scheduled() == 0
    assert statuses() == [Status.SCHEDULED]
    Message.objects.update(schedule_at=timezone.now() - timedelta(seconds=1))
    assert sweep(release_scheduled) == 1
    run_jobs()
    assert statuses() == [Status.SENT]


def test_scheduler_recovers_messages_whose_wake_up_was_lost(api, console_gateways, sending, sweep):
    sending(api, 5)
    get_redis().flushdb()  # the jobs are gone
    run_jobs()
    assert set(statuses()) == {Status.PENDING}
    assert sweep()["woken"] == 1  # one drain for their gateway
    run_jobs()
    assert set(statuses()) == {Status.SENT}


def _expire_lease(**changes) -> None:
    changes = {"attempts": 1, **changes}
    Message.objects.update(status=Status.PROCESSING, lease_expires_at=timezone.now() - timedelta(seconds=1), **changes)


def test_expired_lease_before_handoff_is_sent_again(api, console_gateways, sending, sweep):
    sending(api)
    _expire_lease(handoff_at=None)
    assert sweep(recover_expired_leases) == 1
    run_jobs()
    assert statuses() == [Status.SENT]


def test_expired_lease_after_handoff_ends_failed_as_outcome_unknown(api, console_gateways, sending, sweep):
    sending(api)
    _expire_lease(handoff_at=timezone.now())
    sweep(recover_expired_leases)
    run_jobs()
    message = Message.objects.get()
    assert message.status == Status.FAILED
    assert message.error.startswith("Outcome unknown")


def test_gateway_may_allow_resending_an_unknown_outcome(api, alice, sending, sweep):
    make_gateway(alice.user, "email", "retrying", is_default=True, retry_unknown_outcome=True)
    sending(api)
    _expire_lease(handoff_at=timezone.now())
    sweep(recover_expired_leases)
    run_jobs()
    assert statuses() == [Status.SENT]


def test_device_lease_returns_to_the_queue_once_then_fails_keeping_the_charge(
    api, alice, django_capture_on_commit_callbacks
):
    make_gateway(alice.user, "sms", "android", provider="android", is_default=True)
    with django_capture_on_commit_callbacks(execute=True):
        api.post("/api/sms/send", {"contact": [{"number": "+15555550123", "body": "x"}]}, format="json")
    _expire_lease()
    recover_expired_leases()
    assert statuses() == [Status.PENDING]
    _expire_lease(attempts=2)
    recover_expired_leases()
    assert statuses() == [Status.FAILED]
    # The phone took it twice and never said what happened: it may have been sent, so it is not refunded.
    assert CreditAccount.objects.get(user=alice.user, channel="sms").balance == 99


def smtp_gateway(owner, port: int, connections: int = 2) -> Gateway:
    """`owner`'s default email gateway: SMTP to loopback `port`; the owner gets credit for 1,000 emails."""
    add_credits(user=owner, channel="email", amount=1000)
    config = {"host": "127.0.0.1", "port": port, "use_tls": False, "from_email": "noreply@example.com"}
    return make_gateway(
        owner, "email", "mail", provider="smtp", config=config, is_default=True, connections=connections
    )


def deliver_in_threads(gateway: Gateway, runs: int) -> None:
    """`runs` workers draining the same gateway at once, each in a thread with its own database connection."""

    def run() -> None:
        try:
            delivery.drain_gateway(gateway_id=gateway.pk, seconds=60)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(runs)]
    [t.start() for t in threads]
    [t.join() for t in threads]


@pytest.mark.django_db(transaction=True)
def test_a_batch_goes_out_over_the_gateways_parallel_connections_each_message_once(alice):
    with SmtpSink() as sink:
        gateway = smtp_gateway(alice.user, sink.port, connections=3)
        send(alice.client(), 300)  # six chunks of 50
        sent = delivery.drain_gateway(gateway_id=gateway.pk, seconds=60).sent
    assert sent == 300
    assert sink.connections == 3
    assert sorted(sink.recipients) == sorted(f"u{i}@example.com" for i in range(300))
    assert set(statuses()) == {Status.SENT}


@pytest.mark.django_db(transaction=True)
def test_four_workers_racing_for_one_gateway_send_each_message_once(alice):
    with SmtpSink() as sink:
        gateway = smtp_gateway(alice.user, sink.port, connections=2)
        send(alice.client(), 400)
        deliver_in_threads(gateway, runs=4)
    assert len(sink.recipients) == len(set(sink.recipients)) == 400
    assert set(statuses()) == {Status.SENT}


@pytest.mark.django_db(transaction=True)
def test_a_gateway_that_cannot_be_reached_stops_every_connection_and_sends_nothing_twice(alice):
    with SmtpSink() as sink:
        port = sink.port
    gateway = smtp_gateway(alice.user, port, connections=4)  # nothing listens there any more
    send(alice.client(), 500)
    drained = delivery.drain_gateway(gateway_id=gateway.pk, seconds=60)
    assert (drained.sent, drained.more, drained.stopped is not None) == (0, False, True)
    rows = list(Message.objects.values_list("status", "attempts", "error"))
    assert {(status, attempts) for status, attempts, _ in rows} == {(Status.PENDING, 1)}
    assert all(error.startswith("Cannot connect to the SMTP server") for _, _, error in rows)
    assert not Message.objects.filter(next_attempt_at__isnull=True).exists()


def test_results_are_recorded_with_provider_id(api, console_gateways, sending):
    uid = sending(api)[0]
    message = Message.objects.get(uid=uid)
    transitions.record_send_results(
        gateway=message.gateway,
        messages=transitions.claim_next(gateway_id=message.gateway_id, limit=50),
        results=[SendResult(uid=message.uid, ok=True, provider_message_id="abc", raw={"id": "abc"})],
    )
    message.refresh_from_db()
    assert (message.status, message.provider_message_id, message.gateway_response) == (
        Status.SENT,
        "abc",
        {"id": "abc"},
    )


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_release_each_due_message_once(alice, console_gateways):
    import django_rq

    send(alice.client(), 90, schedule_at=(timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"))
    Message.objects.update(schedule_at=timezone.now() - timedelta(seconds=1))
    get_redis().flushdb()
    released: list[int] = []

    def scheduler() -> None:
        for _ in range(5):
            released.append(release_scheduled())
        connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sum(released) == 90
    assert len(django_rq.get_queue("low").jobs) == 1  # one drain for their gateway, however they were released


def test_cancelling_a_scheduled_message_refunds_it(api, alice, console_gateways):
    from messaging.services import cancel_messages

    send(api, 2, schedule_at=(timezone.localtime() + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"))
    assert cancel_messages(messages=Message.objects.all()) == 2
    assert set(statuses()) == {Status.CANCELLED}
    assert email_balance(alice.user) == 100


def test_email_with_attachment_is_delivered_with_it(api, alice, settings, django_capture_on_commit_callbacks):
    from tests.fakes.http import FakeServer, Reply
    from tests.fakes.smtp import SmtpSink

    settings.XSENDER_FETCH_ALLOWED_HOSTS = ["127.0.0.1"]
    with (
        SmtpSink() as sink,
        FakeServer(lambda r: Reply(200, b"%PDF-1.7", {"Content-Type": "application/pdf"})) as files,
    ):
        config = {"host": "127.0.0.1", "port": sink.port, "from_email": "noreply@example.com"}
        make_gateway(alice.user, "email", "smtp", provider="smtp", is_default=True, config=config)
        item = {
            "email": "c@example.com",
            "subject": "Invoice",
            "message": "Attached",
            "attachments": [{"type": "file", "url": f"{files.url}/inv.pdf"}],
        }
        with django_capture_on_commit_callbacks(execute=True):
            api.post("/api/email/send", {"contact": [item]}, format="json")
        run_jobs()
    parts = [p.get_filename() for p in sink.messages[0].email.walk() if p.get_filename()]
    assert statuses() == [Status.SENT]
    assert parts == ["inv.pdf"]
