"""(b) delivery throughput into an SMTP sink: XSender with 1 and 2 RQ workers, django-post-office, a bare loop."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EMAILS = int(os.environ.get("BENCH_EMAILS", "3000"))
WORKER_ARGS = os.environ.get("BENCH_WORKER_ARGS", "").split()
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)


def _xsender(workers: int, connections: int) -> float:
    from datetime import timedelta

    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.services import get_user
    from gateways.models import Gateway
    from messaging.jobs import enqueue_delivery
    from messaging.models import Message, Status
    from messaging.services import accept_messages
    from xsender.redis import get_redis

    user = get_user("bench@example.com")
    Gateway.objects.filter(identifier="bench-smtp").update(connections=connections)
    get_redis().flushdb()  # the accept benchmark's wake-ups, for messages about to go
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE messaging_messageevent, messaging_message")
    procs = [
        subprocess.Popen([sys.executable, "manage.py", "xsender:worker", *WORKER_ARGS], cwd=ROOT, env=os.environ.copy(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]  # fmt: skip
    try:
        time.sleep(3)  # workers up and listening
        # The messages are accepted first (as Scheduled, so nothing is enqueued yet); the clock then runs
        # from the moment they become Pending and the workers are woken until the last one is Sent.
        from messaging.items import EmailItem

        later = timezone.now() + timedelta(days=1)
        items = [
            EmailItem(
                recipient=f"r{i}@example.com", subject="Hello", body="Hi", gateway="bench-smtp", schedule_at=later
            )
            for i in range(1000)
        ]
        for _ in range(EMAILS // 1000):
            accept_messages(principal=user, channel="email", items=items)
        messages = list(Message.objects.select_related("gateway").order_by("pk"))
        started = time.perf_counter()
        with transaction.atomic():
            Message.objects.update(status=Status.PENDING, schedule_at=None, queued_at=timezone.now())
            for message in messages:
                message.status = Status.PENDING
            enqueue_delivery(messages)
        while Message.objects.filter(status=Status.SENT).count() < EMAILS:
            if Message.objects.filter(status=Status.FAILED).exists():
                raise RuntimeError(Message.objects.filter(status=Status.FAILED).first().error)
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()


def _bare(port: int) -> float:
    from django.core.mail import EmailMessage
    from django.core.mail.backends.smtp import EmailBackend

    backend = EmailBackend(host="127.0.0.1", port=port, use_tls=False)
    started = time.perf_counter()
    backend.open()
    for i in range(EMAILS):
        backend.send_messages([EmailMessage("Hello", "Hi", "noreply@example.com", [f"r{i}@example.com"])])
    backend.close()
    return time.perf_counter() - started


def _post_office(port: int) -> float:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings_postoffice", "BENCH_SMTP_PORT": str(port)}
    subprocess.run([sys.executable, "manage.py", "migrate", "post_office", "-v", "0"], cwd=ROOT, env=env, check=True)
    result = subprocess.run(
        [sys.executable, "-m", "bench.postoffice_run", str(EMAILS)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])["seconds"]


def run(manage: Callable[..., str]) -> dict:
    port = _port()
    sink = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.smtp", "--port", str(port)], cwd=ROOT, stdout=subprocess.DEVNULL
    )
    _wait_port(port)
    config = json.dumps({"host": "127.0.0.1", "port": port, "use_tls": False, "from_email": "noreply@example.com"})
    manage("xsender:gateway:add", "email", "smtp", "bench-smtp", "--owner", "bench@example.com", "--config", config)
    from gateways.models import Gateway

    default = Gateway._meta.get_field("connections").default  # what a new gateway gets
    ONE_WORKER = f"XSender, 1 worker, {default} connections"  # noqa: N806 — the row the targets compare
    rows = []
    try:
        for name, measure in [
            ("bare Django SMTP loop", lambda: _bare(port)),
            ("django-post-office", lambda: _post_office(port)),
            ("XSender, 1 worker, 1 connection", lambda: _xsender(1, 1)),
            (ONE_WORKER, lambda: _xsender(1, default)),
            (f"XSender, 2 workers, {default} connections each", lambda: _xsender(2, default)),
        ]:
            seconds = min(measure() for _ in range(ROUNDS))  # best of ROUNDS: the machine is shared
            rows.append({"name": name, "emails": EMAILS, "seconds": seconds, "emails_per_s": EMAILS / seconds})
            print(f"  deliver: {name}: {EMAILS / seconds:,.0f} emails/s", flush=True)
    finally:
        sink.terminate()
        sink.wait()
    rate = {row["name"]: row["emails_per_s"] for row in rows}
    return {
        "rows": rows,
        "one_worker_vs_bare": rate[ONE_WORKER] / rate["bare Django SMTP loop"],
        "one_worker_vs_post_office": rate[ONE_WORKER] / rate["django-post-office"],
        "one_connection_vs_bare": rate["XSender, 1 worker, 1 connection"] / rate["bare Django SMTP loop"],
    }
