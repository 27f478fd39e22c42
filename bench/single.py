"""Single-message traffic (`python -m bench single`): many requests of one recipient each, as OTP codes and
receipts arrive, through gunicorn (2 workers × 4 threads) and one `xsender:worker`.

- accept: 32 concurrent clients (wrk) for BENCH_SECONDS (60) against POST /api/email/send, beside a reference
  DRF view on the same gunicorn in the same run that authenticates the same Api-key and inserts one row;
- time to Sent under that load (sent_at − created_at of every message), and the backlog when the load stops;
- idle: one client, one request at a time, time to Sent;
- mixed: single OTP SMS while 100,000 low-priority messages drain (half on the same SMS gateway, half on the
  email gateway), time to Sent of the OTPs;
- SQL statements and Redis round trips per single-recipient request, for 1 and 1,000 recipients.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
SECONDS = int(os.environ.get("BENCH_SECONDS", "60"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "32"))
BULK = int(os.environ.get("BENCH_BULK", "100000"))
ONE_EMAIL = {"contact": [{"email": "otp@example.com", "subject": "Your code", "message": "Code 482915"}]}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def setup(manage: Callable[..., str]) -> str:
    manage("xsender:plan:create", "bench", "--name", "Bench", "--email-credits", "-1", "--sms-credits", "-1",
           "--rate-limit", "1000000")  # fmt: skip
    key = json.loads(manage("xsender:user:create", "bench@example.com", "--plan", "bench", "--json"))["api_key"]
    for channel in ("email", "sms"):
        manage(
            "xsender:gateway:add", channel, "console", f"bench-{channel}", "--owner", "bench@example.com", "--default"
        )
    from django.db import connection

    with connection.cursor() as cursor:  # the reference view's table
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_reference (id bigserial PRIMARY KEY, user_id bigint, "
                       "recipient text, subject text, body text, created_at timestamptz DEFAULT now())")  # fmt: skip
    return key


class Stack:
    """gunicorn (the Procfile's shape, with the bench's reference view added) and one xsender:worker."""

    def __init__(self) -> None:
        self.port = _port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.settings_single"}
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        self.procs = [
            subprocess.Popen([gunicorn, "xsender.wsgi:application", "-c", "gunicorn.conf.py", "--bind",
                              f"127.0.0.1:{self.port}", "--workers", "2", "--threads", "4", "--log-level", "warning"],
                             cwd=ROOT, env=env),
            subprocess.Popen([sys.executable, "manage.py", "xsender:worker"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        ]  # fmt: skip
        for _ in range(200):
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        time.sleep(2)  # the worker is listening

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=30)


def wrk(url: str, key: str, path: str, seconds: int, body: dict[str, Any]) -> dict[str, float]:
    """wrk's closed loop of CLIENTS connections; requests/s, latency percentiles (ms) and non-2xx answers."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed for `python -m bench single`: apt-get install wrk")
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    script.write(
        f'wrk.method = "POST"\nwrk.body = {json.dumps(json.dumps(body))}\n'
        f'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["Api-key"] = "{key}"\n'
        # The latency distribution at every 0.1 %, so that windows can be merged into one distribution.
        "done = function(summary, latency, requests)\n"
        '  for p = 1, 999 do io.write(string.format("P %g %d\\n", p / 10, latency:percentile(p / 10))) end\n'
        "end\n"
    )
    script.close()
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CLIENTS}", f"-d{seconds}s", "--latency", "-s", script.name, url + path],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    os.unlink(script.name)
    result = {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for label, pct in (("50%", "p50_ms"), ("90%", "p90_ms"), ("99%", "p99_ms")):
        value, unit = re.search(rf"{label}\s+([\d.]+)(\w+)", out).groups()
        result[pct] = float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non_2xx"] = int(bad.group(1)) if bad else 0
    result["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    result["distribution"] = [(float(p), int(us) / 1000) for p, us in re.findall(r"^P (\S+) (\d+)$", out, re.M)]
    return result


def _merged_percentile(windows: list[dict[str, Any]], q: float) -> float:
    """The `q` percentile (0–100) of all windows' requests together, from each window's distribution."""
    total = sum(w["requests"] for w in windows)

    def share_below(ms: float) -> float:
        return sum(w["requests"] * max([p for p, v in w["distribution"] if v <= ms] or [0.0]) for w in windows) / total

    candidates = sorted({v for w in windows for _, v in w["distribution"]})
    return next((ms for ms in candidates if share_below(ms) >= q), candidates[-1])


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0}
    values = sorted(values)
    at = lambda q: values[min(len(values) - 1, int(q * len(values)))]  # noqa: E731
    return {"count": len(values), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": values[-1]}


def _times_to_sent(**filters: Any) -> list[float]:
    from messaging.models import Message

    rows = Message.objects.filter(sent_at__isnull=False, **filters).values_list("created_at", "sent_at")
    return [(sent - created).total_seconds() * 1000 for created, sent in rows]


def _backlog() -> int:
    from messaging.models import Message

    return Message.objects.filter(status__in=["Pending", "Processing"]).count()


def _wait_drained(timeout: float = 600) -> float:
    started = time.monotonic()
    while _backlog() and time.monotonic() - started < timeout:
        time.sleep(0.2)
    return time.monotonic() - started


def _truncate() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE messaging_messageevent, messaging_message, bench_reference")


ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))


