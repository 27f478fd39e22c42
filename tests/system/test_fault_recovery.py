"""Faults with real processes: Redis loses the jobs after accept; a worker is killed in the middle of a batch.

The receiver is a real SMTP server on loopback: it tells whether any message arrived twice.
"""

from __future__ import annotations

from collections import Counter

import pytest

from messaging.delivery import CHUNK
from messaging.models import Message, Status
from tests.fakes.smtp import SmtpSink
from tests.messaging.conftest import make_gateway
from tests.system.conftest import wait_until
from xsender.redis import get_redis

pytestmark = pytest.mark.system


@pytest.fixture
def smtp_sink():
    started: list[SmtpSink] = []

    def start(delay: float = 0.0) -> tuple[SmtpSink, int]:
        sink = SmtpSink(delay=delay).__enter__()
        started.append(sink)
        return sink, sink.port

    yield start
    for sink in started:
        sink.__exit__(None, None, None)


def smtp_gateway(user, port: int):
    config = {"host": "127.0.0.1", "port": port, "from_email": "noreply@example.com"}
    return make_gateway(user, "email", "smtp-local", provider="smtp", is_default=True, config=config)


def send_many(web, key: str, count: int) -> list[str]:
    items = [{"email": f"r{i}@example.com", "subject": "Hi", "message": "Hello"} for i in range(count)]
    response = web.call("POST", "/api/email/send", key, json={"contact": items})
    assert response.status_code == 200, response.text
    return [d["uid"] for d in response.json()["data"]]


def final_statuses() -> Counter:
    return Counter(Message.objects.values_list("status", flat=True))


def test_redis_flushed_after_accept_every_message_is_sent_exactly_once(alice, web, processes, smtp_sink):
    sink, port = smtp_sink()
    smtp_gateway(alice.user, port)
    send_many(web, alice.key, 60)
    get_redis().flushdb()  # the wake-ups are lost; only the rows remain
    processes.manage("worker", "rqworker", "high", "low")
    processes.manage("scheduler", "xsender:scheduler", "--interval", "0.3")
    wait_until(lambda: final_statuses() == Counter({Status.SENT: 60}), 60, what="all 60 to be Sent")
    assert sorted(sink.recipients) == sorted(f"r{i}@example.com" for i in range(60))


def test_worker_killed_mid_batch_no_message_is_sent_twice(alice, web, processes, smtp_sink):
    sink, port = smtp_sink(delay=0.02)
    smtp_gateway(alice.user, port)
    processes.manage("worker", "rqworker", "low", XSENDER_LEASE_SECONDS="3")
    send_many(web, alice.key, 90)
    wait_until(lambda: len(sink.recipients) >= 10, 30, interval=0.02, what="the worker to be mid-batch")
    processes.kill("worker")  # SIGKILL to the worker and its work-horse, in the middle of the first chunk
    processes.manage("worker2", "rqworker", "high", "low", XSENDER_LEASE_SECONDS="3")
    processes.manage("scheduler", "xsender:scheduler", "--interval", "0.3")
    wait_until(lambda: set(final_statuses()) <= {Status.SENT, Status.FAILED}, 60, what="every message to end")
    received = Counter(sink.recipients)
    sent = set(Message.objects.filter(status=Status.SENT).values_list("recipient", flat=True))
    failed = Message.objects.filter(status=Status.FAILED)
    assert max(received.values()) == 1
    assert sent <= set(received)
    assert all(m.error.startswith("Outcome unknown") for m in failed)
    # Only the chunk in flight (and the one whose results were being written) are in doubt; the rest was sent after.
    assert 0 < failed.count() <= 2 * CHUNK
