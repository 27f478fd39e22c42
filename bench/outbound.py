"""Outbound webhooks: `python -m bench.outbound [--short]`.

10,000 events (2,000 with --short) in one tenant endpoint's outbox are delivered by 2 `xsender:worker` processes
to a local receiver (a minimal asyncio HTTP server in its own process that answers 200 at once), timed from the
wake-up to the last delivery recorded in the database. The reference: a bare `requests.Session` loop posting the
same bodies to the same receiver, one after the other over one connection. Target: XSender ≥ 80 % of the bare
loop. The reference runs before and after XSender (the machine is shared; the mean is used), and a sample of
the received requests is verified with the standardwebhooks library. Uses its own database
(xsender_bench_outbound) and Redis db 15; writes bench/results/outbound.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_OUTBOUND_DB", "xsender_bench_outbound")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "xsender.settings",
    "DATABASE_URL": f"{PG}/{DB_NAME}",
    "REDIS_URL": os.environ.get("BENCH_OUTBOUND_REDIS", "redis://127.0.0.1:6379/15"),
    "DEBUG": "false",
    "SECRET_KEY": "bench-only-secret-key-" + "b" * 40,
    "XSENDER_ENCRYPTION_KEY": "YmVuY2gtb25seS1lbmNyeXB0aW9uLWtleS14eHh4eHg=",
    "XSENDER_ALLOW_INSECURE_HTTP": "true",
    "XSENDER_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "XSENDER_ADMIN_2FA": "false",
    "LOG_LEVEL": "WARNING",
}
WORKERS = 2
SAMPLES = 50


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- the receiver (its own process)


def serve(port: int) -> None:
    """Answers every POST with 200 at once; GET /stats gives the count and the first requests received."""
    state: dict[str, Any] = {"count": 0, "samples": []}

    def answer(writer: asyncio.StreamWriter, body: bytes) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        writer.write(body)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if lines[0].startswith("GET /stats"):
                    answer(writer, json.dumps(state).encode())
                    continue
                state["count"] += 1
                if "webhook-id" in headers and len(state["samples"]) < SAMPLES:  # XSender's, not the bare loop's
                    state["samples"].append({"headers": headers, "body": body.decode()})
                answer(writer, b"{}")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=256)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def stats(url: str) -> dict[str, Any]:
    import requests

    return requests.get(url + "/stats", timeout=10).json()


# ---------------------------------------------------------------- setup


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=ENV, check=True)


def outbox(url: str, count: int) -> tuple[int, str, list[str]]:
    """A tenant's endpoint and `count` message.delivered events in its outbox (written as transitions write
    them); returns the endpoint's id, its secret and the bodies it will be sent."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts import services as accounts
    from webhooks import services
    from webhooks.models import Delivery
    from webhooks.outbox import Outgoing, record

    user, _ = accounts.create_user(email="tenant@example.com", name="Tenant")
    endpoint, secret = services.add_endpoint(owner=user, url=url + "/hooks", event_types=["message.delivered"])
    for start in range(0, count, 1000):
        events = [
            Outgoing("message.delivered", user.pk, False, timezone.now(),
                     {"uid": f"00000000-0000-4000-8000-{n:012d}", "channel": "email", "status": "Delivered",
                      "recipient": f"user{n}@example.com", "gateway": "esp", "error": None})
            for n in range(start, min(count, start + 1000))
        ]  # fmt: skip
        with transaction.atomic():
            record(events)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT payload::text FROM {Delivery._meta.db_table} ORDER BY id")  # noqa: S608
        bodies = [body for (body,) in cursor.fetchall()]
    return endpoint.pk, secret, bodies


# ---------------------------------------------------------------- the two runs


