"""Each caller driven into each transition: which moves refund (docs/architecture.md, "Transitions and refunds").

Delivery, the sweeps, cancel, phones' reports and gateway removal all move messages through
messaging.transitions; these tests pin what a tenant sees in status and balance for each of them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import CreditAccount, CreditEntry
from gateways.backends.base import SendResult
from messaging import transitions
from messaging.models import Message, Status
from messaging.sweeps import fail_orphans, recover_expired_leases
from tests.messaging.conftest import make_gateway, run_jobs

pytestmark = pytest.mark.django_db


def send_email(client, n: int = 1) -> None:
    items = [{"email": f"u{i}@example.com", "subject": "Hi", "message": "Hello"} for i in range(n)]
    assert client.post("/api/email/send", {"contact": items}, format="json").status_code == 200


def balance(user, channel: str = "email") -> int:
    return CreditAccount.objects.get(user=user, channel=channel).balance


def refunds() -> int:
    return CreditEntry.objects.filter(reason="refund").count()


@pytest.fixture
def sent(api, django_capture_on_commit_callbacks):
    def _send(n: int = 1) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            send_email(api, n)

    return _send


def test_a_provider_refusal_after_the_last_retry_is_refunded(alice, sent, settings):
    settings.XSENDER_MAX_ATTEMPTS = 1
    make_gateway(alice.user, "email", "flaky", is_default=True, config={"fail_transient": True})
    sent()
    run_jobs()
    assert Message.objects.get().status == Status.FAILED
    assert balance(alice.user) == 100


def test_an_unknown_outcome_found_during_the_send_keeps_its_charge(alice, sent):
    gateway = make_gateway(alice.user, "email", "mail", is_default=True)
    sent()
    message = Message.objects.get()
    claimed = transitions.claim_next(gateway_id=gateway.pk, limit=50)
    lost = SendResult(uid=message.uid, ok=False, unknown=True, error="Outcome unknown: connection lost.")
    transitions.record_send_results(gateway=gateway, messages=claimed, results=[lost])
    message.refresh_from_db()
    assert message.status == Status.FAILED
    assert "Not resent" in message.error
    assert balance(alice.user) == 99


def test_an_unknown_outcome_is_retried_when_the_gateway_allows_it(alice, sent):
    gateway = make_gateway(alice.user, "email", "mail", is_default=True, retry_unknown_outcome=True)
    sent()
    message = Message.objects.get()
    claimed = transitions.claim_next(gateway_id=gateway.pk, limit=50)
    lost = SendResult(uid=message.uid, ok=False, unknown=True, error="Outcome unknown: connection lost.")
    transitions.record_send_results(gateway=gateway, messages=claimed, results=[lost])
    message.refresh_from_db()
    assert (message.status, message.handoff_at) == (Status.PENDING, None)


def test_an_unknown_outcome_found_by_the_lease_sweep_keeps_its_charge_too(alice, sent):
    make_gateway(alice.user, "email", "mail", is_default=True)
    sent()
    Message.objects.update(
        status=Status.PROCESSING, handoff_at=timezone.now(), lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    recover_expired_leases()
    assert Message.objects.get().status == Status.FAILED
    assert balance(alice.user) == 99


def test_a_run_that_stalled_past_its_lease_cannot_write_over_the_decision_or_refund_twice(alice, sent):
    gateway = make_gateway(alice.user, "email", "mail", is_default=True, retry_unknown_outcome=True)
    sent()
    message = Message.objects.get()
    stalled = transitions.claim_next(gateway_id=gateway.pk, limit=50)
    Message.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    recover_expired_leases()  # the gateway allows a resend: back to Pending
    second = transitions.claim_next(gateway_id=gateway.pk, limit=50)
    refused = [SendResult(uid=message.uid, ok=False, error="550 no such user")]
    transitions.record_send_results(gateway=gateway, messages=second, results=refused)
    late = transitions.record_send_results(gateway=gateway, messages=stalled, results=refused)
    assert late == []
    assert (balance(alice.user), refunds()) == (100, 1)


def test_a_result_written_after_the_sweep_decided_is_dropped(alice, sent):
    gateway = make_gateway(alice.user, "email", "mail", is_default=True)
    sent()
    message = Message.objects.get()
    stalled = transitions.claim_next(gateway_id=gateway.pk, limit=50)
    Message.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    recover_expired_leases()
    ok = [SendResult(uid=message.uid, ok=True, provider_message_id="late")]
    transitions.record_send_results(gateway=gateway, messages=stalled, results=ok)
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (Status.FAILED, "")


def test_cancel_does_not_touch_a_message_a_worker_holds(alice, sent):
    gateway = make_gateway(alice.user, "email", "mail", is_default=True)
    sent()
    transitions.claim_next(gateway_id=gateway.pk, limit=50)
    assert transitions.cancel(messages=Message.objects.all()) == 0
    assert (Message.objects.get().status, balance(alice.user)) == (Status.PROCESSING, 99)


def _report(status: str, **extra) -> transitions.Report:
    return transitions.Report(Message.objects.get(), status, **extra)


def test_a_failure_reported_after_delivery_changes_nothing_and_says_why(alice, sent):
    make_gateway(alice.user, "email", "mail", is_default=True)
    sent()
    Message.objects.update(status=Status.PROCESSING, handoff_at=timezone.now())
    transitions.apply_reports(reports=[_report(Status.DELIVERED)])
    applied = transitions.apply_reports(reports=[_report(Status.FAILED, error="late")])[0]
    assert (applied.changed, applied.status) == (False, Status.DELIVERED)
    assert "Delivered" in applied.reason
    assert balance(alice.user) == 99


def test_a_failure_reported_after_the_send_is_kept_without_refund(alice, sent):
    make_gateway(alice.user, "email", "mail", is_default=True)
    sent()
    Message.objects.update(status=Status.PROCESSING, handoff_at=timezone.now())
    transitions.apply_reports(reports=[_report(Status.SENT)])
    assert transitions.apply_reports(reports=[_report(Status.FAILED)])[0].changed is True
    assert (Message.objects.get().status, balance(alice.user)) == (Status.FAILED, 99)


def test_a_late_delivered_never_undoes_opened(alice, sent):
    make_gateway(alice.user, "email", "mail", is_default=True)
    sent()
    Message.objects.update(status=Status.SENT)
    transitions.apply_reports(reports=[_report(Status.OPENED)])
    assert transitions.apply_reports(reports=[_report(Status.DELIVERED)])[0].changed is False
    assert Message.objects.get().status == Status.OPENED


def test_queued_messages_whose_gateway_is_gone_fail_refunded(alice, sent):
    gateway = make_gateway(alice.user, "email", "mail", is_default=True)
    sent(2)
    Message.objects.update(gateway=None)
    gateway.delete()
    assert fail_orphans() == 2
    assert set(Message.objects.values_list("status", flat=True)) == {Status.FAILED}
    assert balance(alice.user) == 100
