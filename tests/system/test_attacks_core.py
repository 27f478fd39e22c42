"""The send path's attacks of the security review (issue 8), reproduced over HTTP against real processes:
gunicorn, RQ workers, the scheduler, a real SMTP server on loopback."""

from __future__ import annotations

import pytest

from accounts.models import CreditAccount, CreditEntry
from devices import services as devices
from messaging.models import Message, Status
from tests.fakes.smtp import SmtpSink
from tests.messaging.conftest import make_gateway
from tests.system.conftest import wait_until

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]


def balance(user, channel: str) -> int:
    return CreditAccount.objects.get(user=user, channel=channel).balance


def test_a_line_break_in_a_subject_is_refused_at_the_door_and_nothing_is_charged(alice, web):
    make_gateway(alice.user, "email", "mail", is_default=True)
    good = {"email": "carol@example.com", "subject": "Hi", "message": "Hello"}
    bad = {**good, "subject": "Hi\r\nBcc: victim@example.com"}
    response = web.call("POST", "/api/email/send", alice.key, json={"contact": [good, bad]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "contact.1.subject"
    assert (Message.objects.count(), balance(alice.user, "email")) == (0, 100)


def test_a_phone_cannot_turn_a_delivered_sms_into_a_refund(alice, web):
    token = devices.create_pairing_token(user=alice.user)[1]
    base, proto = "/api/gateway/sms/android", {"X-Forwarded-Proto": "https"}
    session = web.call("POST", f"{base}/register-session", "", json={"pairing_token": token, "device_uuid": "p1"})
    assert session.status_code == 200, session.text
    phone = {**proto, "Authorization": f"Bearer {session.json()['data']['session_token']}"}
    web.call("POST", f"{base}/sim", "", headers=phone, json={"slot": 0})
    sent = web.call("POST", "/api/sms/send", alice.key, json={"contact": [{"number": "+15555550123", "body": "x"}]})
    uid = sent.json()["data"][0]["uid"]
    assert [m["uid"] for m in web.call("GET", "/api/logs/sms/pending", "", headers=phone).json()["data"]] == [uid]
    report = "/api/logs/sms/update-statuses"
    web.call("POST", report, "", headers=phone, json={"statuses": [{"uid": uid, "status": "delivered"}]})
    answer = web.call("POST", report, "", headers=phone, json={"statuses": [{"uid": uid, "status": "failed"}]})
    assert answer.json()["data"][0]["changed"] is False
    assert Message.objects.get(uid=uid).status == Status.DELIVERED
    assert balance(alice.user, "sms") == 99


def test_a_worker_that_stalls_past_its_lease_cannot_refund_a_message_twice(alice, web, processes):
    """The first worker's SMTP call outlives its lease; the scheduler hands the message to a second worker
    (the gateway allows resending an unknown outcome), which gets a refusal and refunds it. When the first
    worker's own refusal finally arrives, its write is refused: one refund, not two."""
    with SmtpSink(delays=[5.0], data_reply="550 5.1.1 Mailbox unavailable") as sink:
        config = {"host": "127.0.0.1", "port": sink.port, "use_tls": False, "from_email": "noreply@example.com"}
        make_gateway(
            alice.user, "email", "mail", provider="smtp", config=config, is_default=True, retry_unknown_outcome=True
        )
        for name in ("worker-1", "worker-2"):
            processes.manage(name, "rqworker", "high", "low", XSENDER_LEASE_SECONDS="2")
        processes.manage("scheduler", "xsender:scheduler", "--interval", "0.3", XSENDER_LEASE_SECONDS="2")
        item = {"email": "carol@example.com", "subject": "Hi", "message": "Hello"}
        assert web.call("POST", "/api/email/send", alice.key, json={"contact": [item]}).status_code == 200
        wait_until(lambda: sink.replies == 2, 30, what="both workers' calls to be answered")
        jobs_done = lambda: sum(processes.log(n).count("Job OK") for n in ("worker-1", "worker-2"))  # noqa: E731
        wait_until(lambda: jobs_done() >= 2, 30, what="both workers to record what they were told")
    assert Message.objects.get().status == Status.FAILED
    assert CreditEntry.objects.filter(reason="refund").count() == 1
    assert balance(alice.user, "email") == 100