def _combined(windows: list[dict[str, float]]) -> dict[str, float]:
    """The windows of one path as one run: total requests over total time, percentiles of all its requests."""
    seconds = sum(w["requests"] / w["requests_per_s"] for w in windows)
    total = sum(w["requests"] for w in windows)
    merged = {f"p{q}_ms": _merged_percentile(windows, q) for q in (50, 90, 99)}
    worst = max(w["p99_ms"] for w in windows)
    for window in windows:
        window.pop("distribution")
    return {"requests": total, "requests_per_s": total / seconds, **merged, "worst_window_p99_ms": worst,
            "non_2xx": sum(w["non_2xx"] for w in windows), "windows": windows}  # fmt: skip


def sustained(stack: Stack, key: str) -> dict[str, Any]:
    """The reference and the send in alternating windows (ROUNDS of each, SECONDS in all per path), so that a
    change of the machine's speed during the run (it is shared) weighs on both alike."""
    wrk(stack.url, key, "/api/email/send", 5, ONE_EMAIL)  # warm-up: connections, caches
    wrk(stack.url, key, "/bench/reference", 5, ONE_EMAIL)
    _wait_drained()
    _truncate()
    window = max(5, SECONDS // ROUNDS)
    runs: dict[str, list[dict[str, float]]] = {"/bench/reference": [], "/api/email/send": []}
    for round_ in range(ROUNDS):
        order = list(runs) if round_ % 2 else list(reversed(runs))
        for path in order:
            runs[path].append(wrk(stack.url, key, path, window, ONE_EMAIL))
            if path == "/api/email/send":
                backlog = _backlog()  # what the worker has not sent when the load stops
    reference, accept = _combined(runs["/bench/reference"]), _combined(runs["/api/email/send"])
    print(f"  reference view: {reference['requests_per_s']:,.0f} requests/s", flush=True)
    print(f"  single send:    {accept['requests_per_s']:,.0f} requests/s, backlog at the end {backlog}", flush=True)
    drain_seconds = _wait_drained()
    return {
        "reference": reference,
        "accept": accept,
        "accept_vs_reference": accept["requests_per_s"] / reference["requests_per_s"],
        "backlog_at_end": backlog,
        "backlog_seconds_of_traffic": backlog / accept["requests_per_s"],
        "drained_after_s": drain_seconds,
        "time_to_sent": _percentiles(_times_to_sent()),
    }


def idle(stack: Stack, key: str, count: int = 200) -> dict[str, Any]:
    _truncate()
    session = requests.Session()
    session.headers.update({"Api-key": key})
    answer_ms = []
    for _ in range(count):
        started = time.perf_counter()
        session.post(stack.url + "/api/email/send", json=ONE_EMAIL).raise_for_status()
        answer_ms.append((time.perf_counter() - started) * 1000)
        time.sleep(0.05)
    _wait_drained()
    return {"answer_p50_ms": statistics.median(answer_ms), "time_to_sent": _percentiles(_times_to_sent())}


def mixed(stack: Stack, key: str, otp_per_s: int = 20) -> dict[str, Any]:
    from django.utils import timezone

    from accounts.services import get_user
    from messaging.items import EmailItem, SmsItem
    from messaging.services import accept_messages

    _truncate()
    user, half = get_user("bench@example.com"), BULK // 2
    started = timezone.now()
    for start in range(0, half, 1000):  # bulk: low priority, 1,000 recipients a request (the API's cap)
        sms = [SmsItem(recipient=f"+1555{start + i:07d}", body="Sale!", sms_type="marketing") for i in range(1000)]
        accept_messages(principal=user, channel="sms", items=sms)
        mail = [EmailItem(recipient=f"r{start + i}@example.com", subject="Sale", body="Sale!") for i in range(1000)]
        accept_messages(principal=user, channel="email", items=mail)
    session = requests.Session()
    session.headers.update({"Api-key": key})
    otp = {"contact": [{"number": "+15555550123", "body": "Code 482915", "sms_type": "otp"}]}
    sent_otps = 0
    while _backlog() > 1000 and sent_otps < 2000:
        session.post(stack.url + "/api/sms/send", json=otp).raise_for_status()
        sent_otps += 1
        time.sleep(1 / otp_per_s)
    drain_seconds = _wait_drained()
    from messaging.models import Message

    bulk = Message.objects.filter(sms_type__in=["marketing", ""], created_at__gte=started).exclude(sms_type="otp")
    return {
        "bulk": BULK,
        "otp_sent_while_draining": sent_otps,
        "otp_time_to_sent": _percentiles(_times_to_sent(sms_type="otp")),
        "bulk_drained_after_s": drain_seconds,
        "bulk_messages": bulk.count(),
    }


def counts(key: str) -> dict[str, Any]:
    """SQL statements and Redis round trips of one request, in process (the first request warms caches)."""
    import redis.connection
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    trips = {"n": 0}
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        trips["n"] += 1
        return original(self, *args, **kwargs)

    redis.connection.AbstractConnection.send_packed_command = counting  # the bench's own count, not the product's
    client = Client(HTTP_API_KEY=key, SERVER_NAME="localhost")
    out = {}
    try:
        for size in (1, 1, 1000):  # the first request warms caches and stamps last_used_at
            body = {"contact": [{**ONE_EMAIL["contact"][0], "email": f"r{i}@example.com"} for i in range(size)]}
            trips["n"] = 0
            with CaptureQueriesContext(connection) as ctx:
                assert client.post("/api/email/send", body, content_type="application/json").status_code == 200
            out[str(size)] = {"sql": len(ctx.captured_queries), "redis_round_trips": trips["n"],
                              "statements": [q["sql"][:80] for q in ctx.captured_queries]}  # fmt: skip
    finally:
        redis.connection.AbstractConnection.send_packed_command = original
    return out


def run(manage: Callable[..., str]) -> dict[str, Any]:
    key = setup(manage)
    from xsender.redis import get_redis

    get_redis().flushdb()
    stack = Stack()
    try:
        result = {"sustained": sustained(stack, key)}
        result["idle"] = idle(stack, key)
        print(f"  idle: time to Sent p50 {result['idle']['time_to_sent']['p50_ms']:.1f} ms", flush=True)
        result["mixed"] = mixed(stack, key)
        print(
            f"  mixed: OTP time to Sent p99 {result['mixed']['otp_time_to_sent'].get('p99_ms', 0):.0f} ms", flush=True
        )
    finally:
        stack.stop()
    _truncate()
    result["counts"] = counts(key)
    return result


def report(r: dict[str, Any]) -> list[str]:
    s, i, m, c = r["sustained"], r["idle"], r["mixed"], r["counts"]
    ref, acc, t = s["reference"], s["accept"], s["time_to_sent"]
    return [
        "",
        f"Single-recipient traffic: {CLIENTS} clients, {SECONDS} s per path in {ROUNDS} alternating windows, through gunicorn "
        "(2 workers × 4 threads), 1 worker",
        f"{'':>34} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}",
        f"{'reference DRF view (auth + 1 row)':>34} {ref['requests_per_s']:>8.0f} {ref['p50_ms']:>8.1f} {ref['p99_ms']:>8.1f} {ref['non_2xx']:>8}",
        f"{'POST /api/email/send, 1 recipient':>34} {acc['requests_per_s']:>8.0f} {acc['p50_ms']:>8.1f} {acc['p99_ms']:>8.1f} {acc['non_2xx']:>8}",
        f"accept / reference = {s['accept_vs_reference']:.1%} (target ≥ 50%); accept p99 {acc['p99_ms']:.0f} ms (target < 100; "
        f"worst window {acc['worst_window_p99_ms']:.0f} ms)",
        f"time to Sent under load: p50 {t['p50_ms']:.0f} ms, p99 {t['p99_ms']:.0f} ms (target < 1,000); "
        f"backlog at the end {s['backlog_at_end']} = {s['backlog_seconds_of_traffic']:.2f} s of traffic (target < 1 s)",
        f"idle: time to Sent p50 {i['time_to_sent']['p50_ms']:.1f} ms (target < 20), answer p50 {i['answer_p50_ms']:.1f} ms",
        f"mixed: {m['otp_sent_while_draining']} OTP SMS while {m['bulk']:,} low-priority messages drained: time to Sent "
        f"p50 {m['otp_time_to_sent'].get('p50_ms', 0):.0f} ms, p99 {m['otp_time_to_sent'].get('p99_ms', 0):.0f} ms (target < 1,000)",
        f"per request: 1 recipient {c['1']['sql']} SQL / {c['1']['redis_round_trips']} Redis round trips; "
        f"1,000 recipients {c['1000']['sql']} SQL / {c['1000']['redis_round_trips']} Redis round trips",
    ]
