"""Single-recipient traffic through real processes (gunicorn, one worker, an SMTP server on loopback):
many small requests are each sent exactly once and promptly; an OTP overtakes a bulk send that is draining."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import requests

from accounts import services as accounts
from messaging.items import SmsItem
from messaging.models import Message, Status
from messaging.services import accept_messages
from tests.fakes.smtp import SmtpSink
from tests.messaging.conftest import make_gateway
from tests.system.conftest import wait_until

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]
REQUESTS, THREADS = 2000, 16


@pytest.fixture
def busy_tenant(alice):
    plan = accounts.create_plan(
        data=accounts.PlanInput(
            slug="busy", name="Busy", email_credits=5000, sms_credits=20000, rate_limit_per_minute=100000
        )
    )
    accounts.assign_plan(user=alice.user, plan=plan)
    return alice


def test_two_thousand_single_sends_from_sixteen_clients_are_each_sent_once_and_promptly(busy_tenant, web, worker):
    with SmtpSink() as sink:
        config = {"host": "127.0.0.1", "port": sink.port, "use_tls": False, "from_email": "noreply@example.com"}
        make_gateway(busy_tenant.user, "email", "mail", provider="smtp", config=config, is_default=True)
        failures: list[int] = []

        def client(offset: int) -> None:
            session = requests.Session()
            session.headers.update({"Api-key": busy_tenant.key, "X-Forwarded-Proto": "https"})
            for i in range(offset, REQUESTS, THREADS):
                item = {"email": f"r{i}@example.com", "subject": "Code", "message": f"Code {i}"}
                answer = session.post(web.url + "/api/email/send", json={"contact": [item]}, timeout=30)
                if answer.status_code != 200:
                    failures.append(answer.status_code)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(THREADS)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        last_request = time.monotonic()
        wait_until(lambda: len(sink.recipients) >= REQUESTS, 60, what="every email at the SMTP server")
        drained_after = time.monotonic() - last_request
        time.sleep(0.5)  # anything sent twice would arrive now
    assert failures == []
    assert Counter(sink.recipients) == Counter(f"r{i}@example.com" for i in range(REQUESTS))
    assert drained_after < 5
    assert Message.objects.filter(status=Status.SENT).count() == REQUESTS


def test_an_otp_overtakes_a_bulk_send_that_is_draining(busy_tenant, web, worker):
    make_gateway(busy_tenant.user, "sms", "sms", is_default=True)
    bulk = [SmsItem(recipient=f"+1555{i:07d}", body="Sale!", sms_type="marketing") for i in range(1000)]
    for _ in range(10):
        accept_messages(principal=busy_tenant.user, channel="sms", items=bulk)
    wait_until(lambda: Message.objects.filter(status=Status.SENT).exists(), 30, what="the bulk send to start")
    otp = {"number": "+15555550123", "body": "Code 482915", "sms_type": "otp"}
    assert web.call("POST", "/api/sms/send", busy_tenant.key, json={"contact": [otp]}).status_code == 200
    wait_until(lambda: Message.objects.filter(sms_type="otp", status=Status.SENT).exists(), 10, what="the OTP")
    sent = Message.objects.get(sms_type="otp")
    assert (sent.sent_at - sent.created_at).total_seconds() < 1
    # Handed off ahead of the bulk messages accepted before it: they were still being sent after it.
    assert Message.objects.filter(sms_type="marketing").exclude(sent_at__lt=sent.sent_at).count() > 1000