def bare_loop(url: str, bodies: list[str]) -> float:
    """Events/s of a plain requests.Session posting `bodies` one after the other."""
    import requests

    session = requests.Session()
    headers = {"Content-Type": "application/json"}
    started = time.perf_counter()
    for body in bodies:
        response = session.post(url + "/hooks", data=body.encode(), headers=headers, timeout=10)
        response.raise_for_status()
    return len(bodies) / (time.perf_counter() - started)


def workers_up(expected: int) -> bool:
    from rq import Worker

    from xsender.redis import get_redis

    return len(Worker.all(connection=get_redis())) >= expected


def xsender_run(endpoint_id: int, count: int) -> dict[str, float]:
    """Starts the workers, wakes the endpoint, times until every event is recorded delivered."""
    from webhooks.jobs import wake
    from webhooks.models import Delivery

    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "xsender:worker", "-v", "0"], cwd=ROOT, env=ENV, start_new_session=True
        )
        for _ in range(WORKERS)
    ]
    try:
        _wait(lambda: workers_up(WORKERS), 60, "the workers to start")
        started = time.perf_counter()
        wake([endpoint_id])
        delivered = Delivery.objects.filter(status=Delivery.Status.DELIVERED)
        _wait(lambda: delivered.count() >= count, 600, "every event to be delivered", interval=0.05)
        elapsed = time.perf_counter() - started
    finally:
        for process in workers:
            os.killpg(process.pid, signal.SIGTERM)
        for process in workers:
            process.wait(timeout=30)
    attempts = Delivery.objects.filter(attempts__gt=1).count()
    return {"events_per_s": count / elapsed, "seconds": elapsed, "retried": attempts}


def _wait(predicate: Any, timeout: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(interval)


def verified(samples: list[dict[str, Any]], secret: str) -> int:
    from standardwebhooks import Webhook, WebhookVerificationError

    good = 0
    for sample in samples:
        try:
            Webhook(secret).verify(sample["body"], sample["headers"])
        except WebhookVerificationError:
            continue
        good += 1
    return good


def summary(
    count: int, before: float, after: float, run: dict[str, float], received: dict[str, Any], secret: str
) -> dict[str, Any]:
    bare = (before + after) / 2
    return {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "events": count,
        "workers": WORKERS,
        "bare_requests_session_per_s": {"before": round(before), "after": round(after), "mean": round(bare)},
        "xsender_per_s": round(run["events_per_s"]),
        "xsender_seconds": round(run["seconds"], 2),
        "ratio": round(run["events_per_s"] / bare, 3),
        "retried": run["retried"],
        "received": received["count"],
        "signatures_verified": f"{verified(received['samples'], secret)}/{len(received['samples'])}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="2,000 events instead of 10,000.")
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)  # the receiver process
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve)
    count = 2_000 if args.short else 10_000
    os.environ.update(ENV)
    sys.path.insert(0, str(ROOT))
    print("Setting up the bench database…", flush=True)
    recreate_database()
    import django

    django.setup()
    from xsender.redis import get_redis

    port = _port()
    url = f"http://127.0.0.1:{port}"
    receiver = subprocess.Popen([sys.executable, "-m", "bench.outbound", "--serve", str(port)], cwd=ROOT, env=ENV)
    try:
        _wait(lambda: _answers(url), 30, "the receiver")
        endpoint_id, secret, bodies = outbox(url, count)
        get_redis().flushdb()  # the outbox's wake-ups: the run below wakes the endpoint itself, once timed
        before = bare_loop(url, bodies)
        run = xsender_run(endpoint_id, count)
        after = bare_loop(url, bodies)
        received = stats(url)
    finally:
        receiver.terminate()
        receiver.wait(timeout=10)
    results = summary(count, before, after, run, received, secret)
    out = ROOT / "bench" / "results" / "outbound.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"XSender / bare requests.Session loop: {results['ratio']:.1%} (target ≥ 80 %)")


def _answers(url: str) -> bool:
    try:
        stats(url)
    except Exception:  # noqa: BLE001 — not up yet
        return False
    return True


if __name__ == "__main__":
    main()
