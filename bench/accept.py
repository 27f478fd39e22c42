"""(a) accept throughput through gunicorn and the raw COPY rate of the same rows; (c) queries per request."""

from __future__ import annotations

import io
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SIZES = {1: 400, 100: 40, 1000: 20}  # recipients per request: requests


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tenant(manage: Callable[..., str]) -> str:
    manage("xsender:plan:create", "bench", "--name", "Bench", "--email-credits", "-1", "--rate-limit", "100000")
    key = json.loads(manage("xsender:user:create", "bench@example.com", "--plan", "bench", "--json"))["api_key"]
    manage("xsender:gateway:add", "email", "console", "bench-console", "--owner", "bench@example.com", "--default")
    return key


def _items(n: int) -> list[dict[str, str]]:
    return [{"email": f"r{i}@example.com", "subject": "Hello", "message": "Hi from the bench"} for i in range(n)]


def run(manage: Callable[..., str], key: str) -> dict:
    import os

    port = _port()
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    web = subprocess.Popen(
        [gunicorn, "xsender.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"],
        cwd=ROOT, env=os.environ.copy(),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        session = requests.Session()
        session.headers.update({"Api-key": key})
        bulk = []
        for size, count in SIZES.items():
            body = {"contact": _items(size)}
            session.post(url + "/api/email/send", json=body).raise_for_status()  # warm-up
            started = time.perf_counter()
            for _ in range(count):
                session.post(url + "/api/email/send", json=body).raise_for_status()
            elapsed = time.perf_counter() - started
            bulk.append(
                {"recipients": size, "requests": count, "seconds": elapsed, "recipients_per_s": size * count / elapsed}
            )
            print(f"  accept: {size:>4} recipients/request → {size * count / elapsed:,.0f} recipients/s", flush=True)
    finally:
        web.terminate()
        web.wait()
    copy = copy_rate()
    print(f"  raw COPY: {copy['rows_per_s']:,.0f} rows/s", flush=True)
    bulk_1000 = next(b for b in bulk if b["recipients"] == 1000)["recipients_per_s"]
    return {"bulk": bulk, "copy": copy, "bulk_1000_vs_copy": bulk_1000 / copy["rows_per_s"]}


COLUMNS = ["uid", "user_id", "by_admin", "channel", "gateway_id", "recipient", "subject", "body", "sender_name", "sms_type",
           "media", "media_url", "attachments", "status", "priority", "provider_message_id", "gateway_response", "error",
           "attempts", "cost", "source", "idempotency_key", "device_sim", "created_at", "queued_at", "updated_at"]  # fmt: skip


def copy_rate(rows: int = 20000) -> dict:
    """COPY of message rows with the same columns and values as an accept, into a scratch copy of the table."""
    from django.db import connection

    from gateways.models import Gateway

    gateway = Gateway.objects.get(identifier="bench-console")
    now = "2026-11-22 12:00:00+00"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_message_copy")
        cursor.execute("CREATE TABLE bench_message_copy (LIKE messaging_message INCLUDING ALL)")
        buffer = io.StringIO()
        for i in range(rows):
            values = [str(uuid.uuid4()), str(gateway.owner_id), "f", "email", str(gateway.pk), f"r{i}@example.com", "Hello",
                      "Hi from the bench", "", "", "", "", "[]", "Pending", "0", "", "{}", "", "0", "1", "api", "", "", now, now, now]  # fmt: skip
            buffer.write("\t".join(values) + "\n")
        data = buffer.getvalue()
        timings = []
        for _ in range(3):  # best of three
            cursor.execute("TRUNCATE bench_message_copy")
            started = time.perf_counter()
            with cursor.cursor.copy(f"COPY bench_message_copy ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                copy.write(data)
            timings.append(time.perf_counter() - started)
        elapsed = min(timings)
        cursor.execute("DROP TABLE bench_message_copy")
    return {"rows": rows, "seconds": elapsed, "rows_per_s": rows / elapsed}


def query_counts() -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.services import get_user, rotate_api_key

    _, key = rotate_api_key(user=get_user("bench@example.com"))
    client = Client(HTTP_API_KEY=key, SERVER_NAME="localhost")
    counts = {}
    client.post("/api/email/send", {"contact": _items(1)}, content_type="application/json")  # stamps last_used_at
    for size in (1, 1000):
        with CaptureQueriesContext(connection) as ctx:
            response = client.post("/api/email/send", {"contact": _items(size)}, content_type="application/json")
        assert response.status_code == 200, response.content
        counts[str(size)] = len(ctx.captured_queries)
    print(f"  queries per request: {counts}", flush=True)
    return counts
